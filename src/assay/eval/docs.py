"""The benchmark tables of docs/eval.md and the README's benchmark list, written from the registry.

``python -m assay.eval.docs`` rewrites the text between the markers (``<!-- benchmarks:NAME -->``
and ``<!-- /benchmarks:NAME -->``); ``--check`` only says whether the files are current (exit 1 and
one line per stale part if not). A test runs the check, so a benchmark added without its docs fails.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from assay.eval.benchmarks import Benchmark, all_benchmarks

EVAL_DOC = Path("docs/eval.md")
README = Path("README.md")


def _subsets(benchmark: Benchmark) -> str:
    data = benchmark.data
    if data.subsets_doc:
        return data.subsets_doc
    return ", ".join(f"`{subset}`" for subset in data.subsets)


def _files(benchmark: Benchmark) -> str:
    data = benchmark.data
    return data.files_doc or f"`{benchmark.name}/{data.local_files[0]}`"


def local_data_table(benchmarks: dict[str, Benchmark]) -> str:
    """docs/eval.md's "Local data" table: each benchmark's subsets and the files it reads."""
    rows = ["| benchmark | subsets | files |", "|---|---|---|"]
    rows += [f"| `{b.name}` | {_subsets(b)} | {_files(b)} |" for b in benchmarks.values()]
    return "\n".join(rows)


def benchmark_table(benchmarks: dict[str, Benchmark]) -> str:
    """docs/eval.md's "Benchmarks" table: what each is and how its answers are judged."""
    rows = ["| benchmark | what | judged by |", "|---|---|---|"]
    rows += [f"| `{b.name}` | {b.description} | {b.judged_by or b.scorer.judged_by} |" for b in benchmarks.values()]
    return "\n".join(rows)


def readme_list(benchmarks: dict[str, Benchmark]) -> str:
    """The README's inline list: the published benchmarks by title, then the ones for your own data."""
    published = [b.title for b in benchmarks.values() if b.data.hf_id != "-"]
    own = [f"`{b.name}`" for b in benchmarks.values() if b.data.hf_id == "-"]
    text = ", ".join(published)
    return f"{text}, and your own data with {'/'.join(own)}" if own else text


PARTS: dict[Path, dict[str, Callable[[dict[str, Benchmark]], str]]] = {
    EVAL_DOC: {"local-data": local_data_table, "table": benchmark_table},
    README: {"list": readme_list},
}


def _marked(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- benchmarks:{re.escape(name)} -->)(.*?)(<!-- /benchmarks:{re.escape(name)} -->)", re.S)


def render(text: str, parts: dict[str, Callable[[dict[str, Benchmark]], str]],
           benchmarks: dict[str, Benchmark]) -> tuple[str, list[str]]:
    """(``text`` with every marked part written, the names of parts whose markers are missing)."""
    missing = []
    for name, make in parts.items():
        found = _marked(name).search(text)
        if found is None:
            missing.append(name)
            continue
        body = make(benchmarks)
        block = f"\n{body}\n" if "\n" in body else body  # tables on lines of their own, a list inline
        text = text[: found.end(1)] + block + text[found.start(3):]
    return text, missing


def _rendered(root: Path) -> Iterator[tuple[Path, str, str, list[str]]]:
    """(file, its text, its text with the marked parts written, missing markers) for every file with parts."""
    benchmarks = all_benchmarks()
    for relative, parts in PARTS.items():
        text = (root / relative).read_text(encoding="utf-8")
        new, missing = render(text, parts, benchmarks)
        yield relative, text, new, missing


def stale(root: Path) -> list[str]:
    """One line per file part that differs from the registry (empty: the docs are current)."""
    problems = []
    for relative, text, new, missing in _rendered(root):
        problems += [f"{relative}: no markers <!-- benchmarks:{name} --> … <!-- /benchmarks:{name} -->"
                     for name in missing]
        if new != text:
            problems.append(f"{relative}: the benchmark tables differ from the registry; run python -m assay.eval.docs")
    return problems


def write(root: Path) -> list[Path]:
    """Rewrite the marked parts from the registry; the files that changed."""
    changed = []
    for relative, text, new, missing in _rendered(root):
        if missing:
            raise SystemExit(f"{relative}: no markers for {', '.join(missing)}")
        if new != text:
            (root / relative).write_text(new, encoding="utf-8")
            changed.append(root / relative)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.eval.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    parser.add_argument("--check", action="store_true", help="only say whether the docs are current")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.root)
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
