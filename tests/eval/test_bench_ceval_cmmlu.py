"""C-Eval and CMMLU on synthetic rows in the hubs' schemas, and answers read in Chinese."""

from __future__ import annotations

import asyncio
import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.ceval import extract_chinese_choice


@pytest.mark.parametrize(("text", "letter", "method"), [
    # Every option discussed first: a first-letter reader takes A.
    ("选项A说法错误，选项B也不对，C正确。\n答案：C", "C", "zh-answer"),
    ("答案是 B", "B", "zh-answer"),
    ("综上所述，正确答案为（D）。", "D", "zh-answer"),
    ("所以答案应该是D。", "D", "zh-answer"),
    ("故选B。", "B", "zh-choose"),
    ("因此应选择 A", "A", "zh-choose"),
    ("正确的选项是C", "C", "zh-option-is"),
    ("经过计算，B是正确答案。", "B", "zh-is-the-answer"),
    ("**答案：A**", "A", "zh-answer"),
    ("答案：$\\text{C}$", "C", "zh-answer"),
    ("我不选B，答案：D", "D", "zh-answer"),  # the last statement wins; "不选B" is no statement
    ("The answer is (C).", "C", "answer-is"),  # English still read
    ("答案：A\n重新检查后发现计算有误。\n答案：C", "C", "zh-answer"),  # corrected: the last one
    ("答案：A\n\nOn reflection, the answer is (C).", "C", "answer-is"),  # English after Chinese: the last one
    ("The answer is (A).\n经检查，答案：C", "C", "zh-answer"),
    ("答案：Ｂ", "B", "zh-answer"),  # a full-width letter
    ("答案是 B\n\nB. 有人不会死", "B", "last-line"),  # the option restated after the answer
])
def test_a_choice_stated_in_chinese_is_read(text, letter, method):
    assert extract_chinese_choice(text, "ABCD") == (letter, method)


@pytest.mark.parametrize(("text", "expected"), [
    ("选项B是错误的，选项C也有问题。", (None, "no-answer")),  # options named in passing
    ("答案不是B，还需要再想想。", (None, "no-answer")),  # negated
    ("我不选B。", (None, "no-answer")),
    ("请以“答案：[LETTER]”的格式回答。", (None, "no-answer")),  # the instruction echoed
    ("答案：E", (None, "out-of-range:E")),  # no such option
    ("答案：Bob说的对", (None, "no-answer")),  # a letter inside a word
])
def test_near_misses_are_no_answer(text, expected):
    assert extract_chinese_choice(text, "ABCD") == expected


def _samples(name, root, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_hub="local",
                        dataset_dir=str(root), **kwargs)
    return load_samples(config)[name]


def _verdict(name, sample, text, finish_reason="stop"):
    return asyncio.run(get_benchmark(name).judge(sample, text, finish_reason=finish_reason))


CEVAL_ROWS = [
    {"id": 0, "question": "TCP协议工作在OSI模型的哪一层？", "A": "物理层", "B": "网络层", "C": "会话层", "D": "传输层",
     "answer": "D", "explanation": ""},
    {"id": 1, "question": "IP地址由多少位二进制数组成（IPv4）？", "A": "16", "B": "32", "C": "64", "D": "128",
     "answer": "B", "explanation": ""},
]


def _write_ceval(root):
    # The authors' zip layout for one subject (val/<subject>_val.csv), the hub's parquet for another.
    (root / "ceval" / "val").mkdir(parents=True)
    with open(root / "ceval" / "val" / "computer_network_val.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CEVAL_ROWS[0]))
        writer.writeheader()
        writer.writerows(CEVAL_ROWS)
    (root / "ceval" / "logic").mkdir()
    row = {"id": 7, "question": "“所有人都会死”的矛盾命题是？", "A": "所有人都不会死", "B": "有人不会死", "C": "有人会死",
           "D": "没有人会死", "answer": "B", "explanation": "解析略"}
    pq.write_table(pa.Table.from_pylist([row]), root / "ceval" / "logic" / "val-00000-of-00001.parquet")


def test_ceval_loads_the_val_split_of_each_subject(tmp_path):
    _write_ceval(tmp_path)
    samples = _samples("ceval", tmp_path, dataset_args={"ceval": {"subset_list": ["computer_network", "logic"]}})
    assert [(s.id, s.gold) for s in samples] == [("computer_network/0", "D"), ("computer_network/1", "B"),
                                                ("logic/7", "B")]
    data = get_benchmark("ceval").data
    assert (data.hf_id, data.ms_id, data.split, data.few_shot_split) == ("ceval/ceval-exam", "modelscope/ceval-exam",
                                                                         "val", "dev")
    assert len(data.subsets) == 52 and set(data.categories.values()) == {"STEM", "Social Science", "Humanities", "Other"}
    assert data.category_of("computer_network") == "STEM" and data.category_of("logic") == "Humanities"
    prompt = samples[0].messages[0]["content"]
    assert prompt.startswith("以下是中国关于计算机网络考试的单项选择题") and "“答案：[LETTER]”" in prompt
    assert "D. 传输层" in prompt


def test_ceval_official_prompt_and_scoring(tmp_path):
    _write_ceval(tmp_path)
    [sample] = _samples("ceval", tmp_path, prompt_style="official",
                        dataset_args={"ceval": {"subset_list": ["logic"]}})
    assert sample.messages[0]["content"] == (
        "以下是中国关于逻辑学考试的单项选择题，请选出其中的正确答案。\n\n"
        "“所有人都会死”的矛盾命题是？\nA. 所有人都不会死\nB. 有人不会死\nC. 有人会死\nD. 没有人会死\n答案：")
    assert _verdict("ceval", sample, "B").verdict == "correct"  # the answer-only prompt: just the letter
    assert _verdict("ceval", sample, "A项说“所有人都不会死”，这是反对关系。答案：B").verdict == "correct"
    assert _verdict("ceval", sample, "答案：A").verdict == "wrong"
    assert _verdict("ceval", sample, "首先分析A选项", "length").verdict == "truncated"


def _write_cmmlu(root):
    header = ["", "Question", "A", "B", "C", "D", "Answer"]
    for split, rows in {
        "test": [["0", "在农业生产中被当作极其重要的劳动对象发挥作用，最主要的不可替代的基本生产资料是", "农业生产工具", "土地",
                  "劳动力", "资金", "B"],
                 ["1", "下列属于短日照作物的是", "小麦", "油菜", "大豆", "菠菜", "C"]],
        "dev": [["0", "种子萌发需要的外界条件不包括", "适宜的温度", "充足的空气", "一定的水分", "肥沃的土壤", "D"]],
    }.items():
        (root / "cmmlu" / split).mkdir(parents=True)
        with open(root / "cmmlu" / split / "agronomy.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def test_cmmlu_loads_the_authors_csv_and_its_official_few_shot_prompt(tmp_path):
    _write_cmmlu(tmp_path)
    args = {"cmmlu": {"subset_list": ["agronomy"]}}
    samples = _samples("cmmlu", tmp_path, dataset_args=args)
    assert [s.gold for s in samples] == ["B", "C"]
    data = get_benchmark("cmmlu").data
    assert (data.hf_id, data.split, data.few_shot_split) == ("haonan-li/cmmlu", "test", "dev")
    assert len(data.subsets) == 67 and data.category_of("agronomy") == "Other"
    assert data.category_of("ancient_chinese") == "China specific"
    assert samples[0].messages[0]["content"].startswith("以下是关于农学的单项选择题。")
    [official] = _samples("cmmlu", tmp_path, prompt_style="official", limit=1,
                          dataset_args={"cmmlu": {"subset_list": ["agronomy"], "few_shot_num": 1}})
    assert official.messages[0]["content"] == (
        "以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n"
        "题目：种子萌发需要的外界条件不包括\nA. 适宜的温度\nB. 充足的空气\nC. 一定的水分\nD. 肥沃的土壤\n答案是：D\n\n"
        "题目：在农业生产中被当作极其重要的劳动对象发挥作用，最主要的不可替代的基本生产资料是\nA. 农业生产工具\nB. 土地\n"
        "C. 劳动力\nD. 资金\n答案是：")
    # The example's answer (D) echoed before the model's own: the last statement counts.
    assert _verdict("cmmlu", official, "示例的答案是 D。本题中土地不可替代，答案是 B").verdict == "correct"
    assert _verdict("cmmlu", official, "选项B是土地，但我认为答案是A").verdict == "wrong"
    assert _verdict("cmmlu", official, "土地 (选项B) 与资金 (选项D) 都重要。").verdict == "wrong"  # no stated choice


def test_cmmlu_reexported_layout_and_hub_error(tmp_path, monkeypatch):
    from assay.errors import DatasetError

    folder = tmp_path / "cmmlu" / "agronomy"
    folder.mkdir(parents=True)
    row = {"question": "最主要的基本生产资料是", "choices": ["(A) 农业生产工具", "(B) 土地", "(C) 劳动力", "(D) 资金"],
           "answer": "(B) 土地", "category": "agronomy"}
    (folder / "test.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    [sample] = _samples("cmmlu", tmp_path, dataset_args={"cmmlu": {"subset_list": ["agronomy"]}})
    assert sample.gold == "B" and "B. 土地" in sample.messages[0]["content"] and "(B)" not in sample.messages[0]["content"]
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name, hub_id in (("cmmlu", "haonan-li/cmmlu"), ("ceval", "ceval/ceval-exam")):
        with pytest.raises(DatasetError, match=hub_id):
            load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], limit=1,
                                    dataset_args={name: {"subset_list": ["agronomy" if name == "cmmlu" else "logic"]}}))


def test_ceval_end_to_end_against_a_server_answering_in_chinese(tmp_path):
    """Chinese prompts out, Chinese answers back, over real HTTP: the report's score and categories."""
    from aiohttp import web

    from assay.eval import run_eval
    from tests.scripted_server import ScriptedServer

    _write_ceval(tmp_path)
    prompts = []

    def behaviour(prompt, attempt):
        prompts.append(prompt)
        if "TCP" in prompt:
            text = "选项A是物理层，错误；选项B是网络层，也不对。\n答案：D"  # a first-letter reader takes A
        elif "IPv4" in prompt:
            text = "IPv4 地址共 32 位，故选B。"
        else:
            text = "首先分析A选项：“所有人都不会死”与原命题是反对关系"  # no stated choice
        return web.json_response({"choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model="m", api_url=server.url, datasets=["ceval"], dataset_hub="local", dataset_dir=str(tmp_path),
            work_dir=str(tmp_path / "out"), quiet=True,
            dataset_args={"ceval": {"subset_list": ["computer_network", "logic"]}},
        ))
    assert len(prompts) == 3 and all(p.startswith("以下是中国关于") for p in prompts)
    report = result.reports["ceval"]
    assert report["subsets"]["computer_network"]["AveragePass@1"] == 1.0
    assert (report["subsets"]["logic"]["AveragePass@1"], report["subsets"]["logic"]["no_answer"]) == (0.0, 1)
    assert report["overall"]["AveragePass@1"] == pytest.approx(2 / 3)


def test_few_shot_examples_come_from_the_samples_own_subject(tmp_path):
    # Subjects that are hub configs each have their own dev split: anatomy must not get agronomy's example.
    _write_cmmlu(tmp_path)
    header = ["", "Question", "A", "B", "C", "D", "Answer"]
    for split, question in {"test": "人体最大的器官是", "dev": "成人骨骼一般有多少块"}.items():
        with open(tmp_path / "cmmlu" / split / "anatomy.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerow(["0", question, "皮肤", "肝", "206", "肺", "A" if split == "test" else "C"])
    samples = _samples("cmmlu", tmp_path, prompt_style="official",
                       dataset_args={"cmmlu": {"subset_list": ["agronomy", "anatomy"], "few_shot_num": 1}})
    by_subject = {s.subset: s.messages[0]["content"] for s in samples}
    assert "种子萌发" in by_subject["agronomy"] and "成人骨骼" not in by_subject["agronomy"]
    assert "成人骨骼" in by_subject["anatomy"] and "种子萌发" not in by_subject["anatomy"]
