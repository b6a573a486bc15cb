"""Reasoning and answer in one text: <think> and gpt-oss harmony, whole (eval) and streamed (perf).

Harmony strings are real: encoded and decoded with tiktoken's ``o200k_harmony`` (the markers are
single special tokens, as gpt-oss streams them) and with ``o200k_base`` (the markers cut into
several tokens, as a server whose tokenizer does not know them streams them).
"""

from __future__ import annotations

import pytest

from assay.client.channels import ANSWER, PLAIN, REASONING, WAIT, AnswerStart, split_channels
from assay.data.tokenizers import load_tokenizer
from assay.eval.scoring import split_reasoning
from assay.eval.scoring.extract import extract_final_answer

ANALYSIS = "We need 17+25. That is 42? Check: \\boxed{41} was a slip; 17+25=42."
FINAL = "The final answer is 42."
HARMONY = (f"<|channel|>analysis<|message|>{ANALYSIS}<|end|>"
           f"<|start|>assistant<|channel|>final<|message|>{FINAL}<|return|>")


def _pieces(text: str, encoding: str) -> list[str]:
    """The text as a server streams it: one decoded token per piece."""
    tiktoken_encoding = load_tokenizer(encoding)._encoding  # type: ignore[attr-defined]
    ids = tiktoken_encoding.encode(text, allowed_special="all" if encoding == "o200k_harmony" else set(),
                                   disallowed_special=())
    pieces = [tiktoken_encoding.decode([i]) for i in ids]
    assert "".join(pieces) == text
    return pieces


def _first_answer_piece(pieces: list[str]) -> int | None:
    """Index of the piece AnswerStart calls the answer's first (the first piece for plain text)."""
    watch = AnswerStart()
    for index, piece in enumerate(pieces):
        verdict = watch.feed(piece)
        if verdict == PLAIN:
            return 0
        if verdict == ANSWER:
            return index
    return None


def test_harmony_final_channel_is_the_answer_and_analysis_the_reasoning():
    reasoning, answer, no_answer = split_channels(HARMONY)
    assert (answer, no_answer) == (FINAL, False)
    assert reasoning == ANALYSIS
    # What the eval extracts: the final channel's phrase, not the analysis' boxed slip.
    assert extract_final_answer(answer) == ("42", "phrase")
    assert extract_final_answer(HARMONY)[0] == "41"  # what searching the whole text found before
    assert split_reasoning(HARMONY) == (reasoning, answer, no_answer)


def test_harmony_cut_off_in_the_analysis_has_no_answer():
    cut = HARMONY[: HARMONY.index("<|end|>") - 10]
    reasoning, answer, no_answer = split_reasoning(cut)
    assert no_answer and answer == "" and reasoning == ANALYSIS[:-10]


def test_harmony_commentary_and_tool_calls_are_reasoning():
    text = ("<|channel|>analysis<|message|>Need the weather.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
            '{"city":"Paris"}<|call|>')
    reasoning, answer, no_answer = split_channels(text)
    assert no_answer and answer == ""
    assert reasoning == 'Need the weather.\n{"city":"Paris"}'
    text += "<|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>"
    assert split_channels(text)[1:] == ("It is sunny.", False)


def test_harmony_with_reasoning_content_from_the_server_keeps_both():
    reasoning, answer, _ = split_channels("<|channel|>final<|message|>Paris", "The capital.")
    assert (reasoning, answer) == ("The capital.", "Paris")


@pytest.mark.parametrize("text, expected", [
    ("<think>2+2 is 4</think>The answer is 4.", ("2+2 is 4", "The answer is 4.", False)),
    ("<thinking>hmm", ("hmm", "", True)),
    ("plain answer", (None, "plain answer", False)),
    ("", (None, "", False)),
])
def test_think_blocks_split_as_before(text, expected):
    assert split_channels(text) == expected


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["o200k_harmony", "o200k_base"])
def test_streamed_harmony_answer_starts_at_the_final_channels_first_token(encoding):
    pieces = _pieces(HARMONY, encoding)
    first = _first_answer_piece(pieces)
    assert first is not None and pieces[first] == "The"
    assert "".join(pieces[first:]).startswith(FINAL)


@pytest.mark.parametrize("encoding", ["o200k_harmony", "o200k_base"])
def test_streamed_harmony_cut_off_in_the_analysis_never_starts_an_answer(encoding):
    pieces = _pieces(HARMONY[: HARMONY.index("<|end|>")], encoding)
    assert _first_answer_piece(pieces) is None


def test_every_two_piece_cut_of_a_harmony_text_finds_the_same_answer_start():
    """Markers cut anywhere across two pieces: the answer starts where the final text does."""
    start = HARMONY.index(FINAL)
    for cut in range(1, len(HARMONY)):
        watch = AnswerStart()
        verdicts = [watch.feed(HARMONY[:cut]), watch.feed(HARMONY[cut:])]
        expected_piece = 0 if cut > start else 1
        assert verdicts[expected_piece] == ANSWER, cut
        assert ANSWER not in verdicts[:expected_piece], cut


def test_think_stream_and_plain_stream():
    watch = AnswerStart()
    assert [watch.feed(p) for p in ["<th", "ink>", "a b", " </thi", "nk>", "\n", "Yes"]] == [
        WAIT, REASONING, REASONING, REASONING, REASONING, REASONING, ANSWER]
    assert AnswerStart().feed("Hello") == PLAIN
    plain = AnswerStart()
    assert [plain.feed("\n"), plain.feed("<b>bold</b>")] == [WAIT, PLAIN]


def test_harmony_with_special_tokens_dropped_by_the_server_splits_at_assistantfinal():
    # vLLM's default skip_special_tokens=True decodes gpt-oss output with the markers removed.
    text = f"analysis{ANALYSIS}assistantfinal{FINAL}"
    reasoning, answer, no_answer = split_channels(text)
    assert (reasoning, answer, no_answer) == (ANALYSIS, FINAL, False)
    assert extract_final_answer(answer)[0] == "42"


@pytest.mark.parametrize("text", [
    "Analysis of the options shows the assistantfinal word is irrelevant. The answer is 7.",  # capital, spaced
    "analysis shows the answer is 7; assistantfinal appears later.",  # "analysis" is a word, not glued
    "analysisWe need 17+25. Still thinking",  # no final marker: cannot prove the channels
    "The analysisX part assistantfinal 3",  # does not open with the marker
])
def test_text_that_only_resembles_stripped_harmony_stays_plain(text):
    reasoning, answer, no_answer = split_channels(text)
    assert (reasoning, answer, no_answer) == (None, text.strip(), False)
