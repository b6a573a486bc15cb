"""MMLU-Redux 2.0: 5,700 MMLU questions (100 per subject, 57 subjects) re-annotated for errors (Gema et al., 2024).

Each row keeps MMLU's ``question``, ``choices`` and ``answer`` (0-3) and adds ``error_type``:
``ok``, or the error the annotators found (``wrong_groundtruth``, ``no_correct_answer``,
``multiple_correct_answers``, ``bad_question_clarity``, ``bad_options_clarity``). The rule: only
rows whose ``error_type`` is ``ok`` count (:func:`kept`), as the paper re-scores models on the
questions found correct and as lm-evaluation-harness's generative task does (it reads a copy of the
set holding only the ``ok`` rows). A flagged row has no trustworthy key, so it is to be left out rather
than repaired (EvalScope instead repairs the key from ``correct_answer`` and accepts any of several
answers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.benchmarks.mmlu import CATEGORY
from assay.eval.prompts import ChoicePrompt
from assay.eval.scorers import ChoiceScorer

ERROR_TYPES = ("ok", "wrong_groundtruth", "no_correct_answer", "multiple_correct_answers", "bad_question_clarity",
               "bad_options_clarity")


def kept(row: Row, args: Mapping[str, Any] | None = None) -> bool:
    """True for the rows the paper scores: those the annotators found correct (``error_type == "ok"``)."""
    return str(row.get("error_type") or "").strip() == "ok"


def question(row: Row) -> str:
    return str(row["question"]).strip()


def options(row: Row) -> tuple[list[str], int]:
    choices = [str(c) for c in row["choices"]]
    answer = str(row["answer"]).strip()
    if not answer.isdigit() or not 0 <= int(answer) < len(choices):
        raise KeyError(f"answer (not an option index: {answer!r})")
    return choices, int(answer)


ZERO_EVAL_TEMPLATE = (
    "\n## Question: \n\n{question}\n\n## Choices:\n\n{options}\n\n\n## Instruction \n\n"
    "Please answer this question by first reasoning and then selecting the correct choice. \n"
    "Present your reasoning and solution in the following json format. \n"
    'Please show your choice in the `answer` field with only the choice letter, e.g.,`"answer": "C"`.\n\n'
    '```json\n{{\n    "reasoning": "___",\n    "answer": "___" \n}}\n```\n'
)
"""ZeroEval's multiple-choice prompt (Lin, 2024), which the DeepSeek-V3 and Qwen reports use for MMLU-Redux."""

# "answer": "C" in a JSON reply (the last one counts); the value is one option: "C", "(C)", "C. 8", "(C) 8".
_JSON_ANSWER = re.compile(r'"answer"[ \t]*:[ \t]*"((?:[^"\\\n]|\\.)*)"')
_ONE_LETTER = re.compile(r"^[ \t]*(?:\(([A-Z])\)(?:[ \t].*)?|([A-Z])(?:[.:)](?:[ \t].*)?)?)[ \t]*$")


def extract_json_choice(text: str, letters: str, options: list[str] | None = None) -> tuple[str | None, str]:
    """(letter, method): the ``"answer"`` field of a JSON reply (ZeroEval's format), else the stated
    choice as :func:`~assay.eval.scoring.choice.extract_choice` reads it. A field that is not one
    option (``"___"``, ``"C and D"``) is no answer."""
    from assay.eval.scoring.choice import extract_choice

    fields = list(_JSON_ANSWER.finditer(text))
    if not fields:
        return extract_choice(text, letters, options)
    last = fields[-1]
    later, how = extract_choice(text[last.end():], letters, options)  # a statement after the JSON comes last
    if later is not None:
        return later, how
    found = _ONE_LETTER.match(last.group(1))
    if found is None:
        return None, "no-answer"
    letter = found.group(1) or found.group(2)
    return (letter, "json-answer") if letter in letters else (None, f"out-of-range:{letter}")


BENCHMARK = Benchmark(
    name="mmlu_redux",
    title="MMLU-Redux",
    description="MMLU-Redux 2.0: 5,700 MMLU questions in 57 subjects, re-annotated for errors (Gema et al.)",
    data=DataSource(
        hf_id="edinburgh-dawg/mmlu-redux-2.0", ms_id="AI-ModelScope/mmlu-redux-2.0", subsets=tuple(sorted(CATEGORY)),
        subsets_are_configs=True, split="test", categories=CATEGORY,
        local_files=("{subset}/{split}-*.parquet", "{subset}/{split}.jsonl", "{subset}.jsonl",
                     "data/{subset}/{split}-*.parquet"),
        keep_row=kept, subsets_doc="57 subjects (rows with `error_type` `ok`)", files_doc="`mmlu_redux/<subject>/test-*.parquet` (the hub's columns)",
    ),
    prompt=ChoicePrompt(
        options=options, question=question,
        official_template=ZERO_EVAL_TEMPLATE, official_option_format="- ({letter}) {option}",
    ),
    scorer=ChoiceScorer(extract=extract_json_choice),
    judged_by="the chosen letter (from a JSON `\"answer\"` field with the official ZeroEval prompt) against the hub's "
              "`answer`, on the rows with `error_type` `ok` only (as the paper scores them); "
              "Cat.0 is the subject's MMLU category",
)
