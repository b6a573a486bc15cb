"""GSM8K on published model answers, whole and cut off: assay's verdicts beside EvalScope's and an adjudication.

Usage:
    .venv/bin/python bench/scoring_math.py OUTPUTS.jsonl [--cut-chars N] [--evalscope-python PATH]
        [--adjudication FILE] [--disagreements N] [--save FILE]

OUTPUTS.jsonl is one of the GSM8K result files of "Re-Reading Improves Reasoning in LLMs"
(github.com/Tebmer/Rereading-LLM-Reasoning, ``results/gsm_*.jsonl``): one row per test question
with ``id``, ``input``, ``target`` (the gold number) and, per prompting method (``vanilla``,
``cot``), the model's ``generation``, the authors' extracted ``answer`` and their ``score``.
The prompts ask for the answer in ``\\boxed{}``. Nothing of it is stored in this repository.

Each answer is judged by assay (``split_reasoning`` and the ``gsm8k`` benchmark's ``judge``, the
path of ``assay eval``), by EvalScope 1.14 (``evalscope.metrics.math.parser.extract_answer`` and
its ``acc`` metric with ``numeric=True``, the GSM8K adapter's pipeline, run in EvalScope's own
venv) and, for whole answers, by the authors' ``score``.

``--cut-chars N`` cuts every answer longer than N characters at N and marks it
``finish_reason="length"`` (as a server does at ``max_tokens``): a reproducible set of cut-off
answers made of real ones (none of the published answers was cut off).

Adjudication (docs/benchmarks.md has the rules): for whole answers, the verdict assay and
EvalScope agree on, else the one in ``--adjudication`` (file name -> answer id -> verdict, why),
decided by reading the answer. For a cut answer: the adjudication file (key ``cut<N>:<id>``)
if it has one; else, if the cut keeps the whole final ``\\boxed{}`` of the full answer, the full
answer's verdict; else the last answer the kept text states and finishes (a complete ``\\boxed{}``,
an "answer is X" sentence ended by ". " or a line break, a ``#### X`` line) is judged by its last
number; with none (cut before an answer, or inside "\\boxed{12", "the answer is:") ``truncated``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.eval.scoring.extract import boxed_spans

_EVALSCOPE_WORKER = r"""
import json, sys
import evalscope.metrics.math.parser as parser
from evalscope.metrics.math.parser import extract_answer

# EvalScope forks a child per call only to put a deadline on it (same result, seconds per call on a
# busy machine): run the calls in this process, which the subprocess timeout bounds instead.
parser.isolation_available = lambda: False
from evalscope.metrics.nlp.metrics import Accuracy

accuracy = Accuracy(numeric=True)  # the GSM8K and MATH-500 adapters' metric: {'acc': {'numeric': True}}
for line in sys.stdin:
    row = json.loads(line)
    extracted = extract_answer(row["text"])
    try:
        correct = bool(accuracy.apply([extracted], [row["gold"]])[0])
    except Exception as error:  # an unparsable prediction scores 0, as in a run
        correct = False
    print(json.dumps({"extracted": extracted, "correct": correct}), flush=True)
"""
_FINISHED_PHRASE = re.compile(r"(?:final\s+answer|the\s+answer)\s*(?:is|:|=)\s*:?[ \t]*([^\n]+?)(?:\.\s|\n)", re.I)
_FINISHED_HASHES = re.compile(r"^[ \t]*####[ \t]*([^\n]*\d[^\n]*)\n", re.M)


@dataclass
class Answer:
    id: str
    question: str
    gold: str
    text: str
    finish_reason: str = "stop"
    publisher: bool | None = None
    full_text: str = ""


def load_answers(path: Path) -> list[Answer]:
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        for method, run in row.items():
            if isinstance(run, dict) and run.get("generation"):
                text = str(run["generation"][0])
                answers.append(Answer(f"{row['id']}/{method}", str(row["input"]), str(row["target"]), text,
                                      publisher=run.get("score") == 1, full_text=text))
    return answers


def last_statement(text: str) -> str | None:
    """The answer a cut response states last and finishes: a complete ``\\boxed{}``, an "answer is X"
    sentence ended by ". " or a line break, or a ``#### X`` line that ends; None when there is none."""
    found = [(end, text[start:end]) for start, _, end in boxed_spans(text)]
    found += [(m.end(), m.group(1)) for m in _FINISHED_PHRASE.finditer(text)]
    found += [(m.end(), m.group(1)) for m in _FINISHED_HASHES.finditer(text)]
    return max(found)[1] if found else None


def cut_verdict(text: str, gold: str) -> str | None:
    """The adjudication rules for a cut answer that lost its final box (None: decide by reading)."""
    stated = last_statement(text)
    if stated is None:
        return "truncated"  # cut before it states an answer, or in the middle of stating it
    numbers = re.findall(r"-?\d[\d,]*(?:\.\d+)?", stated)
    if not numbers:
        return None
    return "correct" if float(numbers[-1].replace(",", "")) == float(gold) else "wrong"


def cut(answers: list[Answer], limit: int) -> list[Answer]:
    return [Answer(a.id, a.question, a.gold, a.text[:limit], "length", None, a.text) if len(a.text) > limit else a
            for a in answers]


async def assay_verdicts(answers: list[Answer]) -> list[dict[str, Any]]:
    """assay's verdict on each answer, the way ``assay eval`` judges a stored response."""
    from assay.eval.benchmarks import get_benchmark
    from assay.eval.benchmarks.base import Sample
    from assay.eval.judge import Judges
    from assay.eval.scoring import MathChecker, split_reasoning

    benchmark = get_benchmark("gsm8k")
    out = []
    with MathChecker(workers=2) as checker:
        judges = Judges(math=checker)
        for answer in answers:
            sample = Sample(answer.id, "main", [], answer.gold, answer.question, {})
            _reasoning, answer_text, unclosed = split_reasoning(answer.text, None)
            verdict = await benchmark.judge(sample, "" if unclosed else answer_text,
                                            finish_reason=answer.finish_reason, judges=judges)
            out.append({"verdict": verdict.verdict, "extracted": verdict.extracted, "method": verdict.method})
    return out


def evalscope_verdicts(answers: list[Answer], python: str) -> list[dict[str, Any]]:
    stdin = "".join(json.dumps({"text": a.text, "gold": a.gold}) + "\n" for a in answers)
    done = subprocess.run([python, "-c", _EVALSCOPE_WORKER], input=stdin, capture_output=True, text=True, check=True,
                          timeout=600 + len(answers))
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(rows) != len(answers):
        raise SystemExit(f"EvalScope worker gave {len(rows)} verdicts for {len(answers)} answers:\n{done.stderr[-2000:]}")
    return [{"verdict": "correct" if r["correct"] else "wrong", "extracted": r["extracted"] or None} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--cut-chars", type=int, help="cut answers longer than this at this many characters")
    parser.add_argument("--evalscope-python", default="/work/peers/evalscope/bin/python")
    parser.add_argument("--adjudication", type=Path, default=Path(__file__).with_name("scoring_math_adjudication.json"))
    parser.add_argument("--disagreements", type=int, default=0, help="print this many open disagreements")
    parser.add_argument("--save", type=Path, help="write every answer's verdicts to this JSON file")
    args = parser.parse_args()

    whole = load_answers(args.outputs)
    every = json.loads(args.adjudication.read_text()) if args.adjudication.exists() else {}
    decided: dict[str, Any] = every.get(args.outputs.name, {})
    evalscope = Path(args.evalscope_python).exists()

    # The whole answers' adjudication comes first: a cut answer that keeps the final box inherits it.
    whole_assay = asyncio.run(assay_verdicts(whole))
    whole_es = evalscope_verdicts(whole, args.evalscope_python) if evalscope else whole_assay
    whole_truth: list[str | None] = []
    for answer, mine, theirs in zip(whole, whole_assay, whole_es):
        if answer.id in decided:
            whole_truth.append(decided[answer.id]["verdict"])
        elif (mine["verdict"] == "correct") == (theirs["verdict"] == "correct"):
            whole_truth.append(mine["verdict"])
        else:
            whole_truth.append(None)

    if args.cut_chars:
        answers = cut(whole, args.cut_chars)
        graders = {"assay": asyncio.run(assay_verdicts(answers))}
        if evalscope:
            graders["EvalScope 1.14"] = evalscope_verdicts(answers, args.evalscope_python)
        truth: list[str | None] = []
        for answer, full in zip(answers, whole_truth):
            key = f"cut{args.cut_chars}:{answer.id}"
            spans = boxed_spans(answer.full_text)
            if answer.finish_reason != "length":
                truth.append(full)
            elif key in decided:
                truth.append(decided[key]["verdict"])
            elif spans and spans[-1][2] <= len(answer.text):
                truth.append(full)
            else:
                truth.append(cut_verdict(answer.text, answer.gold))
    else:
        answers = whole
        graders = {"assay": whole_assay}
        if evalscope:
            graders["EvalScope 1.14"] = whole_es
        graders["publisher (Re2 score)"] = [{"verdict": "correct" if a.publisher else "wrong", "extracted": None}
                                            for a in answers]
        truth = whole_truth

    open_cases = [i for i, t in enumerate(truth) if t is None]
    settled = [i for i, t in enumerate(truth) if t is not None]
    cut_count = sum(a.finish_reason == "length" for a in answers)
    true_acc = sum(truth[i] == "correct" for i in settled) / len(settled)
    print(f"{args.outputs.name}: {len(answers)} answers ({cut_count} cut at {args.cut_chars} characters), "
          f"{len(settled)} adjudicated ({sum(a.id in decided or f'cut{args.cut_chars}:{a.id}' in decided for a in answers)} "
          f"from --adjudication), {len(open_cases)} open; adjudicated accuracy {100 * true_acc:.2f}, "
          f"truncated {sum(truth[i] == 'truncated' for i in settled)}\n")
    print("| grader | accuracy it reports | − adjudicated (pt) | scores ≠ adjudication (wrongly right / wrongly not) "
          "| `truncated` ≠ adjudication | truncated | no answer |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for name, verdicts in graders.items():
        reported = sum(v["verdict"] == "correct" for v in verdicts) / len(answers)
        own = sum(verdicts[i]["verdict"] == "correct" for i in settled) / len(settled)
        up = sum(verdicts[i]["verdict"] == "correct" and truth[i] != "correct" for i in settled)
        down = sum(verdicts[i]["verdict"] != "correct" and truth[i] == "correct" for i in settled)
        truncated = sum(v["verdict"] == "truncated" for v in verdicts)
        # A cut answer with no finished answer called "wrong" (or scored) instead of "truncated", and back.
        label = sum((verdicts[i]["verdict"] == "truncated") != (truth[i] == "truncated") for i in settled)
        none = sum(v["verdict"] != "truncated" and v["extracted"] is None for v in verdicts) if name != "publisher (Re2 score)" else "–"
        print(f"| {name} | {100 * reported:.2f} | {100 * (own - true_acc):+.2f} | {up + down} ({up} / {down}) "
              f"| {label} | {truncated} | {none} |")
    if args.save:
        args.save.write_text(json.dumps([{"id": a.id, "gold": a.gold, "finish_reason": a.finish_reason, "truth": t,
                                          **{n: v[i] for n, v in graders.items()}}
                                         for i, (a, t) in enumerate(zip(answers, truth))], indent=1))
    for i in open_cases[: args.disagreements]:
        said = {name: (v[i]["verdict"], v[i]["extracted"]) for name, v in graders.items()}
        print(f"\n--- {answers[i].id} gold {answers[i].gold} {answers[i].finish_reason} said {said}\n{answers[i].text[-600:]}")


if __name__ == "__main__":
    main()
