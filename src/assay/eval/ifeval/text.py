"""Text measures the IFEval checkers need: words, sentences, word tokens, language.

The reference implementation (google-research ``instruction_following_eval``) uses NLTK for
three of these; NLTK's sentence model (punkt) is a data download, so this module does
without NLTK:

- :func:`count_words` is exact: the reference counts ``\\w+`` runs (NLTK's
  ``RegexpTokenizer(r"\\w+")``), and so does this.
- :func:`count_sentences` approximates punkt's English model: a sentence ends at ``.``,
  ``?`` or ``!`` (possibly followed by closing quotes or brackets) before whitespace, except
  after a title (``Mr.``, ``Dr.``), an initial (``J.``), a known abbreviation followed by a
  lowercase word (``e.g. this``), an ellipsis or a number followed by a lowercase word. Like
  punkt, a line break alone does not end a sentence.
- :func:`word_tokenize` approximates NLTK's ``word_tokenize`` (Treebank rules: quotes,
  brackets and ``;@#$%&?!`` split off, ``,``/``:`` split off unless a digit follows,
  contractions ``n't 's 'm 'd 'll 're 've`` and ``cannot``-style words split), which is
  what the count of all-capital words depends on.
- :func:`detect_language` is ``langdetect`` (pure Python, its profiles ship in the wheel),
  as in the reference, with a fixed seed so a response is always judged the same way.
"""

from __future__ import annotations

import re

__all__ = ["count_sentences", "count_words", "detect_language", "split_sentences", "word_tokenize"]

_WORD = re.compile(r"\w+")


def count_words(text: str) -> int:
    """The number of ``\\w+`` runs (as the reference counts words)."""
    return len(_WORD.findall(text))


# ----------------------------------------------------------------------------- sentences
# Titles never end a sentence; other abbreviations end one only before a capitalised word.
_TITLES = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "sen", "rep", "gov", "gen", "col", "capt", "cpt", "lt",
    "sgt", "rev", "hon", "mt", "ft", "messrs", "mme", "mlle",
})
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "vs", "cf", "approx", "dept", "inc", "ltd", "co", "corp", "nos", "vol", "fig", "figs",
    "eds", "pp", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k",
    "u.n", "u.s.a", "a.m", "p.m", "ph.d", "b.a", "m.a", "b.sc", "m.sc", "d.c",
})
_NUMBER = re.compile(r"^-?[.,]?\d[\d,.\-]*$")
_OPENERS = "\"'“‘([{*`«"
_CLOSERS = "\"'”’)]}*`»"


def _first_char(token: str) -> str:
    stripped = token.lstrip(_OPENERS)
    return stripped[:1]


def _ends_sentence(token: str, following: str) -> bool:
    """Whether ``token`` (a whitespace-delimited piece of text) ends a sentence before ``following``."""
    core = token.rstrip(_CLOSERS)
    if not core or core[-1] not in ".?!":
        return False
    if core[-1] in "?!":
        return True
    nxt = _first_char(following)
    if core.endswith(".."):  # an ellipsis: a break only before a capitalised word
        return nxt.isupper()
    word = core[:-1].lstrip(_OPENERS).lower()
    if not word:
        return True
    if word in _TITLES:
        return False
    if word in _ABBREVIATIONS or (len(word) > 1 and "." in word and all(len(p) == 1 for p in word.split("."))):
        return nxt.isupper()  # e.g. "U.S. The" ends a sentence, "e.g. this" does not
    if len(word) == 1 and word.isalpha():  # an initial: "J. K. Rowling"
        return False
    if _NUMBER.match(word):  # "1. First" ends one (a list item), "chapter 1. then" does not
        return not nxt.islower()
    return True


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (see the module notes: an approximation of NLTK's punkt)."""
    pieces = list(re.finditer(r"\S+", text))
    sentences: list[str] = []
    start = 0
    for i, piece in enumerate(pieces[:-1]):
        if _ends_sentence(piece.group(), pieces[i + 1].group()):
            sentences.append(text[start:piece.end()].strip())
            start = pieces[i + 1].start()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return [s for s in sentences if s]


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


# ----------------------------------------------------------------------------- word tokens
_SPLIT_ALWAYS = re.compile(r"([;@#$%&?!\[\](){}<>\"«»“”‘’`])")
_SPLIT_UNLESS_DIGIT = re.compile(r"([:,])(?!\d)")
_DASHES = re.compile(r"(--+|\.\.\.+)")
_CONTRACTION = re.compile(r"(?i)^(.*[^'])(n't|'s|'m|'d|'ll|'re|'ve|')$")
_TWO_WORDS = re.compile(r"(?i)^(can)(not)$|^(gim)(me)$|^(gon)(na)$|^(got)(ta)$|^(lem)(me)$|^(wan)(na)$")


def word_tokenize(text: str) -> list[str]:
    """Word tokens, approximating NLTK's Treebank-style ``word_tokenize``."""
    text = _SPLIT_ALWAYS.sub(r" \1 ", text)
    text = _SPLIT_UNLESS_DIGIT.sub(r" \1 ", text)
    text = _DASHES.sub(r" \1 ", text)
    tokens: list[str] = []
    for chunk in text.split():
        if len(chunk) > 1 and chunk.startswith("'") and not re.match(r"(?i)'(re|ve|ll|m|t|s|d|n)\b", chunk):
            tokens.append("'")
            chunk = chunk[1:]
        two = _TWO_WORDS.match(chunk)
        if two:
            tokens += [g for g in two.groups() if g]
            continue
        contraction = _CONTRACTION.match(chunk)
        if contraction:
            tokens += [contraction.group(1), contraction.group(2)]
        else:
            tokens.append(chunk)
    return tokens


# ----------------------------------------------------------------------------- language
LANGDETECT_SEED = 0


class LanguageDetectionUnavailable(ImportError):
    """``langdetect`` is not installed."""


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code langdetect gives ``text``, or None when it cannot tell (no letters, ...)."""
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        raise LanguageDetectionUnavailable(
            "IFEval's language checks need the `langdetect` package (pip install langdetect)"
        ) from None
    DetectorFactory.seed = LANGDETECT_SEED
    try:
        return str(detect(text))
    except LangDetectException:
        return None
