"""C-Eval: Chinese exam questions in 52 subjects; scored on val with 5 solved examples from dev."""

from __future__ import annotations

from typing import Any

from evalscope.eval.benchmarks.base import Benchmark, Message, Sample, letter_target, register, user
from evalscope.eval.scoring import score_choice

# subject -> (Chinese name used in the prompt, category used to group the report)
SUBJECTS: dict[str, tuple[str, str]] = {
    "computer_network": ("计算机网络", "STEM"),
    "operating_system": ("操作系统", "STEM"),
    "computer_architecture": ("计算机组成", "STEM"),
    "college_programming": ("大学编程", "STEM"),
    "college_physics": ("大学物理", "STEM"),
    "college_chemistry": ("大学化学", "STEM"),
    "advanced_mathematics": ("高等数学", "STEM"),
    "probability_and_statistics": ("概率统计", "STEM"),
    "discrete_mathematics": ("离散数学", "STEM"),
    "electrical_engineer": ("注册电气工程师", "STEM"),
    "metrology_engineer": ("注册计量师", "STEM"),
    "high_school_mathematics": ("高中数学", "STEM"),
    "high_school_physics": ("高中物理", "STEM"),
    "high_school_chemistry": ("高中化学", "STEM"),
    "high_school_biology": ("高中生物", "STEM"),
    "middle_school_mathematics": ("初中数学", "STEM"),
    "middle_school_biology": ("初中生物", "STEM"),
    "middle_school_physics": ("初中物理", "STEM"),
    "middle_school_chemistry": ("初中化学", "STEM"),
    "veterinary_medicine": ("兽医学", "STEM"),
    "college_economics": ("大学经济学", "Social Science"),
    "business_administration": ("工商管理", "Social Science"),
    "marxism": ("马克思主义基本原理", "Social Science"),
    "mao_zedong_thought": ("毛泽东思想和中国特色社会主义理论体系概论", "Social Science"),
    "education_science": ("教育学", "Social Science"),
    "teacher_qualification": ("教师资格", "Social Science"),
    "high_school_politics": ("高中政治", "Social Science"),
    "high_school_geography": ("高中地理", "Social Science"),
    "middle_school_politics": ("初中政治", "Social Science"),
    "middle_school_geography": ("初中地理", "Social Science"),
    "modern_chinese_history": ("近代史纲要", "Humanities"),
    "ideological_and_moral_cultivation": ("思想道德修养与法律基础", "Humanities"),
    "logic": ("逻辑学", "Humanities"),
    "law": ("法学", "Humanities"),
    "chinese_language_and_literature": ("中国语言文学", "Humanities"),
    "art_studies": ("艺术学", "Humanities"),
    "professional_tour_guide": ("导游资格", "Humanities"),
    "legal_professional": ("法律职业资格", "Humanities"),
    "high_school_chinese": ("高中语文", "Humanities"),
    "high_school_history": ("高中历史", "Humanities"),
    "middle_school_history": ("初中历史", "Humanities"),
    "civil_servant": ("公务员", "Other"),
    "sports_science": ("体育学", "Other"),
    "plant_protection": ("植物保护", "Other"),
    "basic_medicine": ("基础医学", "Other"),
    "clinical_medicine": ("临床医学", "Other"),
    "urban_and_rural_planner": ("注册城乡规划师", "Other"),
    "accountant": ("注册会计师", "Other"),
    "fire_engineer": ("注册消防工程师", "Other"),
    "environmental_impact_assessment_engineer": ("环境影响评价工程师", "Other"),
    "tax_accountant": ("税务师", "Other"),
    "physician": ("医师资格", "Other"),
}

PROMPT = (
    "以下是中国关于{subject}的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："
    '"答案：[LETTER]"（不带引号），其中 [LETTER] 是 A、B、C、D 中的一个。\n\n问题：{question}\n选项：\n{choices}\n'
)
FEWSHOT_HEADER = "以下是一些示例问题：\n\n{fewshot}\n\n"


def _options(choices: list[str]) -> str:
    return "\n".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(choices))


def record_to_sample(row: dict[str, Any], subset: str) -> Sample:
    """CSV rows ``id,question,A,B,C,D,answer[,explanation]``; the subject is the file's subset."""
    choices = [str(row[k]) for k in "ABCD"]
    return Sample(
        input=row["question"],
        choices=choices,
        target=letter_target(row["answer"], choices),
        metadata={"id": row.get("id", ""), "explanation": row.get("explanation") or "", "subject": subset},
    )


def _example(s: Sample) -> str:
    return "\n".join(
        [
            f"问题：{s.input}",
            f"选项：\n{_options(s.choices or [])}",
            f"解析：{s.metadata.get('explanation', '')}",
            f"答案：{s.target}",
        ]
    )


def build_prompt(sample: Sample, shots: list[Sample]) -> list[Message]:
    """The Chinese subject template, after the solved dev examples (with explanations)."""
    subject = SUBJECTS.get(sample.subset, (sample.subset, ""))[0]
    body = PROMPT.format(subject=subject, question=sample.input, choices=_options(sample.choices or []))
    if shots:
        body = FEWSHOT_HEADER.format(fewshot="\n\n".join(_example(s) for s in shots)) + "\n" + body
    return user(body)


CEVAL = register(
    Benchmark(
        name="ceval",
        pretty_name="C-Eval",
        description="Chinese exam questions in 52 subjects (4 categories); val split, 5-shot from dev.",
        dataset_id="evalscope/ceval",
        hf_dataset_id="ceval/ceval-exam",
        subsets=tuple(SUBJECTS),
        eval_split="val",
        train_split="dev",
        few_shot_num=5,
        record_to_sample=record_to_sample,
        build_prompt=build_prompt,
        scorer=score_choice,
        local_files=(
            "{split}/{subset}_{split}.csv",
            "{subset}_{split}.csv",
            "{subset}/{split}-*.parquet",
            "{subset}_{split}.jsonl",
        ),
        hub_file="{split}/{subset}_{split}.csv",
        dir_names=("ceval", "ceval-exam", "evalscope/ceval"),
        tags=("Chinese", "Knowledge", "MCQ"),
        extra={"categories": {k: v[1] for k, v in SUBJECTS.items()}},
    )
)
