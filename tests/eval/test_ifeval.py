"""IFEval: each of the 25 instruction checkers, the strict/loose evaluation, and the benchmark."""

from __future__ import annotations

import asyncio
import json

import pytest

from assay.eval.ifeval import INSTRUCTIONS, check, clean_kwargs, evaluate, follows, loose_variants, validate
from assay.eval.ifeval.text import count_sentences, count_words, split_sentences, word_tokenize

KANNADA = ("ಹ್ಯಾಂಬರ್ಗರ್‌ಗಳು ಸ್ಯಾಂಡ್‌ವಿಚ್‌ಗಳೇ ಎಂಬ ಪ್ರಶ್ನೆ ತುಂಬಾ ಆಸಕ್ತಿದಾಯಕವಾಗಿದೆ. ಕೆಲವರು ಹೌದು ಎನ್ನುತ್ತಾರೆ ಏಕೆಂದರೆ "
           "ಅವುಗಳಲ್ಲಿ ಎರಡು ಬ್ರೆಡ್ ತುಂಡುಗಳ ನಡುವೆ ಮಾಂಸ ಇರುತ್ತದೆ. ಇತರರು ಇಲ್ಲ ಎಂದು ಹೇಳುತ್ತಾರೆ.")

# (instruction id, kwargs, response, followed?) — at least one followed and one not per type.
CASES: list[tuple[str, dict, str, bool]] = [
    # keywords:existence (case-insensitive substring, as the reference's re.search)
    ("keywords:existence", {"keywords": ["correlated", "experiencing"]},
     "We are EXPERIENCING results that are Correlated.", True),
    ("keywords:existence", {"keywords": ["correlated", "experiencing"]}, "Uncorrelated experiencing.", True),
    ("keywords:existence", {"keywords": ["correlated", "experiencing"]}, "We are experiencing nothing.", False),
    # keywords:frequency
    ("keywords:frequency", {"keyword": "flower", "frequency": 3, "relation": "at least"},
     "Flower, flower and FLOWERS everywhere.", True),
    ("keywords:frequency", {"keyword": "flower", "frequency": 3, "relation": "at least"},
     "One flower and another flower.", False),
    ("keywords:frequency", {"keyword": "flower", "frequency": 2, "relation": "less than"}, "A single flower.", True),
    ("keywords:frequency", {"keyword": "flower", "frequency": 2, "relation": "less than"}, "Flower after flower.", False),
    # keywords:forbidden_words (whole words only)
    ("keywords:forbidden_words", {"forbidden_words": ["reschedule", "free"]}, "We value freedom to rearrange.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["reschedule", "free"]}, "Entry is FREE today.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["reschedule", "free"]}, "Please reschedule.", False),
    # keywords:letter_frequency (case-insensitive character count)
    ("keywords:letter_frequency", {"letter": "q", "let_frequency": 2, "let_relation": "at least"}, "Quick quiet.", True),
    ("keywords:letter_frequency", {"letter": "q", "let_frequency": 2, "let_relation": "at least"}, "Quick.", False),
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 4, "let_relation": "less than"}, "#a #b #c", True),
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 4, "let_relation": "less than"}, "#a #b #c #d", False),
    # language:response_language (langdetect; undetectable text counts as followed, as in the reference)
    ("language:response_language", {"language": "kn"}, KANNADA, True),
    ("language:response_language", {"language": "kn"},
     "Hamburgers are usually considered sandwiches because the meat sits between two pieces of bread.", False),
    ("language:response_language", {"language": "de"},
     "Hamburger sind im Grunde Sandwiches, weil das Fleisch zwischen zwei Brothälften liegt.", True),
    ("language:response_language", {"language": "de"}, "12345 67890", True),
    # length_constraints:number_sentences
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One here. Two here.", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"},
     "One here. Two here! Three here?", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"},
     "Dr. Smith came in. He sat down. It rained all day!", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"},
     "Dr. Smith came in. He sat down with Mr. Jones.", False),
    # length_constraints:number_paragraphs (split on ***)
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First part.\n***\nSecond part.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nFirst part.\n***\nSecond part.\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A.\n***\nB.\n***\nC.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A.\n***\n\n***\nB.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "A.\n\nB.", False),
    # length_constraints:number_words (\w+ runs)
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"}, "one two three four five", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"}, "one two three four", False),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"}, "It's a test.", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"}, "It's a longer test.", False),
    # length_constraints:nth_paragraph_first_word (split on blank lines)
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summary"},
     "Intro here.\n\n\"Summary, the rest.\n\nThe end.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summary"},
     "Intro here.\n\nSummary: the rest.\n\nThe end.", False),  # ":" is not stripped, as in the reference
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summary"},
     "Intro here.\n\nIn summary the rest.\n\nThe end.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summary"},
     "Intro here.\n\nSummary: the rest.", False),
    # detectable_content:number_placeholders
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at home.", False),
    # detectable_content:postscript
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body text.\nP.S. See you soon.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body text.\nPS see you soon.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\n\np.p.s see you", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\n\nP.S. see you", False),
    # detectable_format:number_bullet_lists (exactly n lines starting "* " or "-")
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "Intro:\n* a\n* b\n- c", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "**Bold title**\n* a\n* b\n* c", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* a\n* b", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* a\n* b\n* c\n* d", False),
    # detectable_format:constrained_response
    ("detectable_format:constrained_response", {}, "My answer is yes.", True),
    ("detectable_format:constrained_response", {}, "I think so. My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "Yes.", False),
    # detectable_format:number_highlighted_sections
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* only", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "* * and **  **", False),
    # detectable_format:multiple_sections (case-sensitive splitter)
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "SECTION 1\nFirst.\nSECTION 2\nSecond.", True),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "Section 1\nFirst.\nSection 2\nSecond.", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2}, "SECTION 1\nOnly.", False),
    # detectable_format:json_format
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True),
    ("detectable_format:json_format", {}, '  [1, 2, {"b": null}]  ', True),
    ("detectable_format:json_format", {}, 'Here it is: {"a": 1}', False),
    ("detectable_format:json_format", {}, "{'a': 1}", False),
    # detectable_format:title
    ("detectable_format:title", {}, "<<My Title>>\nThe text.", True),
    ("detectable_format:title", {}, "<<  >>\nThe text.", False),
    ("detectable_format:title", {}, "<<split\ntitle>> The text.", False),
    # combination:two_responses
    ("combination:two_responses", {}, "Answer one.\n******\nAnswer two.", True),
    ("combination:two_responses", {}, "Same.\n******\nSame.", False),
    ("combination:two_responses", {}, "A.\n******\n******\nB.", False),
    ("combination:two_responses", {}, "Only one answer.", False),
    # combination:repeat_prompt
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about the sea."},
     "write a poem about the sea. The waves roll in.", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about the sea."},
     "Sure! Write a poem about the sea. The waves roll in.", False),
    # startend:end_checker
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Some text.\nany other questions?"  ', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Thanks.", False),
    # change_case:capital_word_frequency (word tokens in all capitals; "I" counts)
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"},
     "USE THE FORCE, my friend.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"},
     "Use THE force, my friend.", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"}, "I said no.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "I DON'T know.", False),
    # change_case:english_capital
    ("change_case:english_capital", {},
     "THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHER, WHICH HAS BEEN VERY NICE TODAY.", True),
    ("change_case:english_capital", {}, "This is an English sentence about the weather today.", False),
    ("change_case:english_capital", {}, "DIES IST EIN DEUTSCHER SATZ ÜBER DAS WETTER, DAS HEUTE SEHR SCHÖN WAR.", False),
    # change_case:english_lowercase
    ("change_case:english_lowercase", {}, "this is an english sentence about the weather, which has been nice today.",
     True),
    ("change_case:english_lowercase", {}, "This is an English sentence about the weather today.", False),
    ("change_case:english_lowercase", {}, "esta es una frase en español sobre el tiempo que hace hoy en la ciudad.",
     False),
    # punctuation:no_comma
    ("punctuation:no_comma", {}, "No commas here at all.", True),
    ("punctuation:no_comma", {}, "Yes, there is one.", False),
    # startend:quotation
    ("startend:quotation", {}, '  "The whole answer is quoted."\n', True),
    ("startend:quotation", {}, 'The answer is "partly" quoted.', False),
    ("startend:quotation", {}, '"', False),
]


def _param(case: tuple[str, dict, str, bool]) -> object:
    instruction_id, _, _, expected = case
    return pytest.param(*case, id=f"{instruction_id}-{'follows' if expected else 'violates'}")


@pytest.mark.slow
@pytest.mark.parametrize(("instruction_id", "kwargs", "response", "expected"), [_param(c) for c in CASES])
def test_instruction(instruction_id, kwargs, response, expected):
    validate(instruction_id, kwargs)
    assert check(instruction_id, response, kwargs) is expected


def test_every_instruction_type_has_passing_and_failing_cases():
    assert len(INSTRUCTIONS) == 25
    for instruction_id in INSTRUCTIONS:
        outcomes = {expected for i, _, _, expected in CASES if i == instruction_id}
        assert outcomes == {True, False}, instruction_id


def test_blank_response_follows_nothing():
    for instruction_id in ("punctuation:no_comma", "keywords:forbidden_words", "startend:end_checker"):
        kwargs = {"forbidden_words": ["x"]} if "forbidden" in instruction_id else {}
        if instruction_id == "startend:end_checker":
            kwargs = {"end_phrase": ""}
        assert not check(instruction_id, "  \n", kwargs)
        assert not follows(instruction_id, "  \n", kwargs, loose=True)


# ------------------------------------------------------------------------------ loose
def test_loose_variants_are_the_papers_eight():
    variants = loose_variants("Sure:\n**Body** text\nBye")
    assert variants == [
        "Sure:\n**Body** text\nBye", "Sure:\nBody text\nBye",
        "**Body** text\nBye", "Sure:\n**Body** text", "**Body** text",
        "Body text\nBye", "Sure:\nBody text", "Body text",
    ]


@pytest.mark.parametrize(("instruction_id", "kwargs", "response"), [
    ("startend:quotation", {}, 'Sure, here it is:\n"The quoted answer."'),
    ("detectable_format:json_format", {}, 'Here is the JSON:\n{"a": 1}'),
    ("punctuation:no_comma", {}, "Sure, here you go:\nA response without commas."),
    ("startend:end_checker", {"end_phrase": "Is there anything else I can help with?"},
     "Done. Is there anything else I can help with?\n(Let me know.)"),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a haiku."}, "**Write a haiku.** Leaves fall."),
    ("detectable_format:title", {}, "Text before\n<<Title>>"),  # already strict; loose keeps it
])
def test_loose_forgives_a_first_or_last_line_and_asterisks(instruction_id, kwargs, response):
    if instruction_id != "detectable_format:title":
        assert not follows(instruction_id, response, kwargs)
    assert follows(instruction_id, response, kwargs, loose=True)


def test_loose_lowercase_after_an_intro_line():
    response = "Here is my answer:\nthis is an english sentence about the weather, which has been nice today."
    result = evaluate(response, ["change_case:english_lowercase"], [{}])
    assert result.strict == (False,) and result.loose == (True,)


def test_loose_does_not_forgive_everything():
    response = "Intro line\nHello, world, with commas\nOutro line"
    assert not follows("punctuation:no_comma", response, {}, loose=True)


# ------------------------------------------------------------------------------ evaluate
def test_evaluate_levels_and_none_kwargs():
    ids = ["punctuation:no_comma", "detectable_format:title", "length_constraints:number_words"]
    kwargs = [{"num_words": None, "relation": None}, {}, {"num_words": 3, "relation": "at least", "keyword": None}]
    result = evaluate("Sure:\n<<Title>>, four words right here\nfriend", ids, kwargs)
    assert result.strict == (False, True, True)
    assert result.loose == (False, True, True)
    assert not result.prompt_strict and result.inst_strict == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 argument sets"):
        evaluate("x", ids, [{}, {}])


def test_clean_kwargs_and_validate():
    assert clean_kwargs({"a": None, "b": 2}) == {"b": 2}
    assert clean_kwargs(None) == {} and clean_kwargs('{"x": 1, "y": null}') == {"x": 1}
    with pytest.raises(ValueError, match="unknown IFEval instruction"):
        validate("keywords:nope", {})
    with pytest.raises(ValueError, match="do not fit"):
        validate("punctuation:no_comma", {"keywords": ["a"]})
    with pytest.raises(ValueError, match="do not fit"):
        validate("length_constraints:number_words", {"num_words": 3})
    with pytest.raises(ValueError, match="relation must be"):
        validate("length_constraints:number_words", {"num_words": 3, "relation": "at most"})


# ------------------------------------------------------------------------------ text measures
def test_count_words_counts_word_runs():
    assert count_words("It's a well-known fact: 3.5 apples!") == 9  # It s a well known fact 3 5 apples
    assert count_words("") == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
    ("Mr. Smith met Dr. Jones in Washington D.C. They talked.",
     ["Mr. Smith met Dr. Jones in Washington D.C.", "They talked."]),
    ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
    ("Use tools e.g. hammers. J. K. Rowling wrote books.", ["Use tools e.g. hammers.", "J. K. Rowling wrote books."]),
    ("Wait... what? Yes.", ["Wait... what?", "Yes."]),
    ("1. First item\n2. Second item", ["1.", "First item\n2.", "Second item"]),
    ("a list\n* without\n* full stops", ["a list\n* without\n* full stops"]),
    ("Pi is 3.14 roughly. Ok", ["Pi is 3.14 roughly.", "Ok"]),
    ("  ", []),
])
def test_sentence_splitting(text, expected):
    assert split_sentences(text) == expected
    assert count_sentences(text) == len(expected)


def test_word_tokenize_like_treebank():
    assert word_tokenize("DON'T do THAT, NASA's (A.I.) cannot \"QUOTE\" well-KNOWN 1,000") == [
        "DO", "N'T", "do", "THAT", ",", "NASA", "'s", "(", "A.I.", ")", "can", "not", '"', "QUOTE", '"',
        "well-KNOWN", "1,000",
    ]
    assert sum(w.isupper() for w in word_tokenize("I think USA, UK and EU agree.")) == 4


# ------------------------------------------------------------------------------ benchmark
def _judge(sample, text, finish_reason="stop"):
    from assay.eval.benchmarks import get_benchmark

    return asyncio.run(get_benchmark("ifeval").judge(sample, text, finish_reason=finish_reason))


def _sample(ids, kwargs):
    from assay.eval.benchmarks import get_benchmark

    row = {"key": 7, "prompt": "Do it.", "instruction_id_list": ids, "kwargs": kwargs}
    return get_benchmark("ifeval").to_sample(row, 0, "default", None, [])


def test_benchmark_declaration():
    from assay.eval.benchmarks import all_benchmarks

    benchmark = all_benchmarks()["ifeval"]
    info = benchmark.describe()
    assert info["huggingface"] == "google/IFEval" and info["modelscope"] == "opencompass/ifeval"
    assert benchmark.data.split == "train" and info["subsets"] == ["default"]
    assert info["metrics"] == ["AveragePass@1", "prompt_level_strict", "inst_level_strict", "prompt_level_loose",
                               "inst_level_loose"]


def test_to_sample_sends_the_prompt_as_is_and_cleans_kwargs():
    sample = _sample(["punctuation:no_comma", "detectable_format:number_highlighted_sections"],
                     [{"num_highlights": None}, {"num_highlights": 2, "relation": None}])
    assert sample.id == "7" and sample.messages == [{"role": "user", "content": "Do it."}]
    assert sample.meta == {"key": 7, "instruction_id_list": ["punctuation:no_comma",
                                                             "detectable_format:number_highlighted_sections"],
                           "kwargs": [{}, {"num_highlights": 2}]}
    from assay.errors import DatasetError

    with pytest.raises(DatasetError, match="row 7: unknown IFEval instruction"):
        _sample(["made:up"], [{}])
    with pytest.raises(DatasetError, match="1 instructions but 2 argument sets"):
        _sample(["punctuation:no_comma"], [{}, {}])


def test_judge_gives_the_four_scores():
    sample = _sample(["punctuation:no_comma", "startend:quotation", "detectable_format:title"], [{}, {}, {}])
    verdict = _judge(sample, 'Here you go, friend:\n"<<Title>> quoted"')
    assert verdict.verdict == "wrong" and verdict.score == 0.0 and verdict.method == "ifeval"
    assert verdict.scores == {
        "prompt_level_strict": 0.0, "inst_level_strict": pytest.approx(1 / 3), "inst_level_strict__weight": 3.0,
        "prompt_level_loose": 1.0, "inst_level_loose": 1.0, "inst_level_loose__weight": 3.0,
    }
    assert verdict.extracted is not None and verdict.extracted.startswith("1/3 strict, 3/3 loose")
    good = _judge(sample, '"<<Title>> quoted"')
    assert (good.verdict, good.score, good.extracted) == ("correct", 1.0, "3/3 strict, 3/3 loose")
    assert good.scores["prompt_level_strict"] == good.scores["prompt_level_loose"] == 1.0
    truncated = _judge(sample, "", finish_reason="length")
    assert truncated.verdict == "truncated" and truncated.score == 0.0
    assert truncated.scores["inst_level_loose"] == 0.0
    assert _judge(sample, "").verdict == "wrong"


def test_metrics_micro_average_instructions():
    from assay.eval.benchmarks import get_benchmark
    from assay.eval.metrics import score_group
    from assay.eval.records import SampleRecord

    one = _sample(["punctuation:no_comma"], [{}])
    three = _sample(["punctuation:no_comma", "startend:quotation", "detectable_format:title"], [{}, {}, {}])
    records = []
    for i, (sample, text) in enumerate([(one, "a, b"), (three, '"<<T>> no commas"')]):
        verdict = _judge(sample, text)
        records.append(SampleRecord(key=f"ifeval/default/{i}/0", benchmark="ifeval", subset="default",
                                    sample_id=str(i), repeat=0, messages=[], gold="", verdict=verdict.verdict, score=verdict.score,
                                    scores=dict(verdict.scores)))
    report = score_group(records, 1, get_benchmark("ifeval").metrics[1:])
    assert report["AveragePass@1"] == report["prompt_level_strict"] == 0.5
    assert report["inst_level_strict"] == pytest.approx(3 / 4)  # 0 of 1 and 3 of 3: micro, not (0 + 1) / 2


def test_loads_all_541_rows_locally():
    from assay import TaskConfig
    from assay.eval import load_samples
    from tests.conftest import SHARED

    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["ifeval"], dataset_hub="local",
                        dataset_dir=str(SHARED / "datasets"))
    samples = load_samples(config)["ifeval"]
    assert len(samples) == 541 and len({s.id for s in samples}) == 541
    rows = [json.loads(line) for line in (SHARED / "datasets" / "ifeval" / "input_data.jsonl").open()]
    assert [s.id for s in samples] == [str(r["key"]) for r in rows]
    assert all(s.messages == [{"role": "user", "content": r["prompt"]}] for s, r in zip(samples, rows))
    assert all(s.subset == "default" and s.gold for s in samples)
    assert {i for s in samples for i in s.meta["instruction_id_list"]} == set(INSTRUCTIONS)
    assert samples[0].meta["kwargs"] == [{}, {"num_highlights": 3}, {"relation": "at least", "num_words": 300}]


def test_loads_a_hub_style_copy_with_none_arguments(tmp_path):
    from assay import TaskConfig
    from assay.eval import load_samples

    folder = tmp_path / "ifeval"
    folder.mkdir()
    row = {"key": 1, "prompt": "Say hi without commas.", "instruction_id_list": ["punctuation:no_comma"],
           "kwargs": [{"num_words": None, "relation": None, "keywords": None}]}
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["ifeval"], dataset_hub="local",
                        dataset_dir=str(tmp_path))
    (sample,) = load_samples(config)["ifeval"]
    assert sample.meta["kwargs"] == [{}] and sample.id == "1"
