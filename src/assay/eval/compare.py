"""Did a deployment change the model's accuracy? Two eval runs of the same samples, compared per benchmark.

The runs are read only through :mod:`assay.store` (``run.json`` and ``samples.jsonl``); no request
is sent. Samples are paired by benchmark, subset and sample id (the repeat left out). Per benchmark:

- **Which samples count.** A failed request is never a wrong answer: a generation whose request
  failed (verdict ``error``) is left out, and a sample with no judged generation on one side is left
  out of the pairs (``excluded``, with the failed generations of each run counted). A truncated
  generation (length limit, no final answer) is judged, and scores 0, as in the report.
- **Scores.** ``score_a`` / ``score_b``: the mean over the paired samples of each sample's mean
  score over its judged repeats (AveragePass@1 on the pairs only, so the difference is the paired one).
- **The test.** One judged generation per sample on both sides and scores of 0 or 1: the exact
  McNemar test, a two-sided binomial test on the discordant pairs
  (``p = min(1, 2 · Σ_{k ≤ min(b, c)} C(b + c, k) / 2^(b + c))``, b = right in A only, c = right in B
  only), with Newcombe's hybrid score interval (his method 10: Wilson intervals of both scores and
  their correlation) for the difference. Otherwise (repeats, partial scores): a paired bootstrap over
  samples of the per-sample differences ``d_i = mean_B_i - mean_A_i`` (``BOOTSTRAP_RESAMPLES``,
  seed ``BOOTSTRAP_SEED``): the 95 % interval is the percentile interval of the resampled means, and
  ``p = (1 + #{|mean of resampled (d - d̄)| ≥ |d̄|}) / (1 + resamples)`` (resampled under the null of
  no change, by centring the differences), but never below ``2^(1 - m)``, m the samples that changed:
  the smallest p a paired sign-flip test could give (the bootstrap alone is over-confident when few
  samples changed).
- **Flips.** Samples right in A and wrong in B (``worse``) and the other way (``better``); with
  repeats, samples whose mean score went down or up.
- **Verdict.** ``p < 0.05``: "regression of X pt [95 % CI lo, hi]" (or "improvement …"), else
  "no detectable change at 95 %".
- **Power note.** Paired samples needed to detect a 1 pt change with a two-sided test at 95 %
  and 80 % power, from the noise this comparison observed (Connor, 1987, for McNemar):
  ``n = (z_0.975 · √ψ + z_0.8 · √(ψ - δ²))² / δ²`` with ψ the share of discordant pairs and δ = 0.01;
  with repeats the normal approximation ``n = ((z_0.975 + z_0.8) · s_d / δ)²`` with ``s_d`` the
  standard deviation of the per-sample differences. None when no sample changed (no noise seen).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.store import EvalRun, SampleRecord, read_run_info, read_samples

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
ALPHA = 0.05
Z_975 = 1.959963984540054
"""Two-sided 95 %."""
Z_80 = 0.8416212335729143
"""80 % power."""
DETECT_PT = 1.0
"""The change the power note is about, in points."""


@dataclass(frozen=True)
class _Counts:
    """What was paired and what was left out."""

    benchmark: str
    paired: int
    """Samples judged in both runs (the ones compared)."""
    excluded: int
    """Samples in both runs left out because every generation of one side failed."""
    errors_a: int
    """Generations of run A whose request failed (never counted as wrong)."""
    errors_b: int
    only_a: int
    """Samples run A has and run B lacks (not compared)."""
    only_b: int


@dataclass(frozen=True)
class BenchmarkComparison(_Counts):
    """One benchmark of two runs: the paired difference, its test, the flipped samples and the verdict."""

    score_a: float | None
    """Mean score of run A on the paired samples (0-1); None when nothing is paired."""
    score_b: float | None
    difference_pt: float | None
    """``(score_b - score_a) · 100``: negative is a regression of B against A."""
    ci95_pt: tuple[float, float] | None
    """95 % interval of the difference, in points."""
    test: str
    """``exact McNemar`` or ``paired bootstrap (10000 resamples)``; ``none`` when nothing is paired."""
    p_value: float | None
    worse: list[str]
    """Sample ids of samples right in A and wrong in B (with repeats: whose mean score went down)."""
    better: list[str]
    """The other way."""
    verdict: str
    discordance: float | None
    """McNemar: share of paired samples whose verdict differs; bootstrap: standard deviation of the
    per-sample differences. What the power note is computed from."""
    samples_for_1pt: int | None
    """Paired samples needed to detect a 1 pt change at 95 % / 80 % power (None: no change seen)."""
    power_note: str


@dataclass(frozen=True)
class Comparison:
    """Two eval runs (A, the reference, and B) compared benchmark by benchmark."""

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    benchmarks: list[BenchmarkComparison]
    only_in_a: list[str] = field(default_factory=list)
    """Benchmarks run A has and run B lacks (not compared)."""
    only_in_b: list[str] = field(default_factory=list)

    def benchmark(self, name: str) -> BenchmarkComparison:
        return next(b for b in self.benchmarks if b.benchmark == name)


def compare_runs(run_a: str | Path, run_b: str | Path) -> Comparison:
    """Compare eval run ``run_b`` against ``run_a`` (the reference), per benchmark they share.

    :class:`AssayError` (one line) if either is not an eval run, they share no sample, or a shared
    sample has another reference answer in each (not the same data).
    """
    samples_a, model_a = _read(Path(run_a))
    samples_b, model_b = _read(Path(run_b))
    names_a, names_b = set(samples_a), set(samples_b)
    shared = sorted(names_a & names_b)
    results = [_compare_benchmark(name, samples_a[name], samples_b[name]) for name in shared]
    if not any(set(samples_a[name]) & set(samples_b[name]) for name in shared):
        raise AssayError(f"{run_a} and {run_b} share no sample (benchmarks {sorted(names_a)} and {sorted(names_b)}): "
                         "compare runs of the same benchmarks and samples")
    return Comparison(run_a=str(run_a), run_b=str(run_b), model_a=model_a, model_b=model_b, benchmarks=results,
                      only_in_a=sorted(names_a - names_b), only_in_b=sorted(names_b - names_a))


Generations = dict[tuple[str, str], list[SampleRecord]]
"""``(subset, sample_id)`` -> that sample's generations (its repeats)."""


def _read(path: Path) -> tuple[dict[str, Generations], str]:
    """An eval run's samples grouped by benchmark and sample, and its model."""
    run = read_run_info(path)
    if not isinstance(run, EvalRun):
        raise AssayError(f"{path} is a {run.kind} run, not an eval run")
    records, _skipped = read_samples(path)
    grouped: dict[str, Generations] = defaultdict(lambda: defaultdict(list))
    for record in records.values():
        grouped[record.benchmark][(record.subset, record.sample_id)].append(record)
    return {name: dict(samples) for name, samples in grouped.items()}, run.model


def _compare_benchmark(name: str, a: Generations, b: Generations) -> BenchmarkComparison:
    both = [key for key in a if key in b]
    for key in both:
        if a[key][0].gold != b[key][0].gold:  # another data set under the same ids: pairs would mean nothing
            raise AssayError(f"{name} sample {key[1]} has another reference answer in each run "
                             f"({a[key][0].gold!r}, {b[key][0].gold!r}): compare runs of the same data")
    errors_a = sum(r.verdict == "error" for key in both for r in a[key])
    errors_b = sum(r.verdict == "error" for key in both for r in b[key])
    keys, means_a, means_b = [], [], []
    binary = True
    for key in both:
        judged_a = [r.score for r in a[key] if r.verdict != "error"]
        judged_b = [r.score for r in b[key] if r.verdict != "error"]
        if not judged_a or not judged_b:
            continue
        keys.append(key)
        means_a.append(sum(judged_a) / len(judged_a))
        means_b.append(sum(judged_b) / len(judged_b))
        binary = binary and len(judged_a) == len(judged_b) == 1 and {*judged_a, *judged_b} <= {0.0, 1.0}
    counts = _Counts(benchmark=name, paired=len(keys), excluded=len(both) - len(keys), errors_a=errors_a,
                     errors_b=errors_b, only_a=len(a) - len(both), only_b=len(b) - len(both))
    if not keys:
        return BenchmarkComparison(**asdict(counts), score_a=None, score_b=None, difference_pt=None, ci95_pt=None,
                                   test="none", p_value=None, worse=[], better=[],
                                   verdict="nothing to compare: no sample judged in both runs",
                                   discordance=None, samples_for_1pt=None, power_note="")
    n = len(keys)
    score_a, score_b = sum(means_a) / n, sum(means_b) / n
    worse = sorted((k[1] for k, x, y in zip(keys, means_a, means_b) if y < x), key=_natural)
    better = sorted((k[1] for k, x, y in zip(keys, means_a, means_b) if y > x), key=_natural)
    if binary:
        both_right = sum(x == 1.0 and y == 1.0 for x, y in zip(means_a, means_b))
        p_value = mcnemar_exact(len(worse), len(better))
        low, high = newcombe_paired_ci(both_right, len(worse), len(better), n)
        test = "exact McNemar"
        discordance = (len(worse) + len(better)) / n
        needed = mcnemar_samples_needed(discordance)
        noise = f"{100 * discordance:.1f} % of samples changed verdict"
    else:
        differences = [y - x for x, y in zip(means_a, means_b)]
        low, high, p_value = paired_bootstrap(differences)
        test = f"paired bootstrap ({BOOTSTRAP_RESAMPLES} resamples)"
        mean = sum(differences) / n
        discordance = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1)) if n > 1 else 0.0
        needed = bootstrap_samples_needed(discordance)
        noise = f"per-sample differences with standard deviation {100 * discordance:.1f} pt"
    difference_pt = 100 * (score_b - score_a)
    ci = (100 * low, 100 * high)
    if needed is None:
        power_note = "no sample changed: no noise observed to size a 1 pt test from"
    else:
        power_note = (f"detecting a {DETECT_PT:g} pt change at 95 % with 80 % power needs about {needed:,} paired "
                      f"samples ({noise}; {n} compared)")
    return BenchmarkComparison(**asdict(counts), score_a=score_a, score_b=score_b, difference_pt=difference_pt, ci95_pt=ci,
                               test=test, p_value=p_value, worse=worse, better=better,
                               verdict=verdict(difference_pt, ci, p_value), discordance=discordance,
                               samples_for_1pt=needed, power_note=power_note)


def verdict(difference_pt: float, ci95_pt: tuple[float, float], p_value: float) -> str:
    """"no detectable change at 95 %", or "regression (improvement) of X pt [95 % CI lo, hi]" (sizes, positive)."""
    if p_value >= ALPHA or difference_pt == 0:
        return "no detectable change at 95 %"
    if difference_pt < 0:
        return f"regression of {-difference_pt:.1f} pt [95 % CI {-ci95_pt[1]:.1f}, {-ci95_pt[0]:.1f}]"
    return f"improvement of {difference_pt:.1f} pt [95 % CI {ci95_pt[0]:.1f}, {ci95_pt[1]:.1f}]"


def mcnemar_exact(worse: int, better: int) -> float:
    """Two-sided exact McNemar p-value: binomial(worse + better, 1/2) on the discordant pairs."""
    discordant = worse + better
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(worse, better) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def _wilson(successes: int, total: int) -> tuple[float, float]:
    from assay.eval.metrics import wilson

    return wilson(successes, total)


def newcombe_paired_ci(both_right: int, worse: int, better: int, n: int) -> tuple[float, float]:
    """95 % interval of ``score_b - score_a`` for paired right/wrong answers (Newcombe 1998, method 10).

    ``both_right``: right in both; ``worse``: right in A only; ``better``: right in B only; ``n`` pairs.
    """
    both_wrong = n - both_right - worse - better
    right_a, right_b = both_right + worse, both_right + better
    p_a, p_b = right_a / n, right_b / n
    low_a, high_a = _wilson(right_a, n)
    low_b, high_b = _wilson(right_b, n)
    denominator = right_a * (n - right_a) * right_b * (n - right_b)
    phi = (both_right * both_wrong - worse * better) / math.sqrt(denominator) if denominator else 0.0
    difference = p_b - p_a
    down = math.sqrt(max(0.0, (p_b - low_b) ** 2 - 2 * phi * (p_b - low_b) * (high_a - p_a) + (high_a - p_a) ** 2))
    up = math.sqrt(max(0.0, (high_b - p_b) ** 2 - 2 * phi * (high_b - p_b) * (p_a - low_a) + (p_a - low_a) ** 2))
    return (max(-1.0, difference - down), min(1.0, difference + up))


def paired_bootstrap(differences: list[float], resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Percentile 95 % interval of the mean difference and the two-sided p-value of no change
    (the centred differences resampled), by resampling samples with replacement."""
    import numpy as np

    data = np.asarray(differences, dtype=float)
    mean = float(data.mean())
    centred = data - mean
    rng = np.random.default_rng(seed)
    means, null_means = [], []
    for start in range(0, resamples, 1000):  # bounded memory: 1000 resamples × n at a time
        picks = rng.integers(0, len(data), size=(min(1000, resamples - start), len(data)))
        means.append(data[picks].mean(axis=1))
        null_means.append(centred[picks].mean(axis=1))
    resampled, null = np.concatenate(means), np.concatenate(null_means)
    low, high = np.percentile(resampled, [2.5, 97.5])
    tolerance = 1e-12  # float noise of a mean of equal values is not a difference
    extreme = int(np.count_nonzero(np.abs(null) >= abs(mean) - tolerance)) if abs(mean) > tolerance else resamples
    # Few changed samples: the bootstrap is over-confident (three samples all a little worse give p ≈ 0);
    # never claim less than the smallest p a paired sign-flip test could give with that many changes.
    changed = int(np.count_nonzero(np.abs(data) > tolerance))
    return float(low), float(high), min(1.0, max((1 + extreme) / (1 + resamples), 2.0 ** (1 - changed)))


def mcnemar_samples_needed(discordance: float, detect_pt: float = DETECT_PT) -> int | None:
    """Pairs needed for an exact-McNemar-sized test to see ``detect_pt`` at 95 % / 80 % power (Connor 1987)."""
    if discordance <= 0:
        return None
    delta = detect_pt / 100
    root = Z_975 * math.sqrt(discordance) + Z_80 * math.sqrt(max(0.0, discordance - delta**2))
    return math.ceil(root**2 / delta**2)


def bootstrap_samples_needed(sd: float, detect_pt: float = DETECT_PT) -> int | None:
    """Samples needed for a paired test of mean differences with standard deviation ``sd`` to see ``detect_pt``."""
    if sd <= 0:
        return None
    return math.ceil(((Z_975 + Z_80) * sd / (detect_pt / 100)) ** 2)


def _natural(key: str) -> tuple[Any, ...]:
    """``main/10`` after ``main/9``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in key.split("/"))


# ------------------------------------------------------------------------------------------ showing it
def to_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON values (``assay eval compare --json``)."""
    return asdict(comparison)


def print_comparison(comparison: Comparison, console: Any = None, *, flips_shown: int = 20) -> None:
    """A table of the benchmarks (scores, difference, p), then per benchmark its verdict and test,
    the flipped samples, what was left out and the power note."""
    from rich import box
    from rich.table import Table

    from assay.console import report_console

    console = console or report_console()
    table = Table(box=box.MARKDOWN, title=f"A: {comparison.model_a} ({comparison.run_a})\n"
                                          f"B: {comparison.model_b} ({comparison.run_b})", title_justify="left")
    for header in ("Dataset", "Paired", "Score A", "Score B", "Δ pt (B-A)", "95% CI pt", "p", "Worse", "Better",
                   "Verdict"):
        table.add_column(header, justify="left" if header in ("Dataset", "Verdict") else "right")
    for item in comparison.benchmarks:
        if item.score_a is None or item.score_b is None or item.difference_pt is None or item.ci95_pt is None:
            table.add_row(item.benchmark, "0", "-", "-", "-", "-", "-", "-", "-", item.verdict)
            continue
        table.add_row(item.benchmark, str(item.paired), f"{100 * item.score_a:.1f}", f"{100 * item.score_b:.1f}",
                      f"{item.difference_pt:+.1f}", f"[{item.ci95_pt[0]:+.1f}, {item.ci95_pt[1]:+.1f}]",
                      f"{item.p_value:.3g}", str(len(item.worse)), str(len(item.better)), item.verdict)
    console.print(table)
    for item in comparison.benchmarks:
        lines = []
        if item.p_value is not None:
            lines.append(f"{item.verdict} ({item.test}, p = {item.p_value:.4g})")
        for label, ids in (("right in A, wrong in B", item.worse), ("wrong in A, right in B", item.better)):
            if ids:
                more = f" … and {len(ids) - flips_shown} more (--json lists all)" if len(ids) > flips_shown else ""
                lines.append(f"{label}: {', '.join(ids[:flips_shown])}{more}")
        if item.excluded or item.errors_a or item.errors_b:
            lines.append(f"{item.excluded} sample(s) left out: a failed request is never a wrong answer "
                         f"({item.errors_a} failed generation(s) in A, {item.errors_b} in B)")
        if item.only_a or item.only_b:
            lines.append(f"{item.only_a} sample(s) only in A and {item.only_b} only in B: not compared")
        if item.power_note:
            lines.append(item.power_note)
        for line in lines:
            console.print(f"{item.benchmark}: {line}", markup=False, highlight=False, soft_wrap=True)
    for side, names in (("A", comparison.only_in_a), ("B", comparison.only_in_b)):
        if names:
            console.print(f"only in run {side} (not compared): {', '.join(names)}", markup=False, highlight=False)
