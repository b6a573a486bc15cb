"""SuperGPQA: 26,529 graduate-level questions with up to 10 options in 285 subfields (M-A-P, 2025).

The hub ships one ``train`` split. A row's subset is its ``field`` (72 of them); its group (the
report's Cat.0) is the field's ``discipline`` (13). The key is ``answer_letter``; the options are
shown lettered as the hub lists them (``options``, four to ten of them).
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, row_field
from assay.eval.prompts import LETTERS, ChoicePrompt, id_field
from assay.eval.scorers import ChoiceScorer

# field: discipline, as the hub's rows pair them.
DISCIPLINE = {
    "Electronic Science and Technology": "Engineering", "Philosophy": "Philosophy",
    "Traditional Chinese Medicine": "Medicine", "Applied Economics": "Economics", "Mathematics": "Science",
    "Physics": "Science", "Clinical Medicine": "Medicine", "Computer Science and Technology": "Engineering",
    "Information and Communication Engineering": "Engineering", "Control Science and Engineering": "Engineering",
    "Theoretical Economics": "Economics", "Law": "Law", "History": "History", "Basic Medicine": "Medicine",
    "Education": "Education", "Materials Science and Engineering": "Engineering",
    "Electrical Engineering": "Engineering", "Systems Science": "Science",
    "Power Engineering and Engineering Thermophysics": "Engineering", "Military Science": "Military Science",
    "Biology": "Science", "Business Administration": "Management", "Language and Literature": "Literature and Arts",
    "Public Health and Preventive Medicine": "Medicine", "Political Science": "Law", "Chemistry": "Science",
    "Hydraulic Engineering": "Engineering", "Chemical Engineering and Technology": "Engineering",
    "Pharmacy": "Medicine", "Geography": "Science", "Art Studies": "Literature and Arts",
    "Architecture": "Engineering", "Forestry Engineering": "Engineering", "Public Administration": "Management",
    "Oceanography": "Science", "Journalism and Communication": "Literature and Arts",
    "Nuclear Science and Technology": "Engineering", "Weapon Science and Technology": "Engineering",
    "Naval Architecture and Ocean Engineering": "Engineering",
    "Environmental Science and Engineering": "Engineering", "Transportation Engineering": "Engineering",
    "Geology": "Science", "Physical Oceanography": "Science", "Musicology": "Literature and Arts",
    "Stomatology": "Medicine", "Aquaculture": "Agronomy", "Mechanical Engineering": "Engineering",
    "Aeronautical and Astronautical Science and Technology": "Engineering", "Civil Engineering": "Engineering",
    "Mechanics": "Engineering", "Petroleum and Natural Gas Engineering": "Engineering", "Sociology": "Sociology",
    "Food Science and Engineering": "Engineering", "Agricultural Engineering": "Engineering",
    "Surveying and Mapping Science and Technology": "Engineering", "Metallurgical Engineering": "Engineering",
    "Library, Information and Archival Management": "Management", "Mining Engineering": "Engineering",
    "Astronomy": "Science", "Geological Resources and Geological Engineering": "Engineering",
    "Atmospheric Science": "Science", "Optical Engineering": "Engineering", "Animal Husbandry": "Agronomy",
    "Geophysics": "Science", "Crop Science": "Agronomy", "Management Science and Engineering": "Management",
    "Psychology": "Education", "Forestry": "Agronomy", "Textile Science and Engineering": "Engineering",
    "Veterinary Medicine": "Agronomy", "Instrument Science and Technology": "Engineering",
    "Physical Education": "Education",
}


def options(row: Row) -> tuple[list[str], int]:
    choices = [str(option) for option in row["options"]]
    letter = str(row["answer_letter"]).strip().upper()
    if len(letter) != 1 or letter not in LETTERS[: len(choices)]:
        raise KeyError(f"answer_letter (not one of the {len(choices)} options: {letter!r})")
    return choices, LETTERS.index(letter)


BENCHMARK = Benchmark(
    name="supergpqa",
    title="SuperGPQA",
    description="SuperGPQA: 26,529 graduate-level questions, up to 10 options, 72 fields in 13 disciplines (M-A-P)",
    data=DataSource(
        hf_id="m-a-p/SuperGPQA", ms_id="m-a-p/SuperGPQA", subsets=tuple(DISCIPLINE), split="train",
        subset_field=row_field("field"), categories=DISCIPLINE,
        local_files=("{split}.jsonl", "SuperGPQA-all.jsonl", "{split}-*.parquet", "data/{split}-*.parquet"),
        subsets_doc="72 fields (field `field`), grouped by `discipline`",
        files_doc="`supergpqa/train.jsonl` or `SuperGPQA-all.jsonl` (the hub's rows)",
    ),
    prompt=ChoicePrompt(
        options=options, sample_id=id_field("uuid"),
        # The SuperGPQA authors' zero-shot prompt (config/prompt/zero-shot.yaml): the question, then "A) …" options.
        official_template=(
            "Answer the following multiple choice question. There is only one correct answer. The last line of "
            "your response should be in the format 'Answer: $LETTER' (without quotes), where LETTER is one of A, "
            "B, C, D, E, F, G, H, I, or J.\n\n{question}\n{options}"
        ),
    ),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter (up to J) against `answer_letter`; Cat.0 is the field's discipline",
)
