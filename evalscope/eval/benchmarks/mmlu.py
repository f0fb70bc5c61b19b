"""MMLU: 57 subjects of English multiple-choice questions; test split, 5-shot from dev."""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Sample, letter_target, register
from evalscope.eval.benchmarks.templates import MCQ_EN_COT, MCQ_EN_FEWSHOT_HEADER, mcq_prompt
from evalscope.eval.scoring import score_choice

_STEM, _HUM, _SOC, _OTH = "STEM", "Humanities", "Social Science", "Other"
# subject -> category (Hendrycks et al.'s grouping), used to group the report.
SUBJECTS: dict[str, str] = {
    "abstract_algebra": _STEM,
    "anatomy": _OTH,
    "astronomy": _STEM,
    "business_ethics": _OTH,
    "clinical_knowledge": _OTH,
    "college_biology": _STEM,
    "college_chemistry": _STEM,
    "college_computer_science": _STEM,
    "college_mathematics": _STEM,
    "college_medicine": _OTH,
    "college_physics": _STEM,
    "computer_security": _STEM,
    "conceptual_physics": _STEM,
    "econometrics": _SOC,
    "electrical_engineering": _STEM,
    "elementary_mathematics": _STEM,
    "formal_logic": _HUM,
    "global_facts": _OTH,
    "high_school_biology": _STEM,
    "high_school_chemistry": _STEM,
    "high_school_computer_science": _STEM,
    "high_school_european_history": _HUM,
    "high_school_geography": _SOC,
    "high_school_government_and_politics": _SOC,
    "high_school_macroeconomics": _SOC,
    "high_school_mathematics": _STEM,
    "high_school_microeconomics": _SOC,
    "high_school_physics": _STEM,
    "high_school_psychology": _SOC,
    "high_school_statistics": _STEM,
    "high_school_us_history": _HUM,
    "high_school_world_history": _HUM,
    "human_aging": _OTH,
    "human_sexuality": _SOC,
    "international_law": _HUM,
    "jurisprudence": _HUM,
    "logical_fallacies": _HUM,
    "machine_learning": _STEM,
    "management": _OTH,
    "marketing": _OTH,
    "medical_genetics": _OTH,
    "miscellaneous": _OTH,
    "moral_disputes": _HUM,
    "moral_scenarios": _HUM,
    "nutrition": _OTH,
    "philosophy": _HUM,
    "prehistory": _HUM,
    "professional_accounting": _OTH,
    "professional_law": _HUM,
    "professional_medicine": _OTH,
    "professional_psychology": _SOC,
    "public_relations": _SOC,
    "security_studies": _SOC,
    "sociology": _SOC,
    "us_foreign_policy": _SOC,
    "virology": _OTH,
    "world_religions": _HUM,
}


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """Hendrycks CSV rows (question, A-D, letter) or hub rows (question, choices list, 0-based int)."""
    if "choices" in row:
        choices = [str(c) for c in row["choices"]]
    else:
        choices = [str(row[k]) for k in "ABCD"]
    return Sample(
        input=row["question"],
        choices=choices,
        target=letter_target(row["answer"], choices),
        metadata={"subject": subset},
    )


MMLU = register(
    Benchmark(
        name="mmlu",
        pretty_name="MMLU",
        description="English multiple-choice questions in 57 subjects (4 categories); test split, 5-shot from dev.",
        dataset_id="cais/mmlu",
        hf_dataset_id="cais/mmlu",
        subsets=tuple(SUBJECTS),
        eval_split="test",
        train_split="dev",
        few_shot_num=5,
        record_to_sample=record_to_sample,
        build_prompt=mcq_prompt(MCQ_EN_COT, MCQ_EN_FEWSHOT_HEADER),
        scorer=score_choice,
        local_files=(
            "{split}/{subset}_{split}.csv",
            "data/{split}/{subset}_{split}.csv",
            "{subset}_{split}.csv",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
        ),
        hub_file="{subset}/{split}-00000-of-00001.parquet",
        dir_names=("mmlu", "cais/mmlu"),
        csv_fieldnames=("question", "A", "B", "C", "D", "answer"),
        tags=("Knowledge", "MCQ"),
        extra={"categories": SUBJECTS},
    )
)
