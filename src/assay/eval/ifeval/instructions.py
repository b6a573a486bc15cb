"""The 25 verifiable instructions of IFEval and how a response is checked against them.

Each checker follows the semantics of Google's reference implementation
(``instruction_following_eval/instructions.py``, Zhou et al., 2023, "Instruction-Following
Evaluation for Large Language Models"): the same regular expressions, the same relations
(``"less than"`` is ``<``, ``"at least"`` is ``>=``), the same case rules (keywords are
matched case-insensitively; only forbidden words are matched on word boundaries). Where
the reference uses NLTK or langdetect, see :mod:`assay.eval.ifeval.text`. One deliberate
difference: keywords, phrases and markers are matched literally (``re.escape``), where the
reference splices them into patterns unescaped; no IFEval keyword contains a metacharacter.

:func:`evaluate` gives both of the paper's judgements of one response: *strict* (the
response as it is) and *loose* (an instruction counts as followed if any of eight variants
follows it: the response, without its first line, without its last line, without both,
and each of those with every ``*`` removed). An empty (blank) response follows nothing.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.eval.ifeval.text import count_sentences, count_words, detect_language, word_tokenize

__all__ = [
    "INSTRUCTIONS",
    "Evaluation",
    "check",
    "clean_kwargs",
    "evaluate",
    "follows",
    "loose_variants",
    "validate",
]

RELATIONS = ("less than", "at least")
CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _compare(count: int, relation: str, threshold: int) -> bool:
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"relation must be one of {RELATIONS}, not {relation!r}")


# ------------------------------------------------------------------------------ keywords
def keywords_existence(response: str, *, keywords: Sequence[str]) -> bool:
    """Every keyword occurs (case-insensitive substring, as in the reference)."""
    return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in keywords)


def keywords_frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    """The keyword occurs ``relation`` ``frequency`` times (case-insensitive, non-overlapping)."""
    occurrences = len(re.findall(re.escape(keyword.strip()), response, flags=re.IGNORECASE))
    return _compare(occurrences, relation, frequency)


def keywords_forbidden_words(response: str, *, forbidden_words: Sequence[str]) -> bool:
    """No forbidden word occurs as a whole word (case-insensitive)."""
    return not any(re.search(r"\b" + re.escape(w) + r"\b", response, flags=re.IGNORECASE) for w in forbidden_words)


def keywords_letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """The character occurs ``let_relation`` ``let_frequency`` times, case-insensitively."""
    letter = letter.strip().lower()
    if len(letter) != 1:
        raise ValueError(f"letter must be one character, not {letter!r}")
    return _compare(response.lower().count(letter), let_relation, let_frequency)


# ------------------------------------------------------------------------------ language
def response_language(response: str, *, language: str) -> bool:
    """langdetect finds ``language``; a text it cannot classify counts as followed (as in the reference)."""
    detected = detect_language(response)
    return detected is None or detected == language


# ------------------------------------------------------------------------------ length
def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    return _compare(count_sentences(response), relation, num_sentences)


def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by ``***``; an empty one inside fails."""
    paragraphs = re.split(r"\s?\*\*\*\s?", response)
    count = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if index in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == num_paragraphs


def number_words(response: str, *, num_words: int, relation: str) -> bool:
    return _compare(count_words(response), relation, num_words)


def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    """Exactly ``num_paragraphs`` paragraphs split by blank lines, the nth starting with ``first_word``."""
    paragraphs = re.split(r"\n\n", response)
    count = sum(1 for p in paragraphs if p.strip())
    if nth_paragraph > count:
        return False
    # As in the reference, the nth piece of the split is taken (empty pieces included).
    paragraph = paragraphs[nth_paragraph - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    found = ""
    for char in word:
        if char in {".", ",", "?", "!", "'", '"'}:
            break
        found += char.lower()
    return count == num_paragraphs and found == first_word.lower()


# ------------------------------------------------------------------------------ content
def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least ``num_placeholders`` square-bracket placeholders such as ``[address]``."""
    return len(re.findall(r"\[.*?\]", response)) >= num_placeholders


def postscript(response: str, *, postscript_marker: str) -> bool:
    """A postscript starting with the marker (``P.S.``, ``P.P.S``, ...), case-insensitive."""
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, response.lower(), flags=re.MULTILINE))


# ------------------------------------------------------------------------------ format
def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly ``num_bullets`` markdown bullet lines (``* item`` or ``- item``)."""
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == num_bullets


def constrained_response(response: str) -> bool:
    """Contains one of "My answer is yes./no./maybe."."""
    response = response.strip()
    return any(option in response for option in CONSTRAINED_RESPONSE_OPTIONS)


def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least ``num_highlights`` non-empty ``*highlighted*`` (or ``**bold**``) spans on one line."""
    count = sum(1 for h in re.findall(r"\*[^\n\*]*\*", response) if h.strip("*").strip())
    count += sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", response) if h.removeprefix("**").removesuffix("**").strip())
    return count >= num_highlights


def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least ``num_sections`` sections, each begun by ``<spliter> <number>`` (case-sensitive)."""
    pattern = r"\s?" + re.escape(section_spliter.strip()) + r"\s?\d+\s?"
    return len(re.split(pattern, response)) - 1 >= num_sections


def json_format(response: str) -> bool:
    """The whole response is JSON, optionally inside a markdown code fence."""
    value = (
        response.strip()
        .removeprefix("```json")
        .removeprefix("```Json")
        .removeprefix("```JSON")
        .removeprefix("```")
        .removesuffix("```")
        .strip()
    )
    try:
        json.loads(value)
    except (ValueError, RecursionError):
        return False
    return True


def title(response: str) -> bool:
    """A non-empty title in double angular brackets, ``<<like this>>``, on one line."""
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))


# ------------------------------------------------------------------------------ combination
def two_responses(response: str) -> bool:
    """Two different responses separated by ``******`` (and nothing empty between separators)."""
    valid = []
    parts = response.split("******")
    for index, part in enumerate(parts):
        if not part.strip():
            if index not in (0, len(parts) - 1):
                return False
        else:
            valid.append(part)
    return len(valid) == 2 and valid[0].strip() != valid[1].strip()


def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The response starts with the request, repeated word for word (case-insensitive)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


# ------------------------------------------------------------------------------ start/end
def end_checker(response: str, *, end_phrase: str) -> bool:
    """The response ends with the phrase (case-insensitive; surrounding double quotes ignored)."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def quotation(response: str) -> bool:
    """The whole response is wrapped in double quotation marks."""
    value = response.strip()
    return len(value) > 1 and value[0] == '"' and value[-1] == '"'


# ------------------------------------------------------------------------------ case
def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    """Words in all capitals (word tokens, so ``I`` counts) appear ``capital_relation`` ``capital_frequency`` times."""
    count = sum(1 for word in word_tokenize(response) if word.isupper())
    return _compare(count, capital_relation, capital_frequency)


def english_capital(response: str) -> bool:
    """All capitals, and English (langdetect; undetectable counts as English, as in the reference)."""
    if not response.isupper():
        return False
    detected = detect_language(response)
    return detected is None or detected == "en"


def english_lowercase(response: str) -> bool:
    """All lowercase, and English (langdetect; undetectable counts as English, as in the reference)."""
    if not response.islower():
        return False
    detected = detect_language(response)
    return detected is None or detected == "en"


# ------------------------------------------------------------------------------ punctuation
def no_comma(response: str) -> bool:
    return "," not in response


Checker = Callable[..., bool]

INSTRUCTIONS: dict[str, Checker] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keywords_frequency,
    "keywords:forbidden_words": keywords_forbidden_words,
    "keywords:letter_frequency": keywords_letter_frequency,
    "language:response_language": response_language,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:number_words": number_words,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "detectable_content:number_placeholders": number_placeholders,
    "detectable_content:postscript": postscript,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:constrained_response": constrained_response,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "combination:two_responses": two_responses,
    "combination:repeat_prompt": repeat_prompt,
    "startend:end_checker": end_checker,
    "change_case:capital_word_frequency": capital_word_frequency,
    "change_case:english_capital": english_capital,
    "change_case:english_lowercase": english_lowercase,
    "punctuation:no_comma": no_comma,
    "startend:quotation": quotation,
}
"""Instruction id (as in the dataset's ``instruction_id_list``) to checker ``(response, **kwargs) -> bool``."""


def clean_kwargs(kwargs: Any) -> dict[str, Any]:
    """One instruction's arguments with the empty ones dropped (the hub copy fills absent keys with None)."""
    if kwargs is None:
        return {}
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs) if kwargs.strip() else {}
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"instruction arguments must be a mapping, not {type(kwargs).__name__}")
    return {str(k): v for k, v in kwargs.items() if v is not None}


def validate(instruction_id: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ValueError if the id is unknown or the arguments do not fit its checker."""
    checker = INSTRUCTIONS.get(instruction_id)
    if checker is None:
        raise ValueError(f"unknown IFEval instruction {instruction_id!r}")
    try:
        inspect.signature(checker).bind("", **kwargs)
    except TypeError as exc:
        raise ValueError(f"IFEval instruction {instruction_id!r}: arguments {dict(kwargs)} do not fit ({exc})") from None
    for key in ("relation", "let_relation", "capital_relation"):
        if key in kwargs and kwargs[key] not in RELATIONS:
            raise ValueError(f"IFEval instruction {instruction_id!r}: {key} must be one of {RELATIONS}")


def check(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``response`` follows one instruction, as checked (a blank response follows nothing)."""
    if not response.strip():
        return False
    return bool(INSTRUCTIONS[instruction_id](response, **dict(kwargs or {})))


def loose_variants(response: str) -> list[str]:
    """The paper's eight loose variants: as is, without the first/last/both lines, each also without ``*``."""
    lines = response.split("\n")
    remove_first = "\n".join(lines[1:]).strip()
    remove_last = "\n".join(lines[:-1]).strip()
    remove_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        remove_first,
        remove_last,
        remove_both,
        remove_first.replace("*", ""),
        remove_last.replace("*", ""),
        remove_both.replace("*", ""),
    ]


def follows(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None, *,
            loose: bool = False) -> bool:
    """Strict: ``check`` on the response. Loose: ``check`` on any of :func:`loose_variants`."""
    if not loose:
        return check(instruction_id, response, kwargs)
    return any(check(instruction_id, variant, kwargs) for variant in loose_variants(response))


@dataclass(frozen=True)
class Evaluation:
    """One response judged against one prompt's instructions."""

    instruction_ids: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]

    @property
    def prompt_strict(self) -> bool:
        return all(self.strict)

    @property
    def prompt_loose(self) -> bool:
        return all(self.loose)

    @property
    def inst_strict(self) -> float:
        return sum(self.strict) / len(self.strict) if self.strict else 0.0

    @property
    def inst_loose(self) -> float:
        return sum(self.loose) / len(self.loose) if self.loose else 0.0


def evaluate(response: str, instruction_ids: Sequence[str], kwargs_list: Iterable[Any] | None = None) -> Evaluation:
    """Judge ``response`` against each instruction, strictly and loosely."""
    ids = tuple(instruction_ids)
    kwargs = [clean_kwargs(k) for k in kwargs_list] if kwargs_list is not None else [{} for _ in ids]
    if len(kwargs) != len(ids):
        raise ValueError(f"{len(ids)} instructions but {len(kwargs)} argument sets")
    variants = loose_variants(response)
    strict: list[bool] = []
    loose: list[bool] = []
    for instruction_id, args in zip(ids, kwargs):
        followed = check(instruction_id, response, args)
        strict.append(followed)
        # The first variant is the response itself: strict implies loose.
        loose.append(followed or any(check(instruction_id, v, args) for v in variants[1:]))
    return Evaluation(ids, tuple(strict), tuple(loose))
