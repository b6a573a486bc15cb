"""EvalScope's file and hub datasets (issue 16 item 3), read from tiny local copies in each hub's layout:
what each line or row becomes, EvalScope's way, and one clear line for what cannot be read. The hub
clients themselves are reached offline here, so they fail, in one line that says how to use a local copy.
"""

from __future__ import annotations

import json

import pytest

from assay import PerfConfig
from assay.errors import ConfigError, DatasetError
from assay.perf.dataset_hub import HUB_DATASETS
from assay.perf.datasets import load_dataset_requests, load_file_prompts, sharegpt_messages

CHAT = "http://127.0.0.1:1/v1/chat/completions"


def _config(dataset: str, path: object = None, **options: object) -> PerfConfig:
    return PerfConfig(url=CHAT, model="m", dataset=dataset, dataset_path=None if path is None else str(path),
                      **options)


def test_line_by_line_reads_text_messages_and_request_bodies_as_evalscope_does(tmp_path):
    file = tmp_path / "lines.txt"
    file.write_text("What is 2 + 2?\n\n"
                    '[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]\n'
                    '{"messages": [{"role": "user", "content": "Q"}], "max_tokens": 7, "temperature": 0.6, '
                    '"stream": false}\n'
                    "42\n"
                    "{not json at all\n", encoding="utf-8")
    text, messages, body, number, broken = load_file_prompts("line_by_line", str(file))
    assert (text.prompt, text.messages) == ("What is 2 + 2?", None)
    assert messages.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert body.messages == [{"role": "user", "content": "Q"}] and body.max_tokens == 7
    assert body.extra == {"temperature": 0.6}  # the line's own fields win; streaming stays --stream's
    assert number.prompt == "42" and broken.prompt == "{not json at all"
    bad = tmp_path / "bad.txt"
    bad.write_text('{"temperature": 1}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.txt:1: a JSON object line is a request body"):
        load_file_prompts("line_by_line", str(bad))


def test_custom_takes_evalscope_plain_lines_and_assay_jsonl(tmp_path):
    file = tmp_path / "custom.txt"
    file.write_text('  Tell me a story.  \n{"prompt": "p", "max_tokens": 3}\n'
                    '{"messages": [{"role": "user", "content": "m"}]}\n', encoding="utf-8")
    plain, prompt, chat = load_file_prompts("custom", str(file))
    assert plain.prompt == "Tell me a story."  # EvalScope strips each line
    assert (prompt.prompt, prompt.max_tokens) == ("p", 3)
    assert chat.messages == [{"role": "user", "content": "m"}]


def _hc3_rows() -> list[dict[str, object]]:
    """HC3-Chinese's open_qa.jsonl layout: question, human_answers, chatgpt_answers (and an id)."""
    return [{"id": 0, "question": " 什么是熵？ ", "human_answers": ["a"], "chatgpt_answers": ["b"]},
            {"id": 1, "question": "How far is the moon?", "human_answers": ["c"], "chatgpt_answers": ["d"]}]


def test_openqa_reads_the_hub_file_or_a_folder_in_the_hub_layout(tmp_path):
    folder = tmp_path / "HC3-Chinese"
    folder.mkdir()
    (folder / "open_qa.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _hc3_rows()) + "\n",
                                          encoding="utf-8")
    for path in (folder, folder / "open_qa.jsonl"):
        requests = load_dataset_requests(_config("openqa", path))
        assert [r.prompt for r in requests] == ["什么是熵？", "How far is the moon?"]
    (folder / "open_qa.jsonl").rename(folder / "other.jsonl")
    with pytest.raises(DatasetError, match=r"has no open_qa\.jsonl \(the file of AI-ModelScope/HC3-Chinese\)"):
        load_dataset_requests(_config("openqa", folder))


def _sharegpt_line(turns: list[tuple[str, str]], conversation_id: str = "c") -> str:
    """One line of swift/sharegpt's common_*_70k.jsonl."""
    return json.dumps({"conversation_id": conversation_id, "category": "Chat",
                       "conversation": [{"human": h, "assistant": a} for h, a in turns]}, ensure_ascii=False)


def test_share_gpt_sends_each_conversation_up_to_its_last_question(tmp_path):
    folder = tmp_path / "sharegpt"
    folder.mkdir()
    lines = [_sharegpt_line([("Hi", "Hello!"), ("  What is 2+2? ", "4")]),
             _sharegpt_line([("One question", "")]),
             _sharegpt_line([("", "nothing asked")]),  # no human turn: no request
             json.dumps({"conversation_id": "empty", "conversation": []})]
    (folder / "common_en_70k.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "common_zh_70k.jsonl").write_text(_sharegpt_line([("你好", "你好！"), ("熵是什么？", "…")]) + "\n",
                                                encoding="utf-8")
    english = load_dataset_requests(_config("share_gpt_en", folder))
    assert [r.messages for r in english] == [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
         {"role": "user", "content": "What is 2+2?"}],
        [{"role": "user", "content": "One question"}],
    ]
    (chinese,) = load_dataset_requests(_config("share_gpt_zh", folder / "common_zh_70k.jsonl"))
    assert chinese.messages == [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"},
                                {"role": "user", "content": "熵是什么？"}]
    with pytest.raises(DatasetError, match=r"^x:3: 'conversation' must be a list"):
        sharegpt_messages("not a list", "x:3")


def test_longalpaca_reads_its_json_list_file_and_a_hub_folder_through_the_dataset_loader(tmp_path):
    rows = [{"instruction": " Summarise this paper. ", "output": "o", "file": "f"},
            {"instruction": "Below is a long story.", "output": "o2", "file": "g"}]
    folder = tmp_path / "LongAlpaca-12k"
    folder.mkdir()
    (folder / "LongAlpaca-12k.json").write_text(json.dumps(rows), encoding="utf-8")  # the hub repo's one file
    for path in (folder / "LongAlpaca-12k.json", folder):
        requests = load_dataset_requests(_config("longalpaca", path))
        assert [r.prompt for r in requests] == ["Summarise this paper.", "Below is a long story."]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"output": "no instruction"}]), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"longalpaca row 1: expected an object with an 'instruction' string"):
        load_dataset_requests(_config("longalpaca", bad))


def test_hub_datasets_without_a_local_copy_go_to_the_hub_and_say_so_in_one_line(tmp_path):
    """Hugging Face is offline here (conftest): its client is called and its failure is one line."""
    for name in ("share_gpt_en", "openqa"):
        with pytest.raises(DatasetError) as caught:
            load_dataset_requests(_config(name, data_source="huggingface"))
        message = str(caught.value)
        dataset = HUB_DATASETS[name]
        assert message.startswith(f"cannot download {dataset.file} of {dataset.huggingface_id} from Hugging Face")
        assert message.endswith("offline? give --dataset-path a local copy") and "\n" not in message
    with pytest.raises(DatasetError, match=r"cannot load split 'train' of Yukang/LongAlpaca-12k from Hugging Face"):
        load_dataset_requests(_config("longalpaca", data_source="huggingface"))
    with pytest.raises(DatasetError, match=r"cannot load split 'test' of clip-benchmark/wds_flickr8k from Hugging Face"):
        load_dataset_requests(_config("flickr8k", data_source="huggingface"))
    with pytest.raises(DatasetError, match=r"^data_source: 'local' reads --dataset-path"):
        load_dataset_requests(_config("share_gpt_zh", data_source="local"))


def test_modelscope_is_the_default_hub_as_in_evalscope(tmp_path):
    try:
        import modelscope  # noqa: F401
    except ImportError:
        with pytest.raises(DatasetError, match=r"^loading from ModelScope needs `modelscope`"):
            load_dataset_requests(_config("share_gpt_zh"))
    else:
        with pytest.raises(DatasetError, match=r"^cannot download common_zh_70k\.jsonl of swift/sharegpt from ModelScope"):
            load_dataset_requests(_config("share_gpt_zh"))


def test_dataset_options_are_checked_before_anything_is_sent(tmp_path):
    with pytest.raises(ConfigError, match=r"^dataset_path: .*nowhere does not exist"):
        _config("longalpaca", tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"^dataset_path: dataset 'line_by_line' reads prompts from a file"):
        _config("line_by_line")
    with pytest.raises(ConfigError, match=r"^url: --dataset random_vl sends images in chat messages"):
        PerfConfig(url="http://127.0.0.1:1/v1/completions", model="m", dataset="random_vl", tokenizer_path="o200k_base")
    with pytest.raises(ConfigError, match=r"^url: --dataset flickr8k sends images in chat messages"):
        PerfConfig(engine="llama-server", dataset="flickr8k")  # an engine alone serves /v1/completions
    with pytest.raises(ConfigError, match=r"^image_format: a colour mode"):
        _config("random_vl", tokenizer_path="o200k_base", image_format="BGR;16")
    with pytest.raises(ConfigError, match=r"^image_num: images per request must be >= 1"):
        _config("random_vl", tokenizer_path="o200k_base", image_num=0)
    with pytest.raises(ConfigError, match=r"^tokenizer_path: the random dataset needs a tokenizer"):
        _config("random_vl")
    with pytest.raises(ConfigError, match=r"^dataset: speed_benchmark is a fixed ladder"):
        _config("speed_benchmark", rate=[2.0], number=[8])
    with pytest.raises(ConfigError, match=r"^parallel: speed_benchmark_long runs each length at one concurrency"):
        _config("speed_benchmark_long", parallel=[1, 2])
    assert _config("share_gpt_en").dataset_path is None  # the hub's copy, then
