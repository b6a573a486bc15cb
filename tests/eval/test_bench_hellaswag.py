"""HellaSwag on synthetic rows in the hub's schema: WikiHow markers cleaned, label "0"-"3", validation split."""

from __future__ import annotations

import asyncio
import json

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark

ROWS = [
    {"ind": 24, "activity_label": "Home and Garden",
     "ctx_a": "[header] How to clean a grill [title] Heat the grill. [step] Turn the burners on high.",
     "ctx_b": "then", "ctx": "(unused when ctx_a is there)",
     "endings": ["[substeps] Paint the grill red. [title] Let it dry.", "Eat the charcoal.",
                 "Pour water into the gas tank.", "[substeps] Scrub the grates with a wire brush. [title] Rinse them."],
     "source_id": "wikihow~1234", "split": "val", "split_type": "indomain", "label": "3"},
    {"ind": 92, "activity_label": "Removing ice from car", "ctx_a": "A man scrapes the windshield of a car.",
     "ctx_b": "he", "ctx": "A man scrapes the windshield of a car. he",
     "endings": ["keeps scraping until the glass is clear.", "drives into the lake.", "eats the ice.",
                 "paints the car."],
     "source_id": "activitynet~v_x", "split": "val", "split_type": "zeroshot", "label": "0"},
]


def _write(root, rows=ROWS, name="validation.jsonl"):
    folder = root / "hellaswag"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _samples(root, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["hellaswag"], dataset_hub="local",
                        dataset_dir=str(root), **kwargs)
    return load_samples(config)["hellaswag"]


def _verdict(sample, text, finish_reason="stop"):
    return asyncio.run(get_benchmark("hellaswag").judge(sample, text, finish_reason=finish_reason))


def test_context_and_endings_are_cleaned_as_harnesses_do(tmp_path):
    _write(tmp_path)
    grill, car = _samples(tmp_path)
    assert (grill.id, grill.gold, car.gold) == ("24", "D", "A")
    assert grill.question == "Home and Garden: How to clean a grill. Heat the grill. Turn the burners on high. Then"
    prompt = grill.messages[0]["content"]
    assert "[" not in prompt.replace("'ANSWER: $LETTER'", "")  # no [header]/[title]/[step]/[substeps] left
    assert "A) Paint the grill red.. Let it dry." in prompt  # " [title]" ends a sentence, as lm-eval's cleaning does
    assert "D) Scrub the grates with a wire brush.. Rinse them." in prompt
    assert car.question == "Removing ice from car: A man scrapes the windshield of a car. He"  # ctx_b capitalised


def test_extraction_where_a_naive_reader_goes_wrong(tmp_path):
    _write(tmp_path)
    grill, car = _samples(tmp_path)
    # The endings restated in order before the choice: a first-letter reader takes A.
    restated = ("A) Painting is unrelated.\nB) Charcoal is not food.\nC) Water in a gas tank is dangerous.\n"
                "D) Scrubbing follows heating.\n\nANSWER: D")
    assert (_verdict(grill, restated).verdict, _verdict(grill, restated).extracted) == ("correct", "D")
    # "A" as an article inside the reasoning is not a choice; the final statement is.
    assert _verdict(car, "A man would keep going until he can see.\nThe answer is (A).").verdict == "correct"
    assert _verdict(car, "A man would keep going until he can see.\nThe answer is (B).").verdict == "wrong"
    # The ending quoted without its letter.
    quoted = _verdict(car, "The answer is (keeps scraping until the glass is clear.)")
    assert (quoted.verdict, quoted.extracted) == ("correct", "A")
    # Near misses: a fifth letter, and no stated choice.
    assert _verdict(grill, "ANSWER: E").method == "out-of-range:E"
    assert _verdict(grill, "A man heats the grill").verdict == "wrong"


def test_the_test_splits_hidden_labels_are_refused_in_one_line(tmp_path):
    from assay.errors import AssayError

    _write(tmp_path, [dict(ROWS[0], label="")])
    with pytest.raises(AssayError, match=r"label.*validation split") as info:
        _samples(tmp_path)
    assert "\n" not in str(info.value)


def test_original_file_name_and_hub_ids(tmp_path, monkeypatch):
    from assay.errors import DatasetError

    _write(tmp_path, [dict(ROWS[1], label=0)], name="hellaswag_val.jsonl")  # the authors' file, integer labels
    assert [s.gold for s in _samples(tmp_path)] == ["A"]
    data = get_benchmark("hellaswag").data
    assert (data.hf_id, data.ms_id, data.split) == ("Rowan/hellaswag", "modelscope/hellaswag", "validation")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match="Rowan/hellaswag"):
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["hellaswag"], limit=1))
