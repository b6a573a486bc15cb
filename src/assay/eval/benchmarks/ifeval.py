"""IFEval: 541 prompts carrying 25 types of verifiable instructions ("answer in under 300 words").

The prompt is sent as it is. Each response is checked in-process against every instruction
of its prompt (:mod:`assay.eval.ifeval`), giving the paper's four metrics: prompt-level
(all instructions followed) and instruction-level (the fraction followed, micro-averaged
over all instructions), each strict and loose. The primary score is prompt-level strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict

if TYPE_CHECKING:
    from assay.eval.judge import Judges


def gold(row: Row) -> str:
    # Nothing to compare with: the instructions to follow stand in for a gold answer.
    return "; ".join(str(i) for i in row["instruction_id_list"])


@dataclass(frozen=True)
class IFEvalPrompt:
    """The prompt as it is (or in the user's template); the instructions and their arguments checked
    when the row is read, kept in ``meta`` for the scorer."""

    template: str = "{question}"

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        from assay.errors import DatasetError
        from assay.eval.ifeval import clean_kwargs, validate

        question = str(row["prompt"])
        ids = [str(i) for i in row["instruction_id_list"]]
        raw_kwargs = row.get("kwargs")
        try:
            kwargs = [clean_kwargs(k) for k in raw_kwargs] if raw_kwargs is not None else [{} for _ in ids]
            if len(kwargs) != len(ids):
                raise ValueError(f"{len(ids)} instructions but {len(kwargs)} argument sets")
            for instruction_id, args in zip(ids, kwargs):
                validate(instruction_id, args)
        except ValueError as exc:
            raise DatasetError(f"ifeval: row {row.get('key', index)}: {exc}") from None
        prompt = template.format(question=question) if template else question
        key = row.get("key")
        return Sample(
            id=str(key) if key not in (None, "") else f"{subset}/{index}", subset=subset, question=question,
            messages=[{"role": "user", "content": prompt}], gold=gold(row),
            meta={"key": row.get("key"), "instruction_id_list": ids, "kwargs": kwargs},
        )

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        return sample


@dataclass(frozen=True)
class InstructionScorer:
    """Every instruction of the prompt checked in-process, strict and loose (:mod:`assay.eval.ifeval`)."""

    keeps_indentation: bool = False
    judged_by: str = ("the instruction checkers; metrics `prompt_level_strict`, `inst_level_strict`, "
                      "`prompt_level_loose`, `inst_level_loose` (instruction level is micro-averaged over "
                      "instructions; loose = the paper's response transformations); `AveragePass@1` equals "
                      "`prompt_level_strict`")

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        from assay.eval.ifeval import evaluate

        ids = list(sample.meta["instruction_id_list"])
        result = evaluate(answer_text, ids, sample.meta.get("kwargs"))
        n = len(ids)
        scores = {
            "prompt_level_strict": float(result.prompt_strict),
            "inst_level_strict": result.inst_strict,
            "inst_level_strict__weight": float(n),
            "prompt_level_loose": float(result.prompt_loose),
            "inst_level_loose": result.inst_loose,
            "inst_level_loose__weight": float(n),
        }
        summary = f"{sum(result.strict)}/{n} strict, {sum(result.loose)}/{n} loose"
        missed = [i for i, ok in zip(ids, result.strict) if not ok]
        if missed and answer_text.strip():
            summary += "; missed: " + ", ".join(missed)
        if not answer_text.strip() and finish_reason == "length":
            verdict = "truncated"
        else:
            verdict = "correct" if result.prompt_strict else "wrong"
        return Verdict(verdict, float(result.prompt_strict), summary, "ifeval", scores)


BENCHMARK = Benchmark(
    name="ifeval",
    title="IFEval",
    description="Instruction following: 541 prompts with 25 types of verifiable instructions (strict and loose)",
    data=DataSource(
        hf_id="google/IFEval", ms_id="opencompass/ifeval", split="train",
        local_files=("input_data.jsonl", "{split}.jsonl", "{split}-*.parquet"),
        files_doc="`ifeval/input_data.jsonl` (or `train.jsonl`)",
    ),
    prompt=IFEvalPrompt(),
    scorer=InstructionScorer(),
    metrics=("AveragePass@1", "prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose"),
)
