"""Trace replay: requests sent when a recorded trace says, with the prompt and output lengths it says.

Two trace formats, told apart by their first line:

- Mooncake JSONL (``{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}``):
  ``timestamp`` in milliseconds; ``hash_ids`` names the prompt's 512-token blocks in order, and two rows
  with the same id share that block. Each id becomes one fixed block of tokens, so the prompts share
  exactly the prefixes the trace's did and a server's prefix cache sees the same reuse.
- Azure LLM inference trace CSV (``TIMESTAMP,ContextTokens,GeneratedTokens``, timestamps like
  ``2023-11-16 18:15:46.6805900``): no shared blocks; every prompt is its own.

Send times are the trace's timestamps relative to the first row of the window, divided by the speedup,
and the point is an open loop on exactly those times (:class:`assay.perf.load.Schedule`): the report's
send lag behind schedule is the send-time error against the trace.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assay.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from assay.client.openai import ChatOrCompletionRequest
    from assay.perf.config import PerfConfig, PointSpec
    from assay.perf.datasets import RandomPrompts
    from assay.perf.load import Schedule

BLOCK_TOKENS = 512
"""Tokens per ``hash_ids`` block in Mooncake's traces."""
_AZURE_COLUMNS = ("timestamp", "contexttokens", "generatedtokens")
_AZURE_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s*(Z|[+-]\d\d:?\d\d)?")
_BLOCK_CACHE_MAX = 4096


@dataclass(frozen=True)
class TraceRow:
    """One request of a trace: when (``timestamp_ns`` on the trace's own clock) and how long."""

    line: int
    """Line of the file it came from (for error messages)."""
    timestamp_ns: int
    input_length: int
    output_length: int
    hash_ids: tuple[int, ...] = ()


def read_trace(path: str) -> list[TraceRow]:
    """Every row of a Mooncake JSONL or Azure CSV trace, in time order; a bad row raises naming its line."""
    from assay.perf.datasets import read_dataset_text

    text = read_dataset_text(path, encoding="utf-8-sig")  # a CSV saved by Excel starts with a byte-order mark
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        raise DatasetError(f"dataset_path: {path} holds no trace rows")
    rows = _read_jsonl(path, text) if first.startswith("{") else _read_azure_csv(path, text)
    if not rows:
        raise DatasetError(f"dataset_path: {path} holds no trace rows")
    return sorted(rows, key=lambda row: row.timestamp_ns)  # stable: rows at the same time keep their order


def _positive(value: Any, name: str, where: str, *, zero: bool = False) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        raise DatasetError(f"{where}: {name} must be a {'non-negative' if zero else 'positive'} integer, got {value!r}")
    return value


def _read_jsonl(path: str, text: str) -> list[TraceRow]:
    from assay.perf.datasets import jsonl_items

    rows = []
    for number, item in jsonl_items(path, text):
        where = f"{path}:{number}"
        if not isinstance(item, dict):
            raise DatasetError(f"{where}: expected an object with timestamp, input_length, output_length")
        for key in ("timestamp", "input_length", "output_length"):
            if key not in item:
                raise DatasetError(f"{where}: no {key!r} (a Mooncake trace row has timestamp, input_length, "
                                   "output_length and hash_ids)")
        stamp = item["timestamp"]
        if isinstance(stamp, str):
            try:
                stamp = float(stamp)
            except ValueError:
                pass
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp) or stamp < 0:
            raise DatasetError(f"{where}: timestamp must be milliseconds (a number >= 0), got {item['timestamp']!r}")
        input_length = _positive(item["input_length"], "input_length", where)
        output_length = _positive(item["output_length"], "output_length", where, zero=True)
        hash_ids = item.get("hash_ids", [])
        if not isinstance(hash_ids, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in hash_ids):
            raise DatasetError(f"{where}: hash_ids must be a list of integers")
        blocks = math.ceil(input_length / BLOCK_TOKENS)
        if len(hash_ids) > blocks:
            raise DatasetError(f"{where}: hash_ids names {len(hash_ids)} blocks but input_length {input_length} "
                               f"fills only {blocks} of {BLOCK_TOKENS} tokens")
        rows.append(TraceRow(number, round(stamp * 1_000_000), input_length, output_length, tuple(hash_ids)))
    return rows


def _read_azure_csv(path: str, text: str) -> list[TraceRow]:
    lines = text.splitlines()
    header_number = next((n for n, line in enumerate(lines, start=1) if line.strip()), 1)
    reader = csv.reader(io.StringIO("\n".join(lines[header_number - 1:])))
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in _AZURE_COLUMNS if name not in header]
    if missing:
        raise DatasetError(
            f"{path}:{header_number}: not a trace: neither a Mooncake JSONL row (timestamp, input_length, "
            "output_length, hash_ids) nor an Azure CSV header (TIMESTAMP,ContextTokens,GeneratedTokens)"
        )
    at = [header.index(name) for name in _AZURE_COLUMNS]
    rows = []
    for number, fields in enumerate(reader, start=header_number + 1):
        if not fields or not any(f.strip() for f in fields):
            continue
        where = f"{path}:{number}"
        if len(fields) < len(header):
            raise DatasetError(f"{where}: expected {len(header)} comma-separated fields, got {len(fields)}")
        stamp, context, generated = (fields[i].strip() for i in at)
        rows.append(TraceRow(number, _azure_time_ns(stamp, where), _positive(context, "ContextTokens", where),
                             _positive(generated, "GeneratedTokens", where, zero=True)))
    return rows


def _azure_time_ns(text: str, where: str) -> int:
    """``2023-11-16 18:15:46.6805900`` (optionally with a UTC offset) in nanoseconds since 1970, exactly."""
    match = _AZURE_TIME.fullmatch(text)
    if match is None:
        try:  # a plain number: seconds
            seconds = float(text)
        except ValueError:
            raise DatasetError(f"{where}: TIMESTAMP must be a date and time like 2023-11-16 18:15:46.6805900, "
                               f"got {text!r}") from None
        if not math.isfinite(seconds):
            raise DatasetError(f"{where}: TIMESTAMP must be finite, got {text!r}")
        return round(seconds * 1e9)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        whole = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0))
    except (ValueError, OverflowError):
        raise DatasetError(f"{where}: TIMESTAMP {text!r} is not a valid date") from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        whole -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return whole * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def parse_window(text: str) -> tuple[float | None, float | None]:
    """``"START:END"`` in seconds from the trace's first row (either side may be empty) -> (start, end)."""
    start_text, sep, end_text = text.partition(":")
    if not sep:
        raise ConfigError(f"trace_window: START:END in seconds from the trace's start (e.g. 60:120 or :30), got {text!r}")
    bounds: list[float | None] = []
    for part in (start_text, end_text):
        if not part.strip():
            bounds.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(f"trace_window: {part!r} is not a number of seconds (in {text!r})") from None
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"trace_window: seconds must be >= 0, got {part!r}")
        bounds.append(value)
    start, end = bounds
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"trace_window: END must be after START, got {text!r}")
    return start, end


def select_window(rows: list[TraceRow], window: str | None) -> list[TraceRow]:
    """The rows from START (inclusive) to END (exclusive) seconds after the trace's first row."""
    if window is None:
        return rows
    start, end = parse_window(window)
    origin = rows[0].timestamp_ns
    low = None if start is None else origin + round(start * 1e9)
    high = None if end is None else origin + round(end * 1e9)
    kept = [r for r in rows if (low is None or r.timestamp_ns >= low) and (high is None or r.timestamp_ns < high)]
    if not kept:
        span_s = (rows[-1].timestamp_ns - origin) / 1e9
        raise DatasetError(f"trace_window: no trace rows between {window.replace(':', ' and ')} s "
                           f"(the trace spans {span_s:g} s)")
    return kept


def send_offsets_ns(rows: list[TraceRow], speedup: float) -> list[int]:
    """When each row is sent, in nanoseconds after the first: its trace time divided by ``speedup``."""
    first = rows[0].timestamp_ns
    return [round((row.timestamp_ns - first) / speedup) for row in rows]


class TracePrompts:
    """Prompts of a trace row's exact token count, made of the tokenizer's whole-word tokens
    (:class:`assay.perf.datasets.RandomPrompts`), where each ``hash_ids`` block is the same tokens
    wherever it appears and the rest of a prompt is its own."""

    def __init__(self, maker: RandomPrompts, *, seed: int) -> None:
        self.maker = maker
        self.seed = seed
        self._blocks: dict[tuple[int, int], list[str]] = {}

    def block(self, hash_id: int, point: int) -> list[str]:
        """The words of block ``hash_id`` (fresh at every sweep point, so a warm-up shares none)."""
        key = (point, hash_id)
        words = self._blocks.get(key)
        if words is None:
            if len(self._blocks) >= _BLOCK_CACHE_MAX:
                self._blocks.clear()
            rng = random.Random(f"assay-trace-{self.seed}-{point}-block-{hash_id}")
            words = self._blocks[key] = rng.choices(self.maker.words, k=BLOCK_TOKENS)
        return words

    def prompt(self, row: TraceRow, index: int, point: int) -> str:
        """The prompt of ``row`` (the ``index``-th of the trace): its shared blocks, then words of its own."""
        length = row.input_length
        shared = "".join(
            "".join(self.block(h, point)[: min(BLOCK_TOKENS, length - j * BLOCK_TOKENS)])
            for j, h in enumerate(row.hash_ids)
        )
        own = length - min(length, len(row.hash_ids) * BLOCK_TOKENS)
        rng = random.Random(f"assay-trace-{self.seed}-{point}-row-{index}")
        for _ in range(8):
            prompt = shared + "".join(rng.choices(self.maker.words, k=own))
            if self.maker.composes or len(self.maker.tokenizer.encode(prompt)) == length:
                return prompt
            if not own:
                break
        raise DatasetError(
            f"tokenizer {self.maker.tokenizer.name} cannot reach a prompt of exactly {length} tokens for trace line "
            f"{row.line} (re-encoding the words changes their count)"
        )


def trace_request_stream(prompts: TracePrompts, rows: list[TraceRow], *, count: int | None, point: int,
                         min_tokens: int | None) -> Iterator[ChatOrCompletionRequest]:
    """One request per row (cycled to ``count``; None: the rows once): ``max_tokens`` its output length
    (at least 1), ``min_tokens`` the smaller of ``--min-tokens`` and that."""
    from assay.client.openai import ChatOrCompletionRequest

    total = len(rows) if count is None else count
    for made in range(total):
        row = rows[made % len(rows)]
        max_tokens = max(1, row.output_length)
        extra = {} if min_tokens is None else {"min_tokens": min(min_tokens, max_tokens)}
        yield ChatOrCompletionRequest(prompt=prompts.prompt(row, made, point), max_tokens=max_tokens,
                                      prompt_tokens=row.input_length, extra=extra)


class TraceReplay:
    """A loaded trace as one sweep point: its rows in the window, their send times and their prompts."""

    def __init__(self, config: PerfConfig, maker: RandomPrompts) -> None:
        assert config.dataset_path is not None
        self.config = config
        self.rows = select_window(read_trace(config.dataset_path), config.trace_window)
        self.offsets_ns = send_offsets_ns(self.rows, config.trace_speedup)
        self.prompts = TracePrompts(maker, seed=config.seed)

    @property
    def point(self) -> PointSpec:
        """The one sweep point: every row in the window, at the window's mean rate (what the report shows),
        capped by ``--parallel`` when given."""
        from assay.perf.config import PointSpec

        span_s = self.offsets_ns[-1] / 1e9
        rate = (len(self.rows) - 1) / span_s if span_s > 0 else float(len(self.rows))
        cap = self.config.parallel[0] if self.config.parallel else None
        return PointSpec(0, cap, len(self.rows), rate, None)

    def schedule(self, spec: PointSpec, phase: str) -> Schedule:
        """The open loop on the trace's send times."""
        from assay.perf.load import Schedule

        return Schedule(point=spec.index, phase=phase, concurrency=spec.concurrency or 0,
                        offsets_ns=list(self.offsets_ns), most=len(self.rows))

    def requests(self, point: int, count: int | None) -> Iterator[ChatOrCompletionRequest]:
        """The requests of a point (the warm-up's: the first rows, with blocks of its own)."""
        return trace_request_stream(self.prompts, self.rows, count=count, point=point,
                                    min_tokens=self.config.min_tokens)


def check_trace_config(config: PerfConfig) -> None:
    """What a trace replay takes from the other options (``PerfConfig.validate`` calls this first)."""
    config.dataset = "trace"  # EvalScope's name, workload_trace, is the same thing
    if config.rate is not None:
        raise ConfigError("rate: a trace sets its own send times; change their pace with --trace-speedup")
    if config.number is not None:
        raise ConfigError("number: a trace replay sends one request per trace row; choose rows with --trace-window")
    if config.duration is not None:
        raise ConfigError("duration: a trace replay lasts as long as its rows; choose them with --trace-window")
    if config.slo_search is not None:
        raise ConfigError("slo_search: a trace replay has one load, the trace's; search with --rate or --parallel")
    if getattr(config, "prompt", None) is not None:
        raise ConfigError("prompt: a trace replay makes each row's prompt at the row's length; leave out --prompt")
    if config.workers != 1:
        raise ConfigError("workers: a trace replay runs in one client process")
    if config.parallel is not None and (len(config.parallel) != 1 or config.parallel[0] < 1):
        raise ConfigError(f"parallel: a trace replay takes one cap on requests in flight (>= 1), got {config.parallel}")
    if not math.isfinite(config.trace_speedup) or config.trace_speedup <= 0:
        raise ConfigError(f"trace_speedup: must be > 0 (2 replays twice as fast), got {config.trace_speedup}")
    if config.trace_window is not None:
        parse_window(config.trace_window)
    if not config.tokenizer_path and config.engine is None:
        raise ConfigError("tokenizer_path: a trace replay needs a tokenizer to make prompts of the trace's lengths "
                          "(a tokenizer.json, a model folder, a hub id, or a tiktoken name such as o200k_base)")


__all__ = ["BLOCK_TOKENS", "TracePrompts", "TraceReplay", "TraceRow", "check_trace_config", "parse_window",
           "read_trace", "select_window", "send_offsets_ns", "trace_request_stream"]
