"""HumanEval on published model answers: assay's verdicts beside EvalScope's and an adjudication.

Usage:
    .venv/bin/python bench/scoring_humaneval.py ANSWERS [--per-task K] [--evalscope-python PATH]
        [--problems HumanEval.jsonl.gz] [--adjudication FILE] [--disagreements N] [--concurrency N]

ANSWERS is one of two kinds of published answer files (nothing of them is stored here):

- a CodeT generation file (github.com/microsoft/CodeT, ``CodeT/data/generated_data/
  HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl``): one row per
  problem, in HumanEval order, with ``prompt`` and 100 ``samples``: CodeGen-16B's completions, bare
  function bodies as a base model continues the prompt (completion style, ``/v1/completions``);
- a folder of jamesmurdza/humaneval-results traces (``gpt-3.5-turbo/<n>.md``): chat answers, one
  fenced block with the whole function per run, and the publisher's verdict (``Result: Pass``).

The first K answers per problem are judged three ways:

- **assay**: the path of ``assay eval`` (``split_reasoning``, the first line's indentation kept,
  the ``humaneval`` benchmark's ``judge``, which runs the program in assay's sandbox);
- **EvalScope 1.14**: ``HumanevalAdapter._postprocess`` and ``humaneval.utils.check_correctness``,
  run in EvalScope's own venv inside bubblewrap (EvalScope ``exec``-s the code in a child process;
  bubblewrap keeps it off the network and the file system);
- **adjudicated**: the function the answer gives, run against the problem's tests, built by the
  written rules below (independent of assay's extraction), run in assay's sandbox as an executor:
  a fenced answer gives the block that defines the entry point; a bare body continues the prompt.
  Top-level statements after the function that are not definitions (demo calls, ``print``, the
  model's own ``assert`` lines, ``if __name__ == "__main__":``) are not part of the answer, and
  a last statement cut off by the length limit (it does not compile) is dropped. Where a reading
  of the answer decides otherwise, ``--adjudication`` (file name -> answer id -> {"passed", "why"}) wins.

Prints, per grader, the pass@1 it reports, its difference from the adjudicated pass@1 and how
many verdicts differ from the adjudication (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_EVALSCOPE_WORKER = r"""
import json, sys
from concurrent.futures import ThreadPoolExecutor
from evalscope.benchmarks.humaneval.humaneval_adapter import HumanevalAdapter
import evalscope.benchmarks.humaneval.utils as utils
from evalscope.benchmarks.humaneval.utils import check_correctness

# check_correctness spawns a fresh interpreter per answer, which imports evalscope before it runs
# the code (tens of seconds on a busy machine); forked children run the same code the same way.
import multiprocessing, types
utils.multiprocessing = types.SimpleNamespace(get_context=lambda _method: multiprocessing.get_context("fork"))

rows = [json.loads(line) for line in sys.stdin]

def one(row):
    completion = HumanevalAdapter._postprocess(row["text"])
    return check_correctness(problem=row["problem"], completion=completion, timeout=4)["passed"]

with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    for passed in pool.map(one, rows):
        print(json.dumps(passed), flush=True)
"""
_RUN_HEADER = re.compile(r"^### (?:✅|❌) Run (\d+)\n(.*?)^```python\n(.*?)^```", re.M | re.S)
_TOP_LEVEL_KEEP = re.compile(r"(def|async def|class|import|from|@)\b|[A-Za-z_][\w, ]*\s*=[^=]")


@dataclass
class Answer:
    id: str
    task_id: str
    text: str
    publisher: bool | None = None


def load_problems(path: Path) -> dict[str, dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["task_id"]: row for row in rows}


def load_answers(path: Path, problems: dict[str, dict[str, Any]], per_task: int) -> list[Answer]:
    answers = []
    if path.is_dir():  # jamesmurdza/humaneval-results: <n>.md per problem, runs in fenced blocks
        for task_id in problems:
            md = path / f"{task_id.split('/')[1]}.md"
            if not md.exists():
                continue
            for number, header, code in _RUN_HEADER.findall(md.read_text(encoding="utf-8"))[:per_task]:
                answers.append(Answer(f"{task_id}#run{number}", task_id, f"```python\n{code}```",
                                      "Result: Pass" in header))
        return answers
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = {}
    for row in rows:  # CodeT: the problems in its own order, prompts without their examples
        entry = re.findall(r"^def (\w+)\(", row["prompt"], re.M)[-1]
        named = [t for t, p in problems.items() if p["entry_point"] == entry]  # add, solve, ... repeat
        task_id = max(named, key=lambda t: _shared_prefix(problems[t]["prompt"], row["prompt"]))
        found[task_id] = [Answer(f"{task_id}#{j}", task_id, text) for j, text in enumerate(row["samples"][:per_task])]
    if len(found) != len(rows):
        raise SystemExit(f"{path}: {len(rows)} rows name {len(found)} HumanEval problems")
    return [answer for task_id in problems if task_id in found for answer in found[task_id]]


def _shared_prefix(a: str, b: str) -> int:
    return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], zip(a, b)))


def _chunks(source: str) -> list[str]:
    """The source split where a non-blank line starts at column 0 (a new top-level statement)."""
    chunks: list[list[str]] = [[]]
    for line in source.split("\n"):
        if line[:1] not in ("", " ", "\t", ")", "]", "}") and chunks[-1] and any(s.strip() for s in chunks[-1]):
            chunks.append([])
        chunks[-1].append(line)
    return ["\n".join(chunk) for chunk in chunks]


def adjudicated_program(problem: dict[str, Any], text: str) -> str:
    """The rules of the adjudication (module docstring), as a program."""
    from assay.eval.benchmarks.humaneval import compiles

    entry = problem["entry_point"]
    defines = re.compile(rf"^def\s+{re.escape(entry)}\s*\(", re.M)
    blocks = re.findall(r"```[\w+-]*[^\n]*\n(.*?)```", text, re.S)
    if blocks:
        code = next((b for b in blocks if defines.search(b)), blocks[0])
        found = defines.search(problem["prompt"])
        head = problem["prompt"][: found.start()] if found else ""
        source = head + "\n" + code if defines.search(code) else problem["prompt"] + code
    else:
        source = problem["prompt"] + text
    chunks = _chunks(source)
    first = next(i for i, c in enumerate(chunks) if defines.search(c))
    kept = chunks[: first + 1] + [c for c in chunks[first + 1:] if _TOP_LEVEL_KEEP.match(c.lstrip("\n"))]
    while len(kept) > first + 1 and not compiles("\n".join(kept)):
        kept.pop()  # cut off by the length limit
    return "\n".join(kept) + f"\n\n{problem['test']}\n\ncheck({entry})\n"


async def assay_verdicts(answers: list[Answer], problems: dict[str, dict[str, Any]], concurrency: int) -> list[bool]:
    """assay's verdict on each answer, the way ``assay eval`` judges a stored response."""
    from assay.eval.benchmarks import get_benchmark
    from assay.eval.benchmarks.base import Sample
    from assay.eval.scoring import split_reasoning
    from assay.eval.scoring.extract import restore_indentation

    benchmark = get_benchmark("humaneval")
    gate = asyncio.Semaphore(concurrency)

    async def one(answer: Answer) -> bool:
        problem = problems[answer.task_id]
        meta = {key: str(problem[key]) for key in ("task_id", "prompt", "test", "entry_point")}
        sample = Sample(answer.task_id, "default", [], str(problem["canonical_solution"]), str(problem["prompt"]), meta)
        _reasoning, answer_text, unclosed = split_reasoning(answer.text, None)
        answer_text = restore_indentation(answer.text, answer_text)
        async with gate:
            verdict = await benchmark.judge(sample, "" if unclosed else answer_text, finish_reason=None)
        return verdict.verdict == "correct"

    return list(await asyncio.gather(*(one(a) for a in answers)))


async def adjudicated_verdicts(answers: list[Answer], problems: dict[str, dict[str, Any]], concurrency: int) -> list[bool]:
    from assay.eval.sandbox import run_python

    gate = asyncio.Semaphore(concurrency)

    async def one(answer: Answer) -> bool:
        async with gate:
            result = await run_python(adjudicated_program(problems[answer.task_id], answer.text), timeout_s=10.0)
        return result.passed

    return list(await asyncio.gather(*(one(a) for a in answers)))


def evalscope_verdicts(answers: list[Answer], problems: dict[str, dict[str, Any]], python: str, workers: int) -> list[bool]:
    stdin = "".join(json.dumps({"text": a.text, "problem": problems[a.task_id]}) + "\n" for a in answers)
    argv = [python, "-c", _EVALSCOPE_WORKER, str(workers)]
    bwrap = shutil.which("bwrap")
    if bwrap:  # EvalScope exec-s the code in a plain child process: keep it off the network and the disk
        argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                "--unshare-net", "--unshare-pid", "--die-with-parent", *argv]
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True)
    verdicts = [json.loads(line) for line in done.stdout.splitlines() if line.strip() in ("true", "false")]
    if len(verdicts) != len(answers):
        raise SystemExit(f"EvalScope worker gave {len(verdicts)} verdicts for {len(answers)} answers:\n{done.stderr[-2000:]}")
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("answers", type=Path)
    parser.add_argument("--per-task", type=int, default=2, help="answers judged per problem (the first K)")
    parser.add_argument("--problems", type=Path, default=Path(__file__).resolve().parents[2] / "shared/datasets/humaneval/HumanEval.jsonl.gz")
    parser.add_argument("--evalscope-python", default="/work/peers/evalscope/bin/python")
    parser.add_argument("--adjudication", type=Path, default=Path(__file__).with_name("scoring_humaneval_adjudication.json"))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--disagreements", type=int, default=0, help="print this many answers where graders differ")
    parser.add_argument("--save", type=Path, help="write every answer's verdicts to this JSON file")
    args = parser.parse_args()

    problems = load_problems(args.problems)
    answers = load_answers(args.answers, problems, args.per_task)
    graders: dict[str, list[bool]] = {"assay": asyncio.run(assay_verdicts(answers, problems, args.concurrency))}
    if Path(args.evalscope_python).exists():
        graders["EvalScope 1.14"] = evalscope_verdicts(answers, problems, args.evalscope_python, args.concurrency)
    if all(a.publisher is not None for a in answers):
        graders["publisher"] = [bool(a.publisher) for a in answers]
    by_rule = asyncio.run(adjudicated_verdicts(answers, problems, args.concurrency))
    every = json.loads(args.adjudication.read_text()) if args.adjudication.exists() else {}
    decided = every.get(args.answers.name, {})
    truth = [decided[a.id]["passed"] if a.id in decided else rule for a, rule in zip(answers, by_rule)]

    true_rate = sum(truth) / len(answers)
    print(f"{len(answers)} answers ({args.per_task} per problem), {len(decided)} decided by --adjudication; "
          f"adjudicated pass@1 {100 * true_rate:.2f}\n")
    print("| grader | pass@1 it reports | − adjudicated (pt) | verdicts ≠ adjudication (wrongly passed / wrongly failed) |")
    print("|---|--:|--:|--:|")
    for name, verdicts in graders.items():
        rate = sum(verdicts) / len(answers)
        up = sum(v and not t for v, t in zip(verdicts, truth))
        down = sum(t and not v for v, t in zip(verdicts, truth))
        print(f"| {name} | {100 * rate:.2f} | {100 * (rate - true_rate):+.2f} | {up + down} ({up} / {down}) |")
    if args.save:
        args.save.write_text(json.dumps([{"id": a.id, "rule": r, "truth": t, **{n: v[i] for n, v in graders.items()}}
                                         for i, (a, r, t) in enumerate(zip(answers, by_rule, truth))], indent=1))
    shown = 0
    for i, answer in enumerate(answers):
        said = {name: verdicts[i] for name, verdicts in graders.items()}
        if shown < args.disagreements and len({*said.values(), truth[i]}) > 1:
            shown += 1
            print(f"\n--- {answer.id} adjudicated {truth[i]} said {said}\n{answer.text[-900:]}")


if __name__ == "__main__":
    main()
