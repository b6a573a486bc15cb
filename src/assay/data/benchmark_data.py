"""Benchmark rows from a local folder or a hub (Hugging Face ``datasets``, ModelScope).

Local folders are first-class: a folder per benchmark with JSONL (optionally gzipped),
JSON or Parquet files, laid out as the benchmark's ``local_files`` patterns say. Dataset
files are parsed as data only: nothing is ever unpickled or executed.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from assay.errors import DatasetError, not_utf8

HUBS = ("huggingface", "modelscope", "local")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL / JSONL.gz / JSON / CSV / Parquet file."""
    name = path.name
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return [dict(row) for row in pq.read_table(path).to_pylist()]
        if name.endswith(".csv"):
            import csv

            data = path.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise not_utf8(path, exc) from None
            return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as binary:  # type: ignore[operator]
            data = binary.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_utf8(path, exc) from None
        with io.StringIO(text, newline=None) as handle:  # universal newlines, as text mode read them
            if name.endswith((".jsonl", ".jsonl.gz")):
                rows = []
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as exc:
                            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                return rows
            data = json.load(handle)
            return list(data if isinstance(data, list) else data.get("data", data.get("rows", [])))
    except DatasetError:
        raise
    except (OSError, ValueError, ImportError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None


def find_local_file(folder: Path, patterns: tuple[str, ...], *, subset: str, split: str, config: str | None) -> Path:
    tried = []
    for pattern in patterns:
        relative = pattern.format(subset=subset, split=split, config=config or subset)
        matches = sorted(folder.glob(relative))
        if not matches:  # case-insensitive second chance for subset names
            lowered = relative.lower()
            matches = sorted(p for p in folder.rglob("*") if str(p.relative_to(folder)).lower() == lowered)
        if matches:
            return matches[0]
        tried.append(relative)
    raise DatasetError(f"no data file for subset {subset!r}, split {split!r} in {folder} (looked for {', '.join(tried)})")


def load_from_hub(
    hub: str, dataset_id: str, *, config: str | None, split: str
) -> list[dict[str, Any]]:
    """Rows through the real hub client; a one-line DatasetError if it cannot be had."""
    load = _hub_client(hub)
    try:
        data = load(dataset_id, config, split)
    except Exception as exc:
        if hub == "huggingface":
            where, hint = f"(config {config}, split {split}) from Hugging Face", "; offline? use dataset_hub='local' with dataset_dir"
        else:
            where, hint = f"(subset {config}, split {split}) from ModelScope", ""
        raise DatasetError(f"cannot load {dataset_id!r} {where}: {type(exc).__name__}: {_first_line(exc)}{hint}") from None
    return [dict(row) for row in data]


def _hub_client(hub: str) -> Callable[[str, str | None, str], Iterable[Mapping[str, Any]]]:
    """The hub's own loader (dataset id, config, split); a one-line DatasetError when its package is missing."""
    if hub == "huggingface":
        try:
            import datasets
        except ImportError:
            raise DatasetError("loading from Hugging Face needs the `datasets` package (pip install datasets)") from None
        return lambda dataset_id, config, split: datasets.load_dataset(dataset_id, name=config, split=split)
    if hub == "modelscope":
        try:
            from modelscope.msdatasets import MsDataset
        except ImportError:
            raise DatasetError("loading from ModelScope needs `modelscope` (pip install 'assay[modelscope]')") from None
        return lambda dataset_id, config, split: MsDataset.load(dataset_id, subset_name=config or "default", split=split)
    raise DatasetError(f"dataset_hub must be one of {', '.join(HUBS)}, got {hub!r}")


def resolve_local_folder(name: str, *, dataset_dir: str | None, local_path: str | None) -> Path | None:
    """The folder (or file) a benchmark reads from locally, or None for the hub."""
    if local_path:
        path = Path(os.path.expanduser(local_path))
        if not path.exists():
            raise DatasetError(f"dataset_args.{name}.local_path: {local_path} does not exist")
        return path
    if dataset_dir:
        root = Path(os.path.expanduser(dataset_dir))
        if not root.is_dir():
            raise DatasetError(f"dataset_dir: {dataset_dir} is not a folder")
        folder = root / name
        if not folder.is_dir():
            raise DatasetError(f"dataset_dir: {dataset_dir} has no folder {name!r} for benchmark {name}")
        return folder
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split())[:300] if text else type(exc).__name__
