"""Prompt templates shared by several benchmarks (EvalScope's wording, so scores stay comparable)."""

from __future__ import annotations

from evalscope.eval.benchmarks.base import Message, Sample, letters_for, options_block, user

MCQ_EN_COT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{choices}"
)
MCQ_EN_FEWSHOT_HEADER = "Here are some examples of how to answer similar questions:\n\n{fewshot}\n\n"
# EvalScope 1.14's answer-only templates (MultipleChoiceTemplate.SINGLE_ANSWER / MULTIPLE_ANSWER).
MCQ_EN = (
    "Answer the following multiple choice question. The entire content of your response should be of "
    "the following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}."
    "\n\n{question}\n\n{choices}"
)
MCQ_EN_MULTI = (
    "Answer the following multiple choice question where multiple answers may be correct. The entire "
    "content of your response should be of the following format: 'ANSWER: [LETTERS]' (without quotes) "
    "where [LETTERS] is one or more of {letters}.\n\n{question}\n\n{choices}"
)

MCQ_ZH_COT = (
    '回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），'
    "其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。\n\n问题：{question}\n选项：\n{choices}\n"
)
MCQ_ZH = (
    '回答下面的单项选择题，请选出其中的正确答案。你的回答的全部内容应该是这样的格式："答案：[LETTER]"（不带引号），'
    "其中 [LETTER] 是 {letters} 中的一个。\n\n问题：{question}\n选项：\n{choices}\n"
)
MCQ_ZH_FEWSHOT_HEADER = "以下是一些示例问题：\n\n{fewshot}\n\n"


def mcq_example_en(sample: Sample) -> str:
    """A solved example in the English few-shot block."""
    return f"{sample.input}\n{options_block(sample.choices or [])}\nANSWER: {sample.target}"


def mcq_prompt(template: str, header: str, system: str | None = None):
    """A prompt builder: ``template`` for the question, ``header`` wrapping the solved examples."""

    def build(sample: Sample, shots: list[Sample]) -> list[Message]:
        choices = sample.choices or []
        body = template.format(
            letters=",".join(letters_for(choices)), question=sample.input, choices=options_block(choices)
        )
        if shots:
            body = header.format(fewshot="\n\n".join(mcq_example_en(s) for s in shots)) + body
        return user(body, system)

    return build


def messages_or(sample: Sample, build) -> list[Message]:
    """A row's own conversation when it has one, else ``build(sample)``."""
    return [dict(m) for m in sample.messages] if sample.messages else build(sample)
