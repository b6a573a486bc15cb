"""IFEval acceptance: on the first 20 prompts of the shared copy, responses written to follow
and to violate the instructions are judged correctly (per instruction, strict and loose)."""

from __future__ import annotations

import asyncio
import json

import pytest

from assay.eval.ifeval import evaluate
from tests.conftest import SHARED

DATA = SHARED / "datasets" / "ifeval" / "input_data.jsonl"

_SENTENCES = (
    "The morning light fell softly across the old stone walls of the city.",
    "People gathered in the square to share stories about the long journey.",
    "Every traveler carried a small bag filled with bread and dried fruit.",
    "The river moved slowly past the fields where farmers worked all day.",
    "Children laughed as they chased each other between the market stalls.",
)


def prose(words: int) -> str:
    """Plain English sentences (no commas, no capitals beyond sentence starts) of at least ``words`` words."""
    out: list[str] = []
    count = 0
    while count < words:
        sentence = _SENTENCES[len(out) % len(_SENTENCES)]
        out.append(sentence)
        count += len(sentence.split())
    return " ".join(out)


def lower_prose(words: int) -> str:
    return prose(words).lower()


REPEAT_1012 = ("Write an email to my boss telling him that I am quitting. The email must contain a title wrapped in "
               "double angular brackets, i.e. <<title>>.")
KANNADA = ("ಹ್ಯಾಂಬರ್ಗರ್‌ಗಳು ಸ್ಯಾಂಡ್‌ವಿಚ್‌ಗಳೇ ಎಂಬ ಪ್ರಶ್ನೆ ತುಂಬಾ ಆಸಕ್ತಿದಾಯಕವಾಗಿದೆ. ಕೆಲವರು ಹೌದು ಎನ್ನುತ್ತಾರೆ ಏಕೆಂದರೆ "
           "ಅವುಗಳಲ್ಲಿ ಎರಡು ಬ್ರೆಡ್ ತುಂಡುಗಳ ನಡುವೆ ಮಾಂಸ ಇರುತ್ತದೆ. ಇತರರು ಇಲ್ಲ ಎಂದು ಹೇಳುತ್ತಾರೆ.")

# key -> [(response, followed per instruction, in the row's order)]; the first response follows everything.
CASES: dict[int, list[tuple[str, list[bool]]]] = {
    1000: [  # no_comma, >= 3 highlighted sections, >= 300 words
        (f"*Early Life*\n{prose(110)}\n\n*Rise to Power*\n{prose(110)}\n\n*Legacy*\n{prose(110)}", [True] * 3),
        ("Raymond III, Count of Tripoli, was a crusader lord of the twelfth century.", [False] * 3),
    ],
    1001: [  # no_comma
        ("Day the first: thou shalt wander through Tokyo and behold its towers.\n"
         "Day the second: to Kyoto we go where temples gleam in morning light.", [True]),
        ("Day one, Tokyo. Day two, Kyoto.", [False]),
    ],
    1005: [  # >= 12 placeholders
        ("[Full Name]\n[Street Address], [City], [Postal Code]\n[Phone] | [Email]\n\nObjective: a first job at "
         "[Company].\nEducation: [High School], class of [Year], GPA [GPA].\nSkills: [Skill 1], [Skill 2].", [True]),
        ("[Full Name]\n[Address]\nObjective: to find my first job.", [False]),
    ],
    1012: [  # repeat_prompt, title
        (f"{REPEAT_1012}\n<<Resignation Notice>>\nDear boss\n\nI am writing to tell you that I am quitting.", [True, True]),
        ("Sure! Here is your email.\nDear boss\n\nI am writing to tell you that I am quitting.", [False, False]),
    ],
    1019: [  # english_lowercase
        ("what are the two young boys with toy guns and horns going to do at the parade this afternoon?", [True]),
        ("What Are The Two Young Boys With Toy Guns And Horns Going To Do At The Parade?", [False]),
    ],
    102: [  # exactly 3 bullet points
        ("Anna: Are you ready for tonight?\nBen: Almost. I just need my shoes.\n* Anna wears a ball gown.\n"
         "* Ben wears grey sweats.\n* They arrive at the event together.", [True]),
        ("Anna and Ben talk about the evening event.\n* Anna wears a ball gown.", [False]),
    ],
    1021: [  # english_capital, >= 2 sections marked "PARAGRAPH X"
        ("PARAGRAPH 1\nTHE SENTENCE CLAIMS THAT A BAD LAW SHOULD NOT BE FOLLOWED, WHICH IS A BOLD AND RISKY IDEA.\n\n"
         "PARAGRAPH 2\nHOWEVER, IF EVERYONE DECIDED WHICH LAWS ARE BAD, SOCIETY WOULD QUICKLY FALL INTO CHAOS.",
         [True, True]),
        ("this critique has only one part and it is written in lowercase letters about the law.", [False, False]),
    ],
    1040: [  # capital words < 10, capital words >= 1, wrapped in double quotes
        ('"Matthias Algiers\nSkills: LEADERSHIP and TEAMWORK in project management.\n'
         'Experience: five years as a software engineer in Berlin."', [True, True, True]),
        ("MATTHIAS ALGIERS HAS STRONG LEADERSHIP SKILLS AND GREAT TEAMWORK ABILITY IN EVERY PROJECT.",
         [False, True, False]),
        ("Matthias Algiers is a skilled software engineer from Berlin.", [True, False, False]),
    ],
    1051: [  # english_lowercase
        ("dear sam\n\ni hope you are doing well. please remember to go and vote next tuesday because every voice "
         "matters.\n\nyour friend\nalex", [True]),
        ("Dear Sam, Please remember to go and vote next Tuesday because every voice matters. Your friend, Alex.",
         [False]),
    ],
    1069: [  # keywords correlated + experiencing, >= 500 words, no comma
        ("Dear participants\n\nWe are experiencing growth and our results are correlated with your effort. "
         + prose(500) + "\n\nBest regards\nThe team", [True, True, True]),
        ("Dear all, please join us for a meeting on Friday.", [False, False, False]),
    ],
    1072: [  # >= 400 words
        (prose(420), [True]),
        ("Hammocks are great for sleeping because they rock you gently.", [False]),
    ],
    1075: [  # JSON
        ('```json\n{"product": "ComfyDiaper", "tagline": "Softness babies love", "features": ["soft", "dry"]}\n```',
         [True]),
        ("Introducing ComfyDiaper: the softest diaper your baby will ever wear!", [False]),
    ],
    1082: [  # exactly 2 paragraphs separated by ***
        ("Tom woke up and saw a health bar floating above his head.\n***\n"
         "He realised he was inside a video game and went looking for the final boss.", [True]),
        ("Tom woke up.\n\nHe saw a health bar.\n\nHe was inside a video game.", [False]),
    ],
    1087: [  # english_lowercase
        ("the social network is a sharp and gripping film about the founding of facebook. the script is excellent "
         "and the acting is superb throughout.", [True]),
        ("The Social Network is a sharp and gripping film about the founding of Facebook.", [False]),
    ],
    1092: [  # < 300 words
        ("Japan was wonderful. We ate sushi in Tokyo and walked among the temples of Kyoto.", [True]),
        (prose(320), [False]),
    ],
    1094: [  # JSON only
        ('[{"name": "Marge Simpson"}, {"name": "Molly Weasley"}, {"name": "Lorelai Gilmore"}, '
         '{"name": "Morticia Addams"}, {"name": "Lois Griffin"}]', [True]),
        ("Here are five famous moms:\n1. Marge Simpson\n2. Molly Weasley\n3. Lorelai Gilmore", [False]),
    ],
    1098: [  # two responses separated by ******
        ("Many people call God Allah.\n******\nMany people call God Jehovah.", [True]),
        ("People call God many names such as Allah and Jehovah.", [False]),
    ],
    1107: [  # no_comma, two responses
        ("Why did the rocket break up with the moon? It needed more space.\n******\n"
         "What is a rocket's favourite meal? A launch box.", [True, True]),
        ("Joke one: rockets are fun, right? They go up, and they come down.", [False, False]),
    ],
    1108: [  # Kannada
        (KANNADA, [True]),
        ("Hamburgers are usually considered sandwiches because the meat sits between two pieces of bread.", [False]),
    ],
    1122: [  # english_lowercase, >= 4 "#"
        ("our new issue is out tonight and it is the best one we have made all year so go grab a copy now "
         "#playboy #newissue #weekend #style", [True, True]),
        ("Our New Issue Is Out Tonight! #playboy", [False, False]),
    ],
}


def _rows() -> list[dict]:
    with DATA.open() as f:
        return [json.loads(line) for _, line in zip(range(20), f)]


def test_cases_cover_the_first_20_prompts():
    assert [row["key"] for row in _rows()] == list(CASES)
    for row in _rows():
        for _, expected in CASES[row["key"]]:
            assert len(expected) == len(row["instruction_id_list"])
        assert CASES[row["key"]][0][1] == [True] * len(row["instruction_id_list"])
        assert any(not all(expected) for _, expected in CASES[row["key"]][1:])


@pytest.mark.parametrize("row", _rows(), ids=lambda row: str(row["key"]))
def test_first_20_prompts_are_judged_correctly(row):
    for response, expected in CASES[row["key"]]:
        result = evaluate(response, row["instruction_id_list"], row["kwargs"])
        assert list(result.strict) == expected, (response[:80], row["instruction_id_list"])
        assert list(result.loose) == expected, (response[:80], row["instruction_id_list"])


def test_first_20_through_the_benchmark_judge():
    from assay.eval.benchmarks import get_benchmark

    benchmark = get_benchmark("ifeval")
    for index, row in enumerate(_rows()):
        sample = benchmark.to_sample(row, index, "default", None, [])
        for response, expected in CASES[row["key"]]:
            verdict = asyncio.run(benchmark.judge(sample, response, finish_reason="stop"))
            assert verdict.verdict == ("correct" if all(expected) else "wrong")
            assert verdict.scores["inst_level_strict"] == pytest.approx(sum(expected) / len(expected))
            assert verdict.scores["inst_level_strict__weight"] == len(expected)
