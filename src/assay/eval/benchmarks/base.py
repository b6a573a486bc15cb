"""What a benchmark is: a data source, a prompt builder and a scorer, composed.

- :class:`DataSource` says where the rows live (hub ids, split, subsets, local file patterns).
- A prompt builder (:class:`Prompt`; :mod:`assay.eval.prompts` has the usual ones) turns a row
  into a :class:`Sample` ready to send, with its reference answer and what judging needs.
- A scorer (:class:`Scorer`; :mod:`assay.eval.scorers`) judges the answer part of a response
  into a :class:`Verdict`, with the :class:`~assay.eval.judge.Judges` of the run.

A benchmark module defines one :class:`Benchmark` named ``BENCHMARK``; the registry finds it
(adding a benchmark is one new module plus its test; ``python -m assay.eval.docs`` then writes
the tables of docs/eval.md and the README's list from the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from assay.eval.judge import Judges

Row = dict[str, Any]
"""One row of a benchmark's data, as read from the hub or a local file."""


@dataclass(frozen=True)
class Sample:
    """One benchmark item, ready to send."""

    id: str
    subset: str
    messages: list[dict[str, Any]]
    """The chat to send (a function-calling history may hold ``tool_calls`` and ``tool`` messages)."""
    gold: str
    question: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """How one response was judged."""

    verdict: str
    """``correct``, ``wrong``, ``truncated`` (cut off by the length limit with no answer) or ``error``."""
    score: float
    extracted: str | None
    method: str
    """How the answer was found and compared (``boxed/normalized``, ``phrase/math-verify``, ...)."""
    scores: dict[str, float] = field(default_factory=dict)
    """Further metrics of this generation, named as in ``Benchmark.metrics[1:]``."""
    judge: dict[str, Any] | None = None
    """What an LLM judge said, when one was asked."""


def row_field(key: str) -> Callable[[Row], str]:
    """A reader of a row's ``key`` as text: the subset of a row whose subsets come from a field
    (``DataSource.subset_field``; MMLU-Pro's ``category``, SuperGPQA's ``field``)."""

    def read(row: Row) -> str:
        return str(row[key])

    return read


@dataclass(frozen=True)
class DataSource:
    """Where a benchmark's rows live, and which subset each row belongs to."""

    hf_id: str
    """The Hugging Face dataset id (``-``: none, local data only)."""
    ms_id: str
    """The ModelScope dataset id (``-``: none)."""
    subsets: tuple[str, ...] = ("default",)
    split: str = "test"
    few_shot_split: str | None = None
    """The split few-shot examples come from (None: the benchmark has no few-shot examples)."""
    subsets_are_configs: bool = False
    """True: each subset is a hub config (AIME 2025 I/II). False: one config, subsets from a field."""
    hub_config: str | None = None
    local_files: tuple[str, ...] = ("{subset}.jsonl", "{split}.jsonl", "{config}/{split}.jsonl", "{split}-*.parquet")
    """Where the rows sit in a local folder, tried in order ({subset}, {split}, {config} filled in)."""
    subset_field: Callable[[Row], str] | None = None
    """The subset a row belongs to, when subsets come from a field (None: the first subset)."""
    keep_row: Callable[[Row, Mapping[str, Any]], bool] | None = None
    """Which rows the benchmark scores, given the run's ``dataset_args`` for it (None: all): MMLU-Redux keeps
    the questions its annotators found sound, LiveCodeBench the problems in a ``start_date``/``end_date`` window."""
    own_args: tuple[str, ...] = ()
    """The benchmark-specific ``dataset_args`` keys it reads (LiveCodeBench: ``start_date``, ``end_date``);
    any other benchmark given one is refused, never silently ignored."""
    few_shot_same_subset: bool = False
    """True: few-shot examples are the pool's rows of the sample's own subset (MMLU-Pro's categories)."""
    categories: Mapping[str, str] = field(default_factory=dict)
    """The group of each subset (the report's Cat.0 column); a subset not listed is ``default``."""
    subsets_doc: str | None = None
    """The subsets as docs/eval.md shows them (None: listed from ``subsets``)."""
    files_doc: str | None = None
    """The local files as docs/eval.md shows them (None: the first pattern of ``local_files``)."""
    read_rows: Callable[[Path | None, str, str, str | None], list[Row]] | None = None
    """Reads one subset's rows itself, given (the local folder or file or None, the hub, the hub id, the
    subset): for a layout a row's parts come from several files in (BFCL: questions and possible answers).
    None: ``local_files`` or the hub's own loader."""

    def subset_of(self, row: Row) -> str:
        """The subset a row belongs to, when subsets come from a field."""
        return self.subset_field(row) if self.subset_field is not None else self.subsets[0]

    def category_of(self, subset: str) -> str:
        """The group a subset belongs to (the report's Cat.0 column)."""
        return self.categories.get(subset, "default")

    def few_shot_for(self, pool: list[Row], subset: str, count: int) -> list[Row]:
        """The few-shot examples for samples of ``subset`` (default: the first ``count`` of the pool)."""
        if self.few_shot_same_subset:
            return [row for row in pool if self.subset_of(row) == subset][:count]
        return pool[:count]


def your_own_data() -> DataSource:
    """The data source of the benchmarks for your own data: no hub, a file or folder given by ``local_path``."""
    return DataSource(
        hf_id="-", ms_id="-", local_files=("{split}.jsonl", "{split}.csv", "{split}.json", "*.jsonl", "*.csv"),
        files_doc="`local_path`: a JSONL/CSV file, or a folder with `test.jsonl`",
    )


class Prompt(Protocol):
    """Turns a row into the sample sent (a solver, in inspect_ai's words)."""

    @property
    def template(self) -> str:
        """The default prompt template (``{question}`` placed); part of a run's identity."""
        ...

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        """The sample of one row: ``template`` is the user's (None: the default or, with
        ``style="official"``, the benchmark's reference prompt); ``few_shot`` the example rows."""
        ...

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        """The sample as sent for one repeat (multiple choice may shuffle its options per repeat)."""
        ...


class Scorer(Protocol):
    """Judges the answer part of one response (reasoning already removed)."""

    @property
    def keeps_indentation(self) -> bool:
        """True: the answer is judged with the indentation its first line had (code answered as a body)."""
        ...

    @property
    def judged_by(self) -> str:
        """How answers are judged, in a few words (docs/eval.md's "judged by" column)."""
        ...

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None,
                    judges: Judges) -> Verdict:
        ...


@dataclass(frozen=True)
class Benchmark:
    """A data source, a prompt builder and a scorer under one name."""

    name: str
    title: str
    """The name people know it by (the README's list): ``AIME 2024``, ``MMLU-Pro``."""
    description: str
    data: DataSource
    prompt: Prompt
    scorer: Scorer
    metrics: tuple[str, ...] = ("AveragePass@1",)
    """The first is the primary score (``Verdict.score``); the others come from ``Verdict.scores``."""
    needs_llm_judge: bool = False
    """Only an LLM judge can score it (SimpleQA, HLE, pairwise arenas): a run without one is refused before
    any request is sent."""
    judged_by: str | None = None
    """docs/eval.md's "judged by" text when it says more than the scorer's own."""

    @property
    def subsets(self) -> tuple[str, ...]:
        return self.data.subsets

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        return self.prompt.to_sample(row, index, subset, template, few_shot, style)

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        return self.prompt.for_repeat(sample, repeat, seed)

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None,
                    judges: Judges | None = None) -> Verdict:
        """Judge the answer part of one response (reasoning already removed); ``judges`` default: none
        configured (a math scorer then has no checker, a judged scorer uses its rule)."""
        from assay.eval.judge import Judges

        return await self.scorer.score(sample, answer_text, finish_reason=finish_reason,
                                       judges=judges if judges is not None else Judges())

    def describe(self) -> dict[str, Any]:
        """What run.json keeps of the benchmark (and ``assay benchmarks`` lists)."""
        return {
            "name": self.name, "description": self.description, "subsets": list(self.data.subsets),
            "metrics": list(self.metrics), "huggingface": self.data.hf_id, "modelscope": self.data.ms_id,
            "categories": {subset: self.data.category_of(subset) for subset in self.data.subsets},
        }
