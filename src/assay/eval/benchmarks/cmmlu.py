"""CMMLU: 11,528 four-option Chinese questions in 67 subjects, 5 categories (one of them China-specific).

The hub's rows (``haonan-li/cmmlu``, one config per subject) are the authors' CSV columns
``Question``, ``A``-``D`` and ``Answer``; ``test`` is scored and ``dev`` (five per subject) holds
the few-shot examples. Answers are read in Chinese as well, as C-Eval's are.
"""

from __future__ import annotations

import re

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.benchmarks.ceval import SubjectPrompt, chinese_choice_scorer
from assay.eval.prompts import LETTERS, lettered_example

# subject: (Chinese name, category), as the CMMLU authors name and group them.
SUBJECTS: dict[str, tuple[str, str]] = {
    "agronomy": ("农学", "Other"), "anatomy": ("解剖学", "STEM"), "ancient_chinese": ("古汉语", "China specific"),
    "arts": ("艺术学", "Humanities"), "astronomy": ("天文学", "STEM"), "business_ethics": ("商业伦理", "Social Science"),
    "chinese_civil_service_exam": ("中国公务员考试", "China specific"),
    "chinese_driving_rule": ("中国驾驶规则", "China specific"),
    "chinese_food_culture": ("中国饮食文化", "China specific"),
    "chinese_foreign_policy": ("中国外交政策", "China specific"), "chinese_history": ("中国历史", "China specific"),
    "chinese_literature": ("中国文学", "China specific"),
    "chinese_teacher_qualification": ("中国教师资格", "China specific"),
    "clinical_knowledge": ("临床知识", "Other"), "college_actuarial_science": ("大学精算学", "STEM"),
    "college_education": ("大学教育学", "Social Science"), "college_engineering_hydrology": ("大学工程水文学", "STEM"),
    "college_law": ("大学法律", "Humanities"), "college_mathematics": ("大学数学", "STEM"),
    "college_medical_statistics": ("大学医学统计", "STEM"), "college_medicine": ("大学医学", "Other"),
    "computer_science": ("计算机科学", "STEM"), "computer_security": ("计算机安全", "Other"),
    "conceptual_physics": ("概念物理学", "STEM"),
    "construction_project_management": ("建设工程管理", "China specific"),
    "economics": ("经济学", "Social Science"), "education": ("教育学", "Social Science"),
    "electrical_engineering": ("电气工程", "STEM"), "elementary_chinese": ("小学语文", "China specific"),
    "elementary_commonsense": ("小学常识", "China specific"),
    "elementary_information_and_technology": ("小学信息技术", "Other"),
    "elementary_mathematics": ("初等数学", "STEM"), "ethnology": ("民族学", "China specific"),
    "food_science": ("食品科学", "Other"), "genetics": ("遗传学", "STEM"), "global_facts": ("全球事实", "Humanities"),
    "high_school_biology": ("高中生物", "STEM"), "high_school_chemistry": ("高中化学", "STEM"),
    "high_school_geography": ("高中地理", "Social Science"), "high_school_mathematics": ("高中数学", "STEM"),
    "high_school_physics": ("高中物理学", "STEM"), "high_school_politics": ("高中政治", "China specific"),
    "human_sexuality": ("人类性行为", "Other"), "international_law": ("国际法学", "Humanities"),
    "journalism": ("新闻学", "Social Science"), "jurisprudence": ("法理学", "Humanities"),
    "legal_and_moral_basis": ("法律与道德基础", "Other"), "logical": ("逻辑学", "Humanities"),
    "machine_learning": ("机器学习", "STEM"), "management": ("管理学", "Social Science"),
    "marketing": ("市场营销", "Social Science"), "marxist_theory": ("马克思主义理论", "Humanities"),
    "modern_chinese": ("现代汉语", "China specific"), "nutrition": ("营养学", "Other"),
    "philosophy": ("哲学", "Humanities"), "professional_accounting": ("专业会计", "Social Science"),
    "professional_law": ("专业法学", "Humanities"), "professional_medicine": ("专业医学", "Other"),
    "professional_psychology": ("专业心理学", "Social Science"), "public_relations": ("公共关系", "Social Science"),
    "security_study": ("安全研究", "Social Science"), "sociology": ("社会学", "Social Science"),
    "sports_science": ("体育学", "Other"), "traditional_chinese_medicine": ("中医中药", "China specific"),
    "virology": ("病毒学", "STEM"), "world_history": ("世界历史", "Humanities"),
    "world_religions": ("世界宗教", "Humanities"),
}

_LABEL = re.compile(r"^\s*\([A-D]\)\s*")

DEFAULT_TEMPLATE = (
    "以下是关于{subject_zh}的单项选择题。请逐步思考，回答的最后一行应该是这样的格式：“答案：[LETTER]”（不带引号），"
    "其中 [LETTER] 是 {letters} 中的一个字母。\n\n题目：{question}\n{options}"
)


def options(row: Row) -> tuple[list[str], int]:
    if "choices" in row:  # a re-exported layout: choices "(A) 农业生产工具", answer "(B) 土地"
        choices = [_LABEL.sub("", str(c), count=1).strip() for c in row["choices"]]
        answer = str(row["answer"]).strip().lstrip("(")[:1]
    else:  # the hub's (the authors' CSV columns)
        choices = [str(row[letter]) for letter in "ABCD"]
        answer = str(row["Answer"]).strip().upper()
    if len(answer) != 1 or answer not in LETTERS[: len(choices)]:
        raise KeyError(f"Answer (not one of A-D: {answer!r})")
    return choices, LETTERS.index(answer)


def question(row: Row) -> str:
    return str(row["Question"] if "Question" in row else row["question"]).strip()


official_example = lettered_example(options, question, question_label="题目：", answer_label="答案是：")
"""The CMMLU authors' example: ``题目：…``, ``A. …`` options, ``答案是：X``."""


BENCHMARK = Benchmark(
    name="cmmlu",
    title="CMMLU",
    description="CMMLU: 67 subjects of 4-option Chinese questions (Li et al.), in 5 categories incl. China-specific",
    data=DataSource(
        hf_id="haonan-li/cmmlu", ms_id="modelscope/cmmlu", subsets=tuple(SUBJECTS), subsets_are_configs=True,
        split="test", few_shot_split="dev", categories={s: c for s, (_, c) in SUBJECTS.items()},
        local_files=("{split}/{subset}.csv", "{subset}/{split}-*.parquet", "{subset}/{split}/*.parquet",
                     "{subset}/{split}.jsonl", "{subset}_{split}.csv"),
        subsets_doc="67 subjects", files_doc="`cmmlu/test/<subject>.csv` (the authors' CSVs) or "
                                             "`cmmlu/<subject>/test-*.parquet`",
    ),
    prompt=SubjectPrompt(
        options=options, question=question, template=DEFAULT_TEMPLATE, option_format="{letter}. {option}",
        few_shot_example=official_example,
        # The CMMLU authors' prompt: header, examples "题目：… 答案是：X", the question ending "答案是：".
        official_template="以下是关于{subject_zh}的单项选择题，请直接给出正确答案的选项。\n\n{examples}题目：{question}\n{options}\n答案是：",
        official_option_format="{letter}. {option}", official_few_shot_example=official_example,
        subject_names={s: name for s, (name, _) in SUBJECTS.items()},
    ),
    scorer=chinese_choice_scorer(),
    judged_by="the chosen letter, read in Chinese (`答案：B`, `答案是B`, `选B`) or English; Cat.0 is the subject's "
              "category (STEM, Humanities, Social Science, China specific, Other)",
)
