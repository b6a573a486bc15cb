"""BFCL: the Berkeley Function Calling Leaderboard's single-turn categories, judged by its AST match.

Each entry's functions go to the server as the request's ``tools`` (BFCL's conversion for
function-calling models: dots in names become underscores, its type names become JSON Schema's); the
answer is the server's ``tool_calls``, else the calls the model wrote in its text (flagged
``text/<format>`` in the verdict's method). Categories: ``simple`` (one function, one call),
``multiple`` (several functions, one call), ``parallel`` (one function, several calls),
``parallel_multiple`` (several of each) and ``irrelevance`` (no function fits: right when nothing is
called). The AST rules are :func:`assay.eval.scoring.tool_calls.check_ast`'s.

Data: the hub's files as BFCL publishes them, ``BFCL_v3_<category>.json`` (one JSON object a line:
``id``, ``question`` (turns of messages), ``function``) and ``possible_answer/BFCL_v3_<category>.json``
(``id``, ``ground_truth``: one ``{function: {param: [allowed values]}}`` per expected call; ``""`` among
the values marks an optional parameter). BFCL v4's names (``BFCL_v4_simple_python.json`` for
``simple``) are read too, and so are the rows of EvalScope's ModelScope copy (``functions``, ``turns``
and ``ground_truth`` as JSON text, the category in ``subset``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.scorers import ToolCallScorer
from assay.eval.scoring.tool_calls import json_field

CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
_V4_NAMES = {"simple": "simple_python"}


def _file_names(category: str) -> list[str]:
    """The names a category's file has had: v3 (``.json``, later ``.jsonl`` on the hub) and v4."""
    v4 = _V4_NAMES.get(category, category)
    return [f"BFCL_v3_{category}.json", f"BFCL_v3_{category}.jsonl", f"BFCL_v4_{v4}.json"]


def _json_lines(path: Path) -> list[Row]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array, as some copies keep it
        return [dict(row) for row in json.loads(stripped)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _join_answers(questions: list[Row], answers: list[Row] | None, category: str, where: str) -> list[Row]:
    """Each question with its ``ground_truth`` (irrelevance has no answer file: nothing is to be called).

    Raises a one-line DatasetError for a missing answer file or answer: never scored against nothing.
    """
    from assay.errors import DatasetError

    if category == "irrelevance":
        return questions
    if answers is None:
        raise DatasetError(f"bfcl: no possible_answer file for {category} in {where}")
    by_id = {str(row["id"]): row.get("ground_truth") for row in answers}
    missing = [str(row["id"]) for row in questions if not by_id.get(str(row["id"]))]
    if missing:
        raise DatasetError(f"bfcl: {len(missing)} {category} question(s) have no possible answer in {where} "
                           f"(first: {missing[0]})")
    return [{**row, "ground_truth": by_id[str(row["id"])]} for row in questions]


def category_of(row: Row) -> str:
    """A row's category: its ``subset``/``test_category`` field (EvalScope's copy), else its id's prefix
    (``parallel_multiple_3``; v4's ``simple_python_0`` is ``simple``)."""
    named = row.get("subset") or row.get("test_category")
    if named:
        return str(named)
    prefix = str(row.get("id", "")).rsplit("_", 1)[0]
    return {v: k for k, v in _V4_NAMES.items()}.get(prefix, prefix)


def _local_rows(folder: Path, category: str) -> list[Row]:
    from assay.errors import DatasetError

    if folder.is_file():  # one file of rows that already hold their ground_truth, every category together
        return [row for row in _json_lines(folder) if category_of(row) == category]
    for name in _file_names(category):
        if (folder / name).exists():
            answer = folder / "possible_answer" / name
            return _join_answers(_json_lines(folder / name), _json_lines(answer) if answer.exists() else None,
                                 category, str(folder))
    raise DatasetError(f"bfcl: no {' or '.join(_file_names(category))} in {folder}")


def _hub_rows(dataset_id: str, category: str) -> list[Row]:
    """The category's question and answer files from the Hugging Face dataset repository."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    from assay.errors import DatasetError

    problem = ""
    for name in _file_names(category):
        try:
            questions = Path(hf_hub_download(dataset_id, name, repo_type="dataset"))
        except Exception as exc:
            if isinstance(exc, EntryNotFoundError) and not isinstance(exc, LocalEntryNotFoundError):
                continue  # the repository has no file of this name: the next name
            problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            break
        answers: Path | None = None
        if category != "irrelevance":
            try:
                answers = Path(hf_hub_download(dataset_id, f"possible_answer/{name}", repo_type="dataset"))
            except Exception as exc:
                raise DatasetError(f"cannot load {dataset_id!r} (possible_answer/{name}) from Hugging Face: "
                                   f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        return _join_answers(_json_lines(questions), _json_lines(answers) if answers is not None else None,
                             category, dataset_id)
    raise DatasetError(f"cannot load {dataset_id!r} ({category}) from Hugging Face: "
                       f"{problem or 'none of ' + ', '.join(_file_names(category))}; offline? use "
                       f"dataset_hub='local' with dataset_dir")


def read_rows(folder: Path | None, hub: str, dataset_id: str, subset: str | None) -> list[Row]:
    """The rows of one category: a local folder in the hub's layout, the Hugging Face files, or EvalScope's copy."""
    category = subset or CATEGORIES[0]
    if folder is not None:
        return _local_rows(folder, category)
    if hub == "modelscope":
        from assay.data.benchmark_data import load_from_hub

        rows = load_from_hub(hub, dataset_id, config=None, split="train")
        return [row for row in rows if category_of(row) == category]
    return _hub_rows(dataset_id, category)


class ToolPrompt:
    """An entry's first turn as the messages, its functions as the request's ``tools``."""

    template = "{question}"

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        from assay.eval.scoring.tool_calls import openai_tools

        turns = json_field(row["question"] if "question" in row else row["turns"])
        messages = [dict(m) for m in (turns[0] if turns and isinstance(turns[0], list) else turns)]
        functions = json_field(row["function"] if "function" in row else row["functions"])
        if isinstance(functions, dict):
            functions = [functions]
        if template and messages:  # the user's template around the last message
            messages[-1]["content"] = template.format(question=messages[-1]["content"])
        ground_truth = json_field(row.get("ground_truth")) or []
        question = next((str(m["content"]) for m in reversed(messages) if m.get("role") == "user"), "")
        return Sample(
            id=str(row.get("id", f"{subset}_{index}")), subset=subset, messages=messages, question=question,
            gold=json.dumps(ground_truth) if subset != "irrelevance" else "no call",
            meta={"category": subset, "functions": functions, "ground_truth": ground_truth,
                  "request": {"tools": openai_tools(functions)}},
        )

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        return sample


def judge_calls(sample: Sample, calls: list[Any], where: str, finish_reason: str | None) -> Verdict:
    """BFCL's verdict: irrelevance right when nothing is called; the others by the AST match."""
    from assay.eval.scoring.tool_calls import check_ast

    shown = json.dumps([call.shown() for call in calls]) if calls else None
    cut_off = finish_reason == "length"
    if sample.meta["category"] == "irrelevance":
        if calls:
            return Verdict("wrong", 0.0, shown, f"{where}/irrelevance:called")
        # Cut off before it said anything: it might have been about to call, so not scored either way.
        return Verdict("truncated", 0.0, None, "none/cut-off") if cut_off else Verdict("correct", 1.0, None, "none")
    if not calls:
        return Verdict("truncated" if cut_off else "wrong", 0.0, None, "none")
    problem = check_ast(sample.meta["functions"], calls, sample.meta["ground_truth"], sample.meta["category"])
    if problem is None:
        return Verdict("correct", 1.0, shown, f"{where}/ast")
    return Verdict("truncated" if cut_off else "wrong", 0.0, shown, f"{where}/ast/{problem}"[:300])


BENCHMARK = Benchmark(
    name="bfcl_v3",
    title="BFCL v3 (single-turn)",
    description="Berkeley Function Calling Leaderboard, single-turn non-live categories: calls judged by its AST match",
    data=DataSource(
        hf_id="gorilla-llm/Berkeley-Function-Calling-Leaderboard", ms_id="AI-ModelScope/bfcl_v3",
        subsets=CATEGORIES, subsets_are_configs=True, read_rows=read_rows,
        files_doc="`bfcl_v3/BFCL_v3_<category>.json` + `bfcl_v3/possible_answer/BFCL_v3_<category>.json` "
                  "(the hub's files; v4 names too)",
    ),
    prompt=ToolPrompt(),
    scorer=ToolCallScorer(judge=judge_calls,
                          judged_by="BFCL's AST match of the calls (`tool_calls`, else read from the text)"),
)
