"""The printed score table: every metric a benchmark defines gets its rows; answers that state nothing are counted."""

from __future__ import annotations

import io

from rich.console import Console

from assay.eval.metrics import benchmark_report
from assay.eval.records import SampleRecord
from assay.eval.report import HEADERS, markdown_table, print_table, table_rows

IFEVAL_METRICS = ["prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose"]


def _ifeval_records() -> list[SampleRecord]:
    rows = []
    for i, (strict, loose, followed) in enumerate([(1.0, 1.0, 2), (0.0, 1.0, 1), (0.0, 0.0, 0)]):
        scores = {"prompt_level_strict": strict, "inst_level_strict": followed / 2, "inst_level_strict__weight": 2.0,
                  "prompt_level_loose": loose, "inst_level_loose": max(followed, loose * 2) / 2,
                  "inst_level_loose__weight": 2.0}
        rows.append(SampleRecord(key=f"ifeval/default/{i}/0", benchmark="ifeval", subset="default", sample_id=str(i),
                                 repeat=0, messages=[], gold="", verdict="correct" if strict else "wrong",
                                 score=strict, scores=scores, extracted="summary"))
    return rows


def test_ifeval_prints_its_four_accuracies_as_rows():
    report = benchmark_report(_ifeval_records(), subsets=["default"], repeats=1,
                              extra_metrics=IFEVAL_METRICS)
    assert report["metrics"] == ["AveragePass@1", *IFEVAL_METRICS]
    rows = table_rows("m", {"ifeval": report})
    overall = {row[2]: row[5] for row in rows if row[3] == "OVERALL"}
    assert overall == {"AveragePass@1": "0.3333", "prompt_level_strict": "0.3333", "inst_level_strict": "0.5",
                       "prompt_level_loose": "0.6667", "inst_level_loose": "0.6667"}
    console = Console(file=io.StringIO(), width=240)
    print_table("m", {"ifeval": report}, console)
    printed = console.file.getvalue()
    assert all(name in printed for name in IFEVAL_METRICS)
    assert "inst_level_loose" in markdown_table("m", {"ifeval": report})


def test_no_answer_is_counted_and_shown():
    def rec(i: int, verdict: str, extracted: str | None) -> SampleRecord:
        return SampleRecord(key=f"b/s/{i}/0", benchmark="b", subset="s", sample_id=str(i), repeat=0, messages=[],
                            gold="B", verdict=verdict, score=float(verdict == "correct"), extracted=extracted)

    records = [rec(0, "correct", "B"), rec(1, "wrong", "C"), rec(2, "wrong", None), rec(3, "truncated", None)]
    report = benchmark_report(records, subsets=["s"], repeats=1)
    assert report["overall"]["no_answer"] == 1 and report["overall"]["truncated"] == 1
    row = next(r for r in table_rows("m", {"b": report}) if r[3] == "OVERALL")
    assert row[HEADERS.index("No answer")] == "1" and row[HEADERS.index("Truncated")] == "1"
    console = Console(file=io.StringIO(), width=240)
    print_table("m", {"b": report}, console)
    assert "1 generation(s) stated no valid final answer" in console.file.getvalue()
