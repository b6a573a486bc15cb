"""Client capacity of ``assay perf --ray`` (1, 2, 4 actors) and ``--workers`` (1, 2, 4) against ``assay sim``,
and the driver's record intake.

Usage (root: the cluster runs in a private network namespace, as the tests' does):
    .venv/bin/python bench/ray_capacity.py [--actors 1 2 4] [--workers 1 2 4] [--concurrency 16 32 64 128]
        [--tpot-ms 5] [--output-tokens 200] [--intake-records 20000]

- **Capacity** of a mode: the highest chunk rate (chunks the client received per second of the point, all
  actors or workers together) of a sweep point whose client did not mark itself client-bound (event-loop
  lag p99 > 5 ms or a process over 90 % of a core: ``client.client_bound`` in summary.json, the busiest
  actor's); the sweep stops counting at the first client-bound point. One simulator (``--tpot-ms`` per
  token, one token per chunk) serves every mode in turn; each point sends 2 × C requests.
- **Driver intake**: records (``--output-tokens`` chunk times each) encoded in batches as actors send them,
  then decoded and written to ``requests.jsonl`` by the driver's own code path (msgspec decoder, JsonlWriter):
  records/s the driver can take, the ceiling of any number of actors.

The cluster is ``tests/scale/cluster.py``'s (two raylets, 1 CPU each); on one 2-core machine every actor,
worker and the simulator share the same two cores, so the figures show where this machine stops, and the
per-actor figure is what extrapolates to a cluster (actors on machines of their own).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scale.cluster import RayCluster

from assay.engines.sim import SimSettings
from assay.store import JsonlWriter, RequestRecord, read_records


def capacity(cluster: RayCluster, sim: object, mode: list[str], concurrency: list[int], tokens: int,
             outputs: Path) -> tuple[float, list[dict[str, object]]]:
    """The highest chunk rate of a point that was not client-bound, and every point's figures."""
    args = ["perf", *mode, "--url", f"{sim.base_url}/completions", "--model", "sim",  # type: ignore[attr-defined]
            "--tokenizer-path", "o200k_base", "--min-prompt-length", "16", "--max-prompt-length", "16",
            "--max-tokens", str(tokens), "--parallel", *map(str, concurrency),
            "--number", *(str(2 * c) for c in concurrency), "--outputs-dir", str(outputs), "--no-html", "--quiet",
            "--no-test-connection", "--min-success-rate", "0"]
    done = cluster.assay(*args, timeout_s=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(mode)}: {done.stderr.strip().splitlines()[-1:]}")
    (run_dir,) = [p.parent for p in outputs.glob("*/*/run.json")]
    records, _ = read_records(run_dir / "requests.jsonl")
    summary = json.loads((run_dir / "summary.json").read_text())
    best, rows = 0.0, []
    bound_seen = False
    for point in summary["points"]:
        mine = [r for r in records if r.point == point["point"] and r.sent_ns is not None]
        span_s = (max(r.end_ns for r in mine) - min(r.sent_ns for r in mine)) / 1e9  # type: ignore[type-var]
        rate = sum(len(r.chunk_times_us) for r in mine) / span_s
        client = point["client"]
        rows.append({"concurrency": point["concurrency"], "chunks_per_s": rate, "client_bound": client["client_bound"],
                     "lag_p99_ms": client["loop_lag_p99_ms"], "cpu_percent": client["cpu_percent"],
                     "lag_cause": client.get("lag_cause"), "failed": point["failed"]})
        bound_seen = bound_seen or client["client_bound"]
        if not bound_seen:
            best = max(best, rate)
    return best, rows


def intake(count: int, chunks: int, folder: Path) -> float:
    """Records per second the driver decodes and writes, fed in actor-sized batches."""
    record = RequestRecord(index=0, point=0, phase="measure", concurrency=1, start_ns=0, sent_ns=1, end_ns=2,
                           chunk_times_us=list(range(0, chunks * 1000, 1000)), completion_tokens=chunks, actor=0,
                           clock_offset_ns=1, clock_uncertainty_ns=1)
    batch = msgspec.json.encode([record] * 2000)
    batches = [batch] * max(1, count // 2000)
    decoder = msgspec.json.Decoder(list[RequestRecord])
    writer = JsonlWriter(folder / "requests.jsonl")
    started = time.perf_counter()
    taken = 0
    for payload in batches:
        for each in decoder.decode(payload):
            writer.write(each, flush=False)
            taken += 1
        writer.flush()
    writer.close()
    return taken / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actors", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--tpot-ms", type=float, default=5.0)
    parser.add_argument("--output-tokens", type=int, default=200)
    parser.add_argument("--intake-records", type=int, default=20000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-capacity-"))
    print(f"driver intake: {intake(options.intake_records, options.output_tokens, work):,.0f} records/s "
          f"({options.output_tokens} chunk times each)", flush=True)
    modes = ([(f"{n} actor(s)", ["--ray", "--ray-actors", str(n)]) for n in options.actors]
             + [(f"{n} worker(s)", ["--workers", str(n)]) for n in options.workers])
    with RayCluster() as cluster, cluster.sim(SimSettings(ttft_ms=20, tpot_ms=options.tpot_ms)) as sim:
        print("| mode | capacity (chunks/s, not client-bound) | per point: C → chunks/s (lag p99 ms, CPU %, bound) |")
        print("|---|--:|---|")
        for k, (name, mode) in enumerate(modes):
            best, rows = capacity(cluster, sim, mode, options.concurrency, options.output_tokens, work / str(k))
            points = "; ".join(f"{r['concurrency']} → {r['chunks_per_s']:,.0f} ({r['lag_p99_ms']:.1f}, "
                               f"{r['cpu_percent']:.0f}, {'bound: ' + str(r['lag_cause']) if r['client_bound'] else 'ok'})"
                               for r in rows)
            print(f"| {name} | {best:,.0f} | {points} |", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
