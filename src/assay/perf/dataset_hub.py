"""EvalScope's perf datasets that live on a hub: where each one is on ModelScope and on Hugging Face, and
how its rows become requests.

A local copy comes first: ``--dataset-path`` names the file, or a folder laid out as the hub's repository
(the file at the same path, a split's files in the split's folder). Without one, the dataset comes
through the hub's own client, ModelScope unless ``--data-source huggingface`` (EvalScope's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.client.openai import ChatOrCompletionRequest
from assay.errors import DatasetError


@dataclass(frozen=True)
class HubDataset:
    """A dataset's ids on the two hubs, and what of it is read: one file of the repository, or a split."""

    modelscope_id: str
    huggingface_id: str
    file: str | None = None
    """A file of the repository (read as it is); None: the split, through the hub's dataset loader."""
    split: str = "train"


HUB_DATASETS: dict[str, HubDataset] = {
    # ShareGPT conversations in the layout of ModelScope's swift/sharegpt, the repository EvalScope reads.
    "share_gpt_zh": HubDataset("swift/sharegpt", "swift/sharegpt", file="common_zh_70k.jsonl"),
    "share_gpt_en": HubDataset("swift/sharegpt", "swift/sharegpt", file="common_en_70k.jsonl"),
    # HC3-Chinese's open_qa.jsonl: one {"question": ..., "human_answers": [...], ...} a line.
    "openqa": HubDataset("AI-ModelScope/HC3-Chinese", "Hello-SimpleAI/HC3-Chinese", file="open_qa.jsonl"),
    # LongAlpaca-12k: a JSON list of {"instruction": ..., "output": ..., ...}.
    "longalpaca": HubDataset("AI-ModelScope/LongAlpaca-12k", "Yukang/LongAlpaca-12k", split="train"),
    # WebDataset shards test/0.tar, …: per sample <key>.jpg (the image) and <key>.txt (its caption).
    "flickr8k": HubDataset("clip-benchmark/wds_flickr8k", "clip-benchmark/wds_flickr8k", split="test"),
}


def load_requests(name: str, path: str | None, data_source: str | None) -> list[ChatOrCompletionRequest]:
    """The requests of hub dataset ``name``, from ``path`` (a file or a folder in the hub's layout) or the hub."""
    from assay.perf.datasets import jsonl_items, load_file_prompts, read_dataset_text, sharegpt_messages

    dataset = HUB_DATASETS[name]
    hub = _hub(data_source, path)
    if dataset.file is not None:
        file = str(_local_file(dataset, Path(path).expanduser()) if path else download_file(hub, dataset))
        if name == "openqa":
            return load_file_prompts("openqa", file)
        requests = []
        for number, item in jsonl_items(file, read_dataset_text(file)):
            where = f"{file}:{number}"
            if not isinstance(item, dict):
                raise DatasetError(f"{where}: expected a ShareGPT object with a 'conversation' list")
            messages = sharegpt_messages(item.get("conversation") or [], where)
            if messages:
                requests.append(ChatOrCompletionRequest(messages=messages))
        return _some(requests, name, file)
    if name == "longalpaca":
        return _some([_longalpaca_request(row, f"{name} row {index}") for index, row in
                      enumerate(_rows(hub, dataset, path), start=1)], name, path)
    return _some(_flickr8k_requests(hub, dataset, path), name, path)


def _hub(data_source: str | None, path: str | None) -> str:
    if path is not None:
        return "local"
    if data_source == "local":
        raise DatasetError("data_source: 'local' reads --dataset-path; give it (a file or a folder in the hub's layout)")
    return data_source or "modelscope"


def _some(requests: list[ChatOrCompletionRequest], name: str, where: str | None) -> list[ChatOrCompletionRequest]:
    if not requests:
        raise DatasetError(f"{name}: {where or 'the hub copy'} holds no prompts")
    return requests


def _local_file(dataset: HubDataset, path: Path) -> Path:
    """``path`` itself, or the dataset's file in a folder laid out as the hub's repository."""
    if path.is_dir():
        assert dataset.file is not None
        file = path / dataset.file
        if not file.is_file():
            raise DatasetError(f"dataset_path: {path} has no {dataset.file} (the file of {dataset.modelscope_id})")
        return file
    return path


def download_file(hub: str, dataset: HubDataset) -> Path:
    """The dataset's file through the hub's client (cached by it); a one-line DatasetError when it cannot be had."""
    assert dataset.file is not None
    try:
        if hub == "huggingface":
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(dataset.huggingface_id, dataset.file, repo_type="dataset"))
        modelscope = _modelscope()
        return Path(modelscope.dataset_file_download(dataset.modelscope_id, dataset.file))
    except DatasetError:
        raise
    except Exception as exc:
        repo = dataset.huggingface_id if hub == "huggingface" else dataset.modelscope_id
        raise DatasetError(f"cannot download {dataset.file} of {repo} from {_hub_name(hub)}: {_reason(exc)}; "
                           "offline? give --dataset-path a local copy") from None


def load_split(hub: str, dataset: HubDataset, path: str | None, **options: Any) -> Any:
    """The dataset's split as a ``datasets.Dataset``: from a local folder in the hub's layout (``path``), or
    through the hub's loader. ``options`` go to ``datasets.load_dataset`` (a local folder's builder)."""
    try:
        import datasets
    except ImportError:
        raise DatasetError("loading this dataset needs the `datasets` package (pip install datasets)") from None
    try:
        if path is not None:
            return datasets.load_dataset(options.pop("builder", str(Path(path).expanduser())), split=dataset.split,
                                         **options)
        if hub == "huggingface":
            return datasets.load_dataset(dataset.huggingface_id, split=dataset.split)
        loaded = _modelscope().msdatasets.MsDataset.load(dataset.modelscope_id, split=dataset.split)
        return loaded if isinstance(loaded, datasets.Dataset) else loaded.to_hf_dataset()
    except DatasetError:
        raise
    except Exception as exc:
        where = path or (dataset.huggingface_id if hub == "huggingface" else dataset.modelscope_id)
        hint = "" if path else "; offline? give --dataset-path a local copy"
        raise DatasetError(f"cannot load split {dataset.split!r} of {where} from {_hub_name(hub)}: {_reason(exc)}{hint}"
                           ) from None


def _rows(hub: str, dataset: HubDataset, path: str | None) -> list[dict[str, Any]]:
    """LongAlpaca's rows: a JSON list file read as it is (as EvalScope does), else the split."""
    if path is not None and Path(path).expanduser().is_file():
        import json

        from assay.perf.datasets import read_dataset_text

        try:
            rows = json.loads(read_dataset_text(path))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(rows, list):
            raise DatasetError(f"{path}: expected a JSON list of {{'instruction': ...}} objects (LongAlpaca's layout)")
        return rows
    return list(load_split(hub, dataset, path))


def _longalpaca_request(row: Any, where: str) -> ChatOrCompletionRequest:
    if not isinstance(row, dict) or not isinstance(row.get("instruction"), str):
        raise DatasetError(f"{where}: expected an object with an 'instruction' string (LongAlpaca's layout)")
    return ChatOrCompletionRequest(prompt=row["instruction"].strip())


def _flickr8k_requests(hub: str, dataset: HubDataset, path: str | None) -> list[ChatOrCompletionRequest]:
    """Flickr8k's samples, each as one chat message: its caption and its image, the dataset's own bytes as a
    data URL (EvalScope re-encodes it as a JPEG first)."""
    import datasets

    from assay.perf.images import data_url, image_message

    options: dict[str, Any] = {}
    if path is not None:  # the hub's layout: <split>/<n>.tar WebDataset shards (beside nshards.txt)
        folder = Path(path).expanduser()
        shards = sorted(str(p) for p in (folder / dataset.split).glob("*.tar")) if folder.is_dir() else []
        if not shards:
            raise DatasetError(f"dataset_path: {path} has no {dataset.split}/*.tar shards (the layout of "
                               f"{dataset.huggingface_id}: {dataset.split}/0.tar, … of <key>.jpg and <key>.txt)")
        options = {"builder": "webdataset", "data_files": {dataset.split: shards}}
    loaded = load_split(hub, dataset, path, **options)
    if "jpg" not in loaded.column_names or "txt" not in loaded.column_names:
        raise DatasetError(f"flickr8k: expected 'jpg' and 'txt' in every sample, got {', '.join(loaded.column_names)}")
    loaded = loaded.cast_column("jpg", datasets.Image(decode=False))  # the file's bytes, not a decoded image
    requests = []
    for index, row in enumerate(loaded, start=1):
        image = row["jpg"] or {}
        data = image.get("bytes")
        if data is None and image.get("path"):
            data = Path(image["path"]).read_bytes()
        if not data:
            raise DatasetError(f"flickr8k sample {index} ({row.get('__key__', '?')}): no image")
        requests.append(ChatOrCompletionRequest(messages=[image_message(str(row["txt"] or "").strip(),
                                                                        [data_url(data)])]))
    return requests


def _modelscope() -> Any:
    """The ``modelscope`` package (its ``dataset_file_download`` and ``msdatasets``), or a one-line DatasetError."""
    try:
        import modelscope
        import modelscope.msdatasets
    except ImportError:
        raise DatasetError("loading from ModelScope needs `modelscope` (pip install 'assay[modelscope]'), or "
                           "--data-source huggingface, or --dataset-path a local copy") from None
    return modelscope


def _hub_name(hub: str) -> str:
    return {"huggingface": "Hugging Face", "modelscope": "ModelScope"}.get(hub, "the local copy")


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {' '.join(lines[0].split())[:300]}" if lines else type(exc).__name__
