"""MMLU-Pro letter extraction on published model answers: assay beside EvalScope and TIGER-Lab's own grader.

Usage:
    .venv/bin/python bench/scoring_mmlu_pro.py OUTPUTS.json [--evalscope-python PATH] [--adjudication FILE]
        [--old-choice FILE] [--disagreements N]

OUTPUTS.json is one of the model-output files TIGER-Lab publishes with MMLU-Pro
(``eval_results/model_outputs_<model>_5shots.zip`` in github.com/TIGER-AI-Lab/MMLU-Pro, unzipped):
a list of rows with ``question_id``, ``options``, ``answer`` (the key), ``pred`` (TIGER-Lab's
extraction, which guesses a random letter when it finds none) and ``model_outputs`` (the text;
``generated_text`` in the files of evaluate_from_local.py).
Nothing of it is stored in this repository.

For every answer the script takes the letter each grader extracts: assay (``extract_choice``),
EvalScope (``evalscope.utils.multi_choices.parse_answers``, run in EvalScope's own venv),
TIGER-Lab's ``pred`` and, with ``--old-choice``, another version of assay's ``choice.py``.
The adjudicated letter of an answer is the one every extractor agrees on (TIGER-Lab's ``pred``
aside: in these files it does not always match the text, e.g. a response ending "The answer is (E)."
with pred I); where they disagree it comes from ``--adjudication`` (outputs file name -> question_id -> letter or "none", decided by reading the answer;
see docs/benchmarks.md for the rules). Prints, per grader, the accuracy it reports, the
accuracy under the adjudication and how many extractions differ from the adjudication.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_EVALSCOPE_WORKER = r"""
import json, sys
from types import SimpleNamespace
from evalscope.utils.multi_choices import parse_answers
for line in sys.stdin:
    row = json.loads(line)
    state = SimpleNamespace(choices=row["options"], output=SimpleNamespace(completion=row["text"]))
    found = parse_answers(state, completion=row["text"])
    print(json.dumps("".join(sorted(found)) or None), flush=True)
"""


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for row in rows:
        options = row["options"]
        if isinstance(options, str):
            options = ast.literal_eval(options)
        out.append({"id": str(row["question_id"]), "options": [str(o) for o in options],
                    "gold": str(row["answer"]), "text": str(row.get("model_outputs") or row.get("generated_text") or ""),
                    "tiger": row.get("pred"), "category": row.get("category")})
    return out


def evalscope_letters(rows: list[dict[str, Any]], python: str) -> list[str | None]:
    stdin = "".join(json.dumps({"options": r["options"], "text": r["text"]}) + "\n" for r in rows)
    done = subprocess.run([python, "-c", _EVALSCOPE_WORKER], input=stdin, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def choice_function(path: str | None) -> Any:
    if path is None:
        from assay.eval.scoring.choice import extract_choice

        return extract_choice
    spec = importlib.util.spec_from_file_location("choice_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.extract_choice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--evalscope-python", default="/work/peers/evalscope/bin/python")
    parser.add_argument("--adjudication", type=Path, default=Path(__file__).with_name("scoring_mmlu_pro_adjudication.json"))
    parser.add_argument("--old-choice", help="another choice.py to compare (e.g. `git show HEAD~1:src/assay/eval/scoring/choice.py`)")
    parser.add_argument("--categories", nargs="*", help="only these categories (e.g. engineering physics)")
    parser.add_argument("--disagreements", type=int, default=0, help="print this many unadjudicated disagreements")
    args = parser.parse_args()

    rows = load_rows(args.outputs)
    if args.categories:
        rows = [r for r in rows if r["category"] in args.categories]
    graders: dict[str, list[str | None]] = {}
    extract = choice_function(None)
    graders["assay"] = [extract(r["text"], LETTERS[: len(r["options"])], r["options"])[0] for r in rows]
    if args.old_choice:
        old = choice_function(args.old_choice)
        graders["assay (before)"] = [old(r["text"], LETTERS[: len(r["options"])])[0] for r in rows]
    if Path(args.evalscope_python).exists():
        graders["EvalScope 1.14"] = evalscope_letters(rows, args.evalscope_python)
    graders["TIGER-Lab pred"] = [r["tiger"] for r in rows]
    # Adjudications are kept per outputs file: question ids repeat across models.
    every = json.loads(args.adjudication.read_text()) if args.adjudication.exists() else {}
    decided = every.get(args.outputs.name, {})

    truth: list[str | None] = []
    open_cases = []
    for i, row in enumerate(rows):
        said = {name: letters[i] for name, letters in graders.items() if name != "TIGER-Lab pred"}
        if row["id"] in decided:
            value = decided[row["id"]]["letter"]
            truth.append(None if value == "none" else value)
        elif len(set(said.values())) == 1:
            truth.append(next(iter(said.values())))
        else:
            truth.append(None)
            open_cases.append((row, said))
    print(f"{len(rows)} answers, {len(rows) - len(open_cases)} adjudicated "
          f"({sum(r['id'] in decided for r in rows)} from --adjudication), {len(open_cases)} open\n")
    adjudicated = [i for i, row in enumerate(rows) if all(row is not case[0] for case in open_cases)]
    true_acc = sum(truth[i] == rows[i]["gold"] for i in adjudicated) / len(adjudicated)
    print(f"adjudicated accuracy (on the {len(adjudicated)} adjudicated answers): {100 * true_acc:.2f}\n")
    print("| grader | accuracy it reports | its accuracy on the adjudicated answers − adjudicated (pt) "
          "| extractions ≠ adjudication | no answer |")
    print("|---|---:|---:|---:|---:|")
    for name, letters in graders.items():
        reported = sum(letter == row["gold"] for letter, row in zip(letters, rows)) / len(rows)
        own = sum(letters[i] == rows[i]["gold"] for i in adjudicated) / len(adjudicated)
        differ = sum(letters[i] != truth[i] for i in adjudicated)
        none = sum(letter is None for letter in letters)
        print(f"| {name} | {100 * reported:.2f} | {100 * (own - true_acc):+.2f} | {differ} | {none} |")
    for row, said in open_cases[: args.disagreements]:
        print(f"\n--- {row['id']} gold {row['gold']} options {len(row['options'])} said {said}\n{row['text'][-700:]}")


if __name__ == "__main__":
    main()
