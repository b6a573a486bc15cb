"""C-Eval: 52 subjects of four-option Chinese exam questions in 4 categories, scored on the val split.

The test split's answers are not public (its scores come from the authors' server), so assay
scores the ``val`` split as EvalScope does; ``dev`` (five rows per subject, with explanations)
holds the few-shot examples. Answers are read in Chinese as well (``答案：B``, ``答案是 B``,
``选B``): :func:`chinese_choice_scorer`, which CMMLU uses too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample
from assay.eval.prompts import LETTERS, ChoicePrompt, lettered_example
from assay.eval.scorers import ChoiceScorer

# subject: (Chinese name, category), as the C-Eval authors group them (their subject_mapping.json).
SUBJECTS: dict[str, tuple[str, str]] = {
    "computer_network": ("计算机网络", "STEM"), "operating_system": ("操作系统", "STEM"),
    "computer_architecture": ("计算机组成", "STEM"), "college_programming": ("大学编程", "STEM"),
    "college_physics": ("大学物理", "STEM"), "college_chemistry": ("大学化学", "STEM"),
    "advanced_mathematics": ("高等数学", "STEM"), "probability_and_statistics": ("概率统计", "STEM"),
    "discrete_mathematics": ("离散数学", "STEM"), "electrical_engineer": ("注册电气工程师", "STEM"),
    "metrology_engineer": ("注册计量师", "STEM"), "high_school_mathematics": ("高中数学", "STEM"),
    "high_school_physics": ("高中物理", "STEM"), "high_school_chemistry": ("高中化学", "STEM"),
    "high_school_biology": ("高中生物", "STEM"), "middle_school_mathematics": ("初中数学", "STEM"),
    "middle_school_biology": ("初中生物", "STEM"), "middle_school_physics": ("初中物理", "STEM"),
    "middle_school_chemistry": ("初中化学", "STEM"), "veterinary_medicine": ("兽医学", "STEM"),
    "college_economics": ("大学经济学", "Social Science"), "business_administration": ("工商管理", "Social Science"),
    "marxism": ("马克思主义基本原理", "Social Science"),
    "mao_zedong_thought": ("毛泽东思想和中国特色社会主义理论体系概论", "Social Science"),
    "education_science": ("教育学", "Social Science"), "teacher_qualification": ("教师资格", "Social Science"),
    "high_school_politics": ("高中政治", "Social Science"), "high_school_geography": ("高中地理", "Social Science"),
    "middle_school_politics": ("初中政治", "Social Science"),
    "middle_school_geography": ("初中地理", "Social Science"),
    "modern_chinese_history": ("近代史纲要", "Humanities"),
    "ideological_and_moral_cultivation": ("思想道德修养与法律基础", "Humanities"),
    "logic": ("逻辑学", "Humanities"), "law": ("法学", "Humanities"),
    "chinese_language_and_literature": ("中国语言文学", "Humanities"), "art_studies": ("艺术学", "Humanities"),
    "professional_tour_guide": ("导游资格", "Humanities"), "legal_professional": ("法律职业资格", "Humanities"),
    "high_school_chinese": ("高中语文", "Humanities"), "high_school_history": ("高中历史", "Humanities"),
    "middle_school_history": ("初中历史", "Humanities"),
    "civil_servant": ("公务员", "Other"), "sports_science": ("体育学", "Other"), "plant_protection": ("植物保护", "Other"),
    "basic_medicine": ("基础医学", "Other"), "clinical_medicine": ("临床医学", "Other"),
    "urban_and_rural_planner": ("注册城乡规划师", "Other"), "accountant": ("注册会计师", "Other"),
    "fire_engineer": ("注册消防工程师", "Other"),
    "environmental_impact_assessment_engineer": ("环境影响评价工程师", "Other"),
    "tax_accountant": ("税务师", "Other"), "physician": ("医师资格", "Other"),
}

CHINESE_CHOICE_TEMPLATE = (
    "以下是中国关于{subject_zh}考试的单项选择题，请选出其中的正确答案。请逐步思考，回答的最后一行应该是这样的格式："
    "“答案：[LETTER]”（不带引号），其中 [LETTER] 是 {letters} 中的一个字母。\n\n{question}\n{options}"
)
"""assay's default Chinese prompt: the C-Eval header, then a stated final ``答案：X`` line asked for."""


# ------------------------------------------------------------------ reading answers written in Chinese
_WRAPPED = r"[ \t]*[（(【\[]?[ \t]*(?-i:([A-Z]))[ \t]*[)）】\]]?(?![A-Za-z0-9])"
_STATED_ZH = [
    # "答案：B", "答案是 B", "正确答案为（C）", "答案应该是D", "答案选B".
    ("zh-answer", re.compile(r"答案(?:应该|应当|应)?(?:是|为|选|選)?[ \t]*[:：]?" + _WRAPPED)),
    # "选B", "故选 C", "应选择D" (never "选项B", which names an option in passing).
    ("zh-choose", re.compile(r"(?:选择|選擇|选|選)(?![项項])[ \t]*[:：]?" + _WRAPPED)),
    # "正确选项是B", "正确的选项为 C".
    ("zh-option-is", re.compile(r"(?:正确|最佳|正確)的?选项(?:是|为|為)[ \t]*[:：]?" + _WRAPPED)),
    # "B是正确答案", "C项是正确的选项".
    ("zh-is-the-answer", re.compile(r"(?<![A-Za-z])(?-i:([A-Z]))[ \t]*项?[ \t]*(?:是|为)(?:正确|正確)的?(?:答案|选项)")),
]
_NEGATED = re.compile(r"(?:不|非)$")
_FULL_WIDTH = str.maketrans({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})  # "Ｂ" -> "B"


def extract_chinese_choice(text: str, letters: str, options: list[str] | None = None) -> tuple[str | None, str]:
    """(letter, method): the last stated choice, in Chinese (``答案：B``, ``选B``) or in English
    (:func:`~assay.eval.scoring.choice.extract_choice`, which also reads a last line that is only
    the letter). A negated statement (``答案不是B``, ``不选B``) is no statement."""
    from assay.eval.scoring.choice import extract_choice, look_through

    plain = look_through(text.translate(_FULL_WIDTH))
    stated: list[tuple[int, int, str, str]] = []  # (position of the letter, end of the statement, letter, method)
    for method, pattern in _STATED_ZH:
        for match in pattern.finditer(plain):
            if not _NEGATED.search(plain[: match.start()]):
                stated.append((match.start(1), match.end(), match.group(1), method))
    if not stated:
        return extract_choice(plain, letters, options)
    _, end, letter, method = max(stated, key=lambda s: s[0])
    later, how = extract_choice(plain[end:], letters, options)  # "答案：A … The answer is (C)": C came last
    if later is not None:
        return later, how
    return (letter, method) if letter in letters else (None, f"out-of-range:{letter}")


def chinese_choice_scorer() -> ChoiceScorer:
    """The stated final choice, read in Chinese or English, against the gold letter (C-Eval, CMMLU)."""
    return ChoiceScorer(extract=extract_chinese_choice,
                        judged_by="the chosen letter, read in Chinese (`答案：B`, `答案是B`, `选B`) or English")


# ------------------------------------------------------------------ prompts that name the subject in Chinese
@dataclass(frozen=True)
class SubjectPrompt(ChoicePrompt):
    """A :class:`ChoicePrompt` whose templates may say ``{subject_zh}``: the subject's Chinese name."""

    subject_names: Mapping[str, str] = field(default_factory=dict)

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        official = style == "official" and self.official_template is not None
        chosen = template or (self.official_template if official and self.official_template else self.template)
        named = chosen.replace("{subject_zh}", self.subject_names.get(subset, subset.replace("_", " ")))
        return super().to_sample(row, index, subset, named, few_shot, style)


def options(row: Row) -> tuple[list[str], int]:
    return [str(row[letter]) for letter in "ABCD"], LETTERS.index(str(row["answer"]).strip().upper())


def question(row: Row) -> str:
    return str(row["question"]).strip()


official_example = lettered_example(options, question, answer_label="答案：")
"""The C-Eval authors' answer-only example: the question, ``A. …`` options, ``答案：X``."""


def sample_id(row: Row, index: int, subset: str) -> str:
    return f"{subset}/{row['id']}" if row.get("id") not in (None, "") else f"{subset}/{index}"


BENCHMARK = Benchmark(
    name="ceval",
    title="C-Eval",
    description="C-Eval: 52 subjects of 4-option Chinese exam questions (Huang et al.), in 4 categories; val split",
    data=DataSource(
        hf_id="ceval/ceval-exam", ms_id="modelscope/ceval-exam", subsets=tuple(SUBJECTS), subsets_are_configs=True,
        split="val", few_shot_split="dev", categories={s: c for s, (_, c) in SUBJECTS.items()},
        local_files=("{subset}/{split}-*.parquet", "{subset}/{split}.jsonl", "{split}/{subset}_{split}.csv",
                     "{subset}_{split}.csv", "data/{subset}/{split}-*.parquet"),
        subsets_doc="52 subjects", files_doc="`ceval/<subject>/val-*.parquet` or `ceval/val/<subject>_val.csv`",
    ),
    prompt=SubjectPrompt(
        options=options, question=question, sample_id=sample_id, template=CHINESE_CHOICE_TEMPLATE,
        option_format="{letter}. {option}", few_shot_example=official_example,
        # The C-Eval authors' answer-only prompt: header, examples ending "答案：X", the question ending "答案：".
        official_template="以下是中国关于{subject_zh}考试的单项选择题，请选出其中的正确答案。\n\n{examples}{question}\n{options}\n答案：",
        official_option_format="{letter}. {option}", official_few_shot_example=official_example,
        subject_names={s: name for s, (name, _) in SUBJECTS.items()},
    ),
    scorer=chinese_choice_scorer(),
    judged_by="the chosen letter, read in Chinese (`答案：B`, `答案是B`, `选B`) or English; scored on the val split "
              "(test answers are not public); Cat.0 is the subject's category",
)
