"""MGSM: 250 GSM8K problems translated into 10 languages (plus English), one subset per language.

Native chain of thought (Shi et al., 2022): the model reasons in the problem's language and states
the answer after that language's word for "Answer" (``Antwort:``, ``答案：``). The answer is read
after the last such marker (any language's, or a ``\\boxed{}``), with the language's digit
grouping read as grouping: ``Antwort: 1.234`` is 1234, not 1.234.
"""

from __future__ import annotations

import re
import unicodedata

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample
from assay.eval.prompts import QuestionPrompt, read_id
from assay.eval.scorers import MathScorer

ANSWER_WORD = {
    "bn": "উত্তর", "de": "Antwort", "en": "Answer", "es": "Respuesta", "fr": "Réponse", "ja": "答え",
    "ru": "Ответ", "sw": "Jibu", "te": "సమాధానం", "th": "คำตอบ", "zh": "答案",
}
"""The answer marker of each language (the MGSM paper's native-CoT exemplars end with it)."""
LANGUAGES = tuple(sorted(ANSWER_WORD))
TEMPLATE = (
    "{question}\n\nSolve this problem step by step, reasoning in the language of the problem. "
    "On the last line, write only '{answer_word}: ' followed by the integer answer."
)
_MARKER = re.compile(
    r"(?:" + "|".join(re.escape(word) for word in sorted(set(ANSWER_WORD.values()), key=len, reverse=True))
    + r")\s*\**\s*[:：]\s*\**\s*([^\n]*)",
    re.IGNORECASE,
)
# A number: digits in groups of three separated by , . space or a thin space (grouping), or plain digits
# with an optional decimal part (. or ,).
_NUMBER = re.compile(r"[-−]?\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?![\d])|[-−]?\d+(?:[.,]\d+)?")


def read_number(text: str) -> str | None:
    """The first number of ``text`` as plain digits: grouping removed, a decimal comma made a point,
    digits of any script (Bengali, Thai, full-width) read as digits; None when there is none."""
    text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
    match = _NUMBER.search(text.replace("$", ""))
    if match is None:
        return None
    number = match.group(0).replace("−", "-")
    if re.fullmatch(r"-?\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+", number):
        return re.sub(r"[,.\u00a0\u202f ]", "", number)
    return number.replace(",", ".")


def extract(answer_text: str) -> tuple[str | None, str]:
    """(answer, method): the number after the last answer marker, else the last ``\\boxed{}``, else the
    last number of the text (a fallback, not an answer in a response cut off by the length limit)."""
    from assay.eval.scoring.extract import extract_boxed

    for found in reversed(list(_MARKER.finditer(answer_text))):
        number = read_number(found.group(1))
        if number is not None:
            return number, "marker"
    boxed = extract_boxed(answer_text)
    if boxed and (number := read_number(boxed)) is not None:
        return number, "boxed"
    numbers = [read_number(m.group(0)) for m in re.finditer(r"\d[\d,.]*", answer_text)]
    return (numbers[-1], "last-number") if numbers and numbers[-1] is not None else (None, "no-answer")


def gold(row: Row) -> str:
    """``answer_number`` as an integer string (``12.0`` -> ``12``)."""
    value = float(row["answer_number"])
    return str(int(value)) if value.is_integer() else str(value)


class MgsmPrompt(QuestionPrompt):
    """The question with the answer marker of its own language."""

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        question = self.question(row)
        chosen = self.template_for(template, style)
        prompt = chosen.replace("{answer_word}", ANSWER_WORD.get(subset, "Answer")).format(question=question)
        return Sample(id=read_id(row, index, subset), subset=subset, question=question,
                      messages=[{"role": "user", "content": prompt}], gold=gold(row), meta={})


BENCHMARK = Benchmark(
    name="mgsm",
    title="MGSM",
    description="Multilingual Grade School Math: 250 GSM8K problems in 11 languages, integer answers",
    data=DataSource(
        hf_id="juletxara/mgsm", ms_id="-", subsets=LANGUAGES, subsets_are_configs=True, split="test",
        local_files=("{subset}.jsonl", "{subset}/{split}.jsonl", "{subset}/{split}-*.parquet",
                     "{subset}/{split}/*.parquet"),
        subsets_doc="11 languages (hub configs): " + ", ".join(f"`{language}`" for language in LANGUAGES),
        files_doc="`mgsm/<language>.jsonl` or `mgsm/<language>/test-*.parquet` (fields `question`, `answer_number`)",
    ),
    prompt=MgsmPrompt(template=TEMPLATE, gold=gold),
    scorer=MathScorer(extract=extract, final_answer_methods=("marker", "boxed"),
                      judged_by="the number after the last answer marker of any language (`Antwort:`, `答案：`), "
                                "digit grouping read, compared as a number"),
)
