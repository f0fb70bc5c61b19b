"""CMMLU: Chinese multiple-choice questions in 67 subjects (5 categories); test split, 5-shot from dev.

Protocol: EvalScope 1.14's ``cmmlu`` adapter: its Chinese chain-of-thought template (the answer on the
last line as "答案：[LETTER]"), options as ``A) text``, and solved dev examples as
``问题：...\n选项：\n...\n答案：X`` joined by blank lines under "以下是一些示例问题：". EvalScope runs it
0-shot unless ``few_shot_num`` is set; the default here is 5-shot from dev, the setting of the CMMLU
paper (Li et al., 2023), and ``dataset_args.cmmlu.few_shot_num: 0`` gives EvalScope's default run.
Scored by the shared ``score_choice``; subjects and categories are EvalScope's.
"""

from __future__ import annotations

import re
from typing import Any

from evalscope.eval.benchmarks.base import (
    Benchmark,
    Message,
    Sample,
    letter_target,
    letters_for,
    options_block,
    register,
    user,
)
from evalscope.eval.benchmarks.templates import MCQ_ZH_COT, MCQ_ZH_FEWSHOT_HEADER
from evalscope.eval.scoring import score_choice

# subject -> category (EvalScope's grouping), used to group the report.
SUBJECTS: dict[str, str] = {
    "agronomy": "Other",
    "anatomy": "STEM",
    "ancient_chinese": "China specific",
    "arts": "Humanities",
    "astronomy": "STEM",
    "business_ethics": "Social Science",
    "chinese_civil_service_exam": "China specific",
    "chinese_driving_rule": "China specific",
    "chinese_food_culture": "China specific",
    "chinese_foreign_policy": "China specific",
    "chinese_history": "China specific",
    "chinese_literature": "China specific",
    "chinese_teacher_qualification": "China specific",
    "college_actuarial_science": "STEM",
    "college_education": "Social Science",
    "college_engineering_hydrology": "STEM",
    "college_law": "Humanities",
    "college_mathematics": "STEM",
    "college_medical_statistics": "STEM",
    "clinical_knowledge": "Other",
    "college_medicine": "Other",
    "computer_science": "STEM",
    "computer_security": "Other",
    "conceptual_physics": "STEM",
    "construction_project_management": "China specific",
    "economics": "Social Science",
    "education": "Social Science",
    "elementary_chinese": "China specific",
    "elementary_commonsense": "China specific",
    "elementary_information_and_technology": "Other",
    "electrical_engineering": "STEM",
    "elementary_mathematics": "STEM",
    "ethnology": "China specific",
    "food_science": "Other",
    "genetics": "STEM",
    "global_facts": "Humanities",
    "high_school_biology": "STEM",
    "high_school_chemistry": "STEM",
    "high_school_geography": "Social Science",
    "high_school_mathematics": "STEM",
    "high_school_physics": "STEM",
    "high_school_politics": "China specific",
    "human_sexuality": "Other",
    "international_law": "Humanities",
    "journalism": "Social Science",
    "jurisprudence": "Humanities",
    "legal_and_moral_basis": "Other",
    "logical": "Humanities",
    "machine_learning": "STEM",
    "management": "Social Science",
    "marketing": "Social Science",
    "marxist_theory": "Humanities",
    "modern_chinese": "China specific",
    "nutrition": "Other",
    "philosophy": "Humanities",
    "professional_accounting": "Social Science",
    "professional_law": "Humanities",
    "professional_medicine": "Other",
    "professional_psychology": "Social Science",
    "public_relations": "Social Science",
    "security_study": "Social Science",
    "sociology": "Social Science",
    "sports_science": "Other",
    "traditional_chinese_medicine": "China specific",
    "virology": "STEM",
    "world_history": "Humanities",
    "world_religions": "Humanities",
}

_LABEL = re.compile(r"^\s*[(（]?[A-D][)）.]?\s*")


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """The authors' CSV rows (``,Question,A,B,C,D,Answer``) or hub rows (``question``, ``choices`` as
    ``"(A) text"``, ``answer`` as ``"(A)"``)."""
    if "choices" in row:
        choices = [_LABEL.sub("", str(c), count=1).strip() for c in row["choices"]]
        question = row["question"]
    else:
        choices = [str(row[k]) for k in "ABCD"]
        question = row["Question"] if "Question" in row else row["question"]
    answer = row["Answer"] if "Answer" in row else row["answer"]
    return Sample(
        input=str(question),
        choices=choices,
        target=letter_target(answer, choices),
        metadata={"subject": subset},
    )


def _example(s: Sample) -> str:
    return f"问题：{s.input}\n选项：\n{options_block(s.choices or [])}\n答案：{s.target}"


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """EvalScope's Chinese CoT template, after the solved dev examples when few-shot."""
    choices = sample.choices or []
    body = MCQ_ZH_COT.format(
        letters=",".join(letters_for(choices)), question=sample.input, choices=options_block(choices)
    )
    if shots:
        body = MCQ_ZH_FEWSHOT_HEADER.format(fewshot="\n\n".join(_example(s) for s in shots)) + body
    return user(body)


CMMLU = register(
    Benchmark(
        name="cmmlu",
        pretty_name="C-MMLU",
        description="Chinese multiple-choice questions in 67 subjects (5 categories); test split, 5-shot from dev.",
        dataset_id="evalscope/cmmlu",
        hf_dataset_id="haonan-li/cmmlu",
        subsets=tuple(SUBJECTS),
        eval_split="test",
        train_split="dev",
        few_shot_num=5,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_choice,
        local_files=(
            "{split}/{subset}.csv",
            "data/{split}/{subset}.csv",
            "{subset}_{split}.csv",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
        ),
        hub_file="{split}/{subset}.csv",
        dir_names=("cmmlu", "CMMLU", "evalscope/cmmlu", "haonan-li/cmmlu"),
        tags=("Chinese", "Knowledge", "MCQ"),
        extra={"categories": SUBJECTS},
    )
)
