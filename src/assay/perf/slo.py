"""Service-level objectives: ``"ttft_p99<=2s,tpot_p99<=50ms,latency_mean<10s"``.

Each term names a metric (``ttft``, ``tpot``, ``itl``, ``latency``/``e2el``), a statistic
(``pNN`` or ``mean``), ``<=`` or ``<``, and a duration (``s``, ``ms``, ``us``; bare numbers
are seconds). A sweep point *meets* the SLO when every term holds for its statistics.
*Goodput* counts the requests that individually meet every threshold (their own TTFT,
TPOT, mean ITL, latency), per second, as vLLM defines it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assay.errors import ConfigError

_TERM = re.compile(r"^\s*(ttft|tpot|itl|latency|e2el)_(p\d+(?:\.\d+)?|mean|avg)\s*(<=|<)\s*([0-9.]+)\s*(s|ms|us)?\s*$")
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, None: 1.0}
_FIELDS = {"ttft": "ttft_s", "tpot": "tpot_s", "itl": "itl_s", "latency": "latency_s", "e2el": "latency_s"}


@dataclass(frozen=True)
class SloTerm:
    metric: str
    """``ttft``, ``tpot``, ``itl`` or ``latency``."""
    statistic: str
    """``p99``, ``mean``, ..."""
    strict: bool
    limit_s: float

    @property
    def text(self) -> str:
        return f"{self.metric}_{self.statistic}{'<' if self.strict else '<='}{self.limit_s * 1000:g}ms"

    def holds(self, value: float) -> bool:
        return value < self.limit_s if self.strict else value <= self.limit_s


def parse_slo(text: str) -> list[SloTerm]:
    terms = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _TERM.match(part)
        if not match:
            raise ConfigError(
                f"slo: cannot read {part.strip()!r}; write terms like ttft_p99<=2s,tpot_p99<=50ms "
                "(metrics ttft, tpot, itl, latency; statistics pNN or mean; units s, ms, us)"
            )
        metric, statistic, op, value, unit = match.groups()
        metric = "latency" if metric == "e2el" else metric
        statistic = "mean" if statistic == "avg" else statistic
        if statistic.startswith("p") and not 0 < float(statistic[1:]) <= 100:
            raise ConfigError(f"slo: percentile out of range in {part.strip()!r}")
        terms.append(SloTerm(metric, statistic, op == "<", float(value) * _UNITS[unit]))
    if not terms:
        raise ConfigError("slo: no terms given")
    return terms


def point_meets(point: dict[str, Any], terms: list[SloTerm]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether a summarised sweep point meets every term, and each term's value."""
    from assay.perf.metrics import percentile_key

    details = []
    for term in terms:
        stats = point.get(_FIELDS[term.metric], {})
        key = "mean" if term.statistic == "mean" else percentile_key(float(term.statistic[1:]))
        value = stats.get(key)
        ok = value is not None and term.holds(value)
        details.append({"term": term.text, "value_s": value, "ok": ok})
    return all(d["ok"] for d in details) and point.get("succeeded", 0) > 0, details


def needed_percentiles(terms: list[SloTerm]) -> list[float]:
    """Percentiles the point summaries must compute for these terms."""
    return [float(t.statistic[1:]) for t in terms if t.statistic != "mean"]


def request_meets(values: dict[str, float | None], terms: list[SloTerm]) -> bool:
    """One request's own TTFT/TPOT/ITL/latency against every threshold (for goodput)."""
    for term in terms:
        value = values.get(term.metric)
        if value is not None and not term.holds(value):
            return False
    return True
