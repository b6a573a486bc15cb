"""The samples of an eval run: each benchmark's rows (local folder or hub), limited, few-shot, as prompts."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError, ConfigError
from assay.eval.benchmarks import Benchmark, Sample, get_benchmark

if TYPE_CHECKING:
    from assay.eval.config import TaskConfig


def load_samples(config: TaskConfig) -> dict[str, list[Sample]]:
    """Every benchmark's samples, in the order of ``config.datasets``; ids unique within a benchmark.

    Raises a one-line DatasetError when data cannot be had, AssayError when a row lacks a field or
    a benchmark has no samples.
    """
    return {name: load_benchmark_samples(config, name) for name in config.datasets}


def load_benchmark_samples(config: TaskConfig, name: str) -> list[Sample]:
    """The samples of one benchmark of the run (see :func:`load_samples`)."""
    benchmark = get_benchmark(name)
    data = benchmark.data
    args = config.dataset_args.get(name, {})
    subsets = args.get("subset_list") or list(data.subsets)
    data_folder(config, benchmark)  # a wrong folder is said before anything else
    few_shot_num = int(args.get("few_shot_num", 0))
    if few_shot_num and data.few_shot_split is None:
        raise ConfigError(f"dataset_args.{name}.few_shot_num: {name} has no few-shot split")

    def pool_of(subset: str | None) -> list[dict[str, Any]]:
        """The few-shot rows (of one subset when subsets are hub configs: each subject has its own)."""
        assert data.few_shot_split is not None
        rows = read_benchmark_rows(config, benchmark, data.few_shot_split, subset)
        return random.Random(config.seed).sample(rows, len(rows)) if args.get("few_shot_random") else rows

    shared_pool = pool_of(None) if few_shot_num and not data.subsets_are_configs else []
    if data.subsets_are_configs:
        by_subset = {subset: read_benchmark_rows(config, benchmark, data.split, subset) for subset in subsets}
    else:
        all_rows = read_benchmark_rows(config, benchmark, data.split, None)
        by_subset = {subset: [r for r in all_rows if data.subset_of(r) == subset] for subset in subsets}
    samples: list[Sample] = []
    for subset, rows in by_subset.items():
        if data.keep_row is not None:
            rows = [row for row in rows if data.keep_row(row, args)]
        pool = (pool_of(subset) if data.subsets_are_configs else shared_pool) if few_shot_num else []
        for index, row in enumerate(limit_rows(rows, config.limit)):
            try:
                few_shot = data.few_shot_for(pool, subset, few_shot_num) if few_shot_num else []
                samples.append(benchmark.to_sample(row, index, subset, args.get("prompt_template"), few_shot,
                                                   style=args.get("prompt_style") or config.prompt_style))
            except KeyError as exc:
                raise AssayError(f"{name}: a row of subset {subset!r} lacks the field {exc}") from None
    if not samples:
        raise AssayError(f"{name}: no samples loaded (subsets {subsets})")
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):  # make ids unique within the benchmark
        samples = [Sample(f"{s.subset}/{i}", s.subset, s.messages, s.gold, s.question, s.meta)
                   for i, s in enumerate(samples)]
    return samples


def read_benchmark_rows(config: TaskConfig, benchmark: Benchmark, split: str, subset: str | None) -> list[dict[str, Any]]:
    """The rows of one split (and, for hub-config subsets, one subset) from the run's local data or hub."""
    from assay.data.benchmark_data import find_local_file, load_from_hub, read_rows

    data = benchmark.data
    folder, dataset_id = data_folder(config, benchmark)
    config_name = subset if data.subsets_are_configs else data.hub_config
    if data.read_rows is not None:  # a row's parts live in several files (BFCL: questions, possible answers)
        hub_id = dataset_id or (data.ms_id if config.dataset_hub == "modelscope" else data.hf_id)
        return data.read_rows(folder, config.dataset_hub, hub_id, config_name)
    if folder is not None:
        path = folder if folder.is_file() else find_local_file(
            folder, data.local_files, subset=subset or data.subsets[0], split=split, config=config_name,
        )
        return read_rows(path)
    hub_id = dataset_id or (data.ms_id if config.dataset_hub == "modelscope" else data.hf_id)
    return load_from_hub(config.dataset_hub, hub_id, config=config_name, split=split)


def data_folder(config: TaskConfig, benchmark: Benchmark) -> tuple[Path | None, str | None]:
    """(the local folder or file the benchmark reads, or None for the hub; the hub id the user gave)."""
    from assay.data.benchmark_data import resolve_local_folder

    args = config.dataset_args.get(benchmark.name, {})
    dataset_id = args.get("dataset_id")
    local_path = args.get("local_path")
    if dataset_id and os.path.exists(os.path.expanduser(dataset_id)):  # EvalScope: a local path as the id
        local_path, dataset_id = dataset_id, None
    folder = resolve_local_folder(benchmark.name, dataset_dir=config.dataset_dir, local_path=local_path)
    if folder is None and config.dataset_hub == "local":
        raise ConfigError(
            f"dataset_hub='local' needs dataset_dir or dataset_args.{benchmark.name}.local_path for {benchmark.name}"
        )
    return folder, dataset_id


def limit_rows(rows: list[dict[str, Any]], limit: int | float | None) -> list[dict[str, Any]]:
    """The first ``limit`` rows: an int, or a fraction in (0, 1] of them (at least one)."""
    if limit is None:
        return rows
    if isinstance(limit, float) and limit <= 1:
        return rows[: max(1, int(len(rows) * limit))]
    return rows[: int(limit)]
