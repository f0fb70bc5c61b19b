"""Answer extraction and per-sample judgement on real-looking model output."""

from __future__ import annotations

import pytest

from evalscope.eval.benchmarks.base import Sample
from evalscope.eval.extractors import (
    extract_choice,
    extract_math,
    extract_number,
    last_boxed,
    normalize_number,
    strip_think,
)
from evalscope.eval.scoring import judge, rouge_l, score_choice, score_math, score_numeric, score_qa


@pytest.mark.parametrize(
    "text,expected",
    [
        ("<think>first 12, maybe \\boxed{13}</think>The total is \\boxed{14}.", "14"),
        ("reasoning without an opening tag</think> so \\boxed{5}", "5"),
        ("\\boxed{3} is wrong, the corrected value is \\boxed{4}", "4"),
        ("The answer is $1,234.50.", "1234.5"),
        ("So she earns 18 dollars.\nThe answer is 18", "18"),
        ("ANSWER: 42", "42"),
        ("Final answer: \\boxed{\\$1,000}", "1000"),
        ("\\boxed{18 \\text{ dollars}}", "18"),
        ("\\boxed{\\frac{3}{4}}", "0.75"),
        ("It is 7.000 metres, then 3 more... so 10.0", "10"),
        ("\\boxed{-5}", "-5"),
        ("\\boxed{3/4}", "0.75"),
        ("答案是 25 元", "25"),
        ("no digits here", None),
        ("<think>I guess 12</think>", None),  # the visible answer is empty
        ("<think>12 then 13, still thinking", None),  # cut off inside thinking
    ],
)
def test_extract_number(text, expected):
    assert extract_number(text) == expected


@pytest.mark.parametrize(
    "raw,canon",
    [
        ("1,200", "1200"),
        ("$1,200.00", "1200"),
        ("0.50", "0.5"),
        ("50%", "50"),
        ("-3.0", "-3"),
        ("abc", None),
    ],
)
def test_normalize_number(raw, canon):
    assert normalize_number(raw) == canon


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Thinking... B looks right but no.\nANSWER: C", "C"),
        ("ANSWER: [LETTER]\nLet me reconsider.\nANSWER: D", "D"),  # an echoed placeholder is skipped
        ("<think>答案：A</think>最终答案：B", "B"),
        ("经过分析，答案：(C)。", "C"),
        ("答案是B", "B"),
        ("The answer is (A)", "A"),
        ("So the correct option is \\boxed{B}", "B"),
        ("I pick option D.", "D"),  # the last standalone capital
        ("None of these is right.", None),
        ("ANSWER: E", None),  # not one of the options: no answer, not a wrong letter
    ],
)
def test_extract_choice(text, expected):
    assert extract_choice(text, ["A", "B", "C", "D"]) == expected


def test_last_boxed_nested_and_strip_think():
    assert last_boxed("x \\boxed{\\frac{1}{\\sqrt{2}}} y") == "\\frac{1}{\\sqrt{2}}"
    assert last_boxed("no box") is None
    assert strip_think("<think>a</think> b <think>c</think> d") == "b  d"
    assert extract_math("The answer is $\\frac{1}{2}$.") == "\\frac{1}{2}"


def _s(target, choices=None):
    return Sample(id="x/0", input="q", target=target, choices=choices)


@pytest.mark.parametrize(
    "scorer,sample,text,finish,state",
    [
        (score_numeric, _s("1,200"), "\\boxed{1200}", "stop", "correct"),
        (score_numeric, _s("18"), "\\boxed{19}", "stop", "wrong"),
        (score_numeric, _s("18"), "I don't know", "stop", "unparsed"),
        (score_numeric, _s("18"), "\\boxed{18}", "length", "truncated"),  # truncated even if it got there
        (score_numeric, _s("18"), None, None, "error"),
        (score_choice, _s("B", ["x", "y", "z"]), "答案：B", "stop", "correct"),
        (score_math, _s("\\frac{\\sqrt{2}}{2}"), "\\boxed{\\frac{1}{\\sqrt{2}}}", "stop", "correct"),
        (score_math, _s("\\left( 3, \\frac{\\pi}{2} \\right)"), "\\boxed{(3,\\pi/2)}", "stop", "correct"),
        (score_math, _s("10"), "\\boxed{11}", "stop", "wrong"),
        (score_qa, _s("the sky is blue"), "The sky is blue today.", "stop", "correct"),
        (score_qa, _s("the sky is blue"), "It is grey.", "stop", "wrong"),
        (score_qa, _s("the sky is blue"), "", "stop", "unparsed"),
    ],
)
def test_judge_states(scorer, sample, text, finish, state):
    assert judge(scorer, sample, text, finish, failed=text is None).state == state


def test_rouge_l_mixed_scripts():
    m = rouge_l("是珠穆朗玛峰", "珠穆朗玛峰")
    assert m["Rouge-L-R"] == pytest.approx(5 / 6) and m["Rouge-L-P"] == 1.0
    assert rouge_l("Paris is the capital", "the capital is Paris")["Rouge-L-R"] == pytest.approx(0.5)


# --- Real-looking model output, read as a careful human reader reads it (issue 14, item 4). ------------
# Most texts below are (shortened) SmolLM2-135M / small-model answers graded by hand; each expectation is
# what the text commits to, not what a regex happens to find.

LUNGS = ["digestive system", "nervous system", "respiratory system", "skeletal system"]  # gold C
PLACES = ["Ghettos", "Suburbs", "Farms", "Cities"]
XXY = ["Turner syndrome", "Klinefelter syndrome", "Down syndrome", "Edwards syndrome"]
COUNT = ["2", "3", "4", "6"]
TEN = [f"option {i}" for i in range(10)]  # MMLU-Pro: letters A-J


@pytest.mark.parametrize(
    "text,choices,expected",
    [
        # only re-listing the options chose nothing
        ("A) Ghettos\nB) Suburbs", PLACES, None),
        ("A) Ghettos\nB) Suburbs\nC) Farms\nD) Cities", PLACES, None),
        ("The answer is:\nA) Ghettos\nB) Suburbs", PLACES, None),
        ("**A** Ghettos\n**B** Suburbs", PLACES, None),
        (
            "Sure! Here are the options again:\n\nA) Ghettos\nB) Suburbs\nC) Farms\nD) Cities\n\nI hope this helps!",
            PLACES,
            None,
        ),
        # the article "A" and a quoted letter in prose are not choices
        ("A fetus with the genotype XXY develops into a boy who may be taller than average.", XXY, None),
        ("A fetus with the genotype XXY has Klinefelter syndrome.", XXY, "B"),  # named by its exact text
        ("Answer: A fetus with the genotype XXY is usually infertile.", XXY, None),
        ('Count how often the letter "D" (which is 5) appears in the word.', COUNT, None),
        ("I think so, but I am not sure about it.", TEN, None),  # the pronoun "I" is not option I
        # an option given by its exact text
        ("The lungs are associated with the respiratory system.", LUNGS, "C"),
        ("The answer is the respiratory system.", LUNGS, "C"),
        ("The lungs belong to the respiratory system, not the digestive system.", LUNGS, None),  # two named
        # markers, brackets, bold, Chinese
        ("The answer is (C)", LUNGS, "C"),
        ("ANSWER: C", LUNGS, "C"),
        ("**Answer:** B", PLACES, "B"),
        ("Final answer: (D)", LUNGS, "D"),
        ("The answer is $\\boxed{C}$.", LUNGS, "C"),
        ("\\boxed{\\text{C}}", LUNGS, "C"),
        ("The correct answer is **C) respiratory system**.", LUNGS, "C"),
        ("**C**", LUNGS, "C"),
        ("The lungs move air in and out, so it must be (C)", LUNGS, "C"),
        ("C", LUNGS, "C"),
        ("C.", LUNGS, "C"),
        ("(B) Suburbs", PLACES, "B"),
        ("The answer is a) Ghettos", PLACES, "A"),
        ("I would choose option B because suburbs grew after the war.", PLACES, "B"),
        ("Option C is correct because the lungs exchange gases.", LUNGS, "C"),
        ("A is incorrect. B is incorrect. C is correct.", LUNGS, "C"),
        ("答案：C", LUNGS, "C"),
        ("答案是C", LUNGS, "C"),
        ("肺负责呼吸，所以选C。", LUNGS, "C"),
        ("<think>嗯，先看A选项……不对。</think>肺属于呼吸系统，所以答案是 C。", LUNGS, "C"),
        ("综上所述，正确答案是 B 项。", PLACES, "B"),
        # reasoning, corrections and self-written follow-up questions
        ("<think>Maybe A. ANSWER: A</think>The lungs are for breathing.\nANSWER: C", LUNGS, "C"),
        ("The answer is B.\nWait, the lungs are not about places; the answer is C.", LUNGS, "C"),
        ("ANSWER: C\n\nExplanation: the respiratory system includes the lungs. The answer is C.", LUNGS, "C"),
        (
            "The correct answer is B) Suburbs.\n\nQuestion: Which of the following is a type of rock?\n"
            "A) Granite\nB) Water\nC) Air\nD) Fire\nANSWER: A",
            PLACES,
            "B",
        ),
        (
            "The best answer is C. The lungs are part of the respiratory system, which is responsible for "
            "breathing. The respiratory system also includes the trachea and the bronchi.",
            LUNGS,
            "C",
        ),
        (
            "Let's go through each option.\nA) Ghettos: dense city areas.\nB) Suburbs: residential areas "
            "outside cities.\nC) Farms: rural.\nD) Cities: urban.\n\nANSWER: B",
            PLACES,
            "B",
        ),
        # two different final answers, or a list of letters, is no single answer
        ("ANSWER: B\nANSWER: C", LUNGS, None),
        ("The answer is B. The answer is C.", LUNGS, None),
        ("Answer: A\n\nAnswer: B\n\nAnswer: C\n\nAnswer: D", LUNGS, None),
        ("The answer is A or C.", LUNGS, None),
        ("ANSWER: A, C", LUNGS, None),
        ("ANSWER: AC", LUNGS, None),
        ("答案：A、C", LUNGS, None),
        ("ANSWER: [LETTER]", LUNGS, None),  # the instruction echoed
        ("None of the options is correct.", LUNGS, None),
        # letters A-J (MMLU-Pro's ten options) after chain of thought
        ("Option J is wrong because it ignores friction. Option H accounts for it.\nANSWER: H", TEN, "H"),
        ("Step 1: compare the rates.\nStep 2: the ninth option matches.\nThe answer is (I).", TEN, "I"),
        ("I think the answer is I.", TEN, "I"),
        ("ANSWER: J", TEN, "J"),
        ("ANSWER: K", TEN, None),  # not one of the ten
    ],
)
def test_extract_choice_reads_intent(text, choices, expected):
    assert extract_choice(text, [chr(65 + i) for i in range(len(choices))], choices) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        # an answer marker followed by arithmetic takes the result
        ("Let me compute. final answer: 70 - 9 = 48.", "48"),
        ("The answer is 49 + 3 = 82.", "82"),
        ("The answer is 12 + 5", "17"),
        ("The answer is x = 5", "5"),
        # fractions
        ("He needs 60 / 30 = 1/2.", "0.5"),
        ("Therefore, the answer is 3/4 of a cup.", "0.75"),
        ("The answer is \\frac{3}{4}.", "0.75"),
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        # an empty \boxed{} does not fall through to a later number
        ("The final answer is \\boxed{}.\nShe has 7 apples left.", None),
        ("\\boxed{}", None),
        ("The final answer is \\boxed{}. The answer is 42.", "42"),  # another explicit marker commits
        ("I'll put the final answer within \\boxed{}.\nShe has 3 + 4 = 7 apples.", "7"),  # the prompt echoed
        # the last explicit marker wins
        ("She pays 720 dollars. The answer is 720 - 140 ...\n#### 580", "580"),
        (
            "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72",
            "72",
        ),
        ("5 * 6 = 30 pages? No.\nANSWER: 31", "31"),
        ("The answer is 10.\nThe answer is 10.\nThe answer is 10.", "10"),  # repeated, not conflicting
        # two different final answers
        ("The answer is 5.\nThe answer is 6.", None),
        ("The answer is 5 or 6.", None),
        ("\\boxed{5} \\boxed{6}", None),
        # a small model inventing its next question after answering
        (
            "The answer is 18.\n\nQuestion: Tom has 5 apples and eats 2. How many are left?\nThe answer is 3.",
            "18",
        ),
        # units, currency, signs, percent
        ("The answer is: $18.", "18"),
        ("The answer is: **18**", "18"),
        ("**Final Answer:** $\\boxed{18}$", "18"),
        ("The answer is \\(18\\).", "18"),
        ("So the total cost is $1,200.\n\nThe answer is 1200.", "1200"),
        ("The answer is −5.", "-5"),
        ("The answer is 10%.", "10"),
        ("He runs 3 * 60 = 180 meters a week.", "180"),
        # AIME-style integers (math-verify reads what plain arithmetic cannot)
        ("\\boxed{025}", "25"),
        ("\\boxed{2^{10}}", "1024"),
        ("<think>it could be 24</think>Thus the remainder is \\boxed{204}.", "204"),
    ],
)
def test_extract_number_reads_intent(text, expected):
    assert extract_number(text) == expected


@pytest.mark.parametrize(
    "sample,text,state",
    [
        (_s("C", LUNGS), "The lungs are associated with the respiratory system.", "correct"),
        (_s("B", PLACES), "A) Ghettos\nB) Suburbs", "unparsed"),
        (_s("B", XXY), "A fetus with the genotype XXY develops into a boy.", "unparsed"),
        (_s("C", LUNGS), "ANSWER: B\nANSWER: C", "unparsed"),
        (_s("A", LUNGS), "The answer is (C)", "wrong"),
    ],
)
def test_choice_states(sample, text, state):
    assert judge(score_choice, sample, text, "stop").state == state


@pytest.mark.parametrize(
    "gold,text,state",
    [
        ("48", "final answer: 70 - 9 = 48.", "correct"),
        ("70", "final answer: 70 - 9 = 48.", "wrong"),  # the first operand is not what was meant
        ("580", "The answer is 720 - ...\n#### 580", "correct"),
        ("7", "The final answer is \\boxed{}.\nShe has 7 apples left.", "unparsed"),
        ("0.5", "60 / 30 = 1/2.", "correct"),
    ],
)
def test_numeric_states(gold, text, state):
    assert judge(score_numeric, _s(gold), text, "stop").state == state


def test_arc_prompt_is_evalscope_answer_only_template():
    """EvalScope 1.14.1's ARC adapter sends MultipleChoiceTemplate.SINGLE_ANSWER (answer only, no CoT)."""
    from evalscope.eval.benchmarks.arc import ARC

    sample = Sample(
        id="x/0", input="Which gas do plants take in?", target="B", choices=["Oxygen", "Carbon dioxide"]
    )
    assert ARC.build_prompt(sample, []) == [
        {
            "role": "user",
            "content": "Answer the following multiple choice question. The entire content of your response "
            "should be of the following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of "
            "A,B.\n\nWhich gas do plants take in?\n\nA) Oxygen\nB) Carbon dioxide",
        }
    ]


SEASONS = ["winter", "spring", "summer", "fall"]  # gold C


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Question: Which season has the longest days in the Northern Hemisphere?\nA) winter\nB) spring\n"
            "C) summer\nD) fall\n\nThe correct answer is: C) summer",
            "C",
        ),
        ("The longest days are in summer because the Earth is tilted toward the Sun.", "C"),
        (
            "The answer is C) summer.\n\nExplanation:\n\nA) winter: the days are shortest.\nB) spring: days get "
            "longer.\nC) summer: days are longest.\nD) fall: days get shorter.",
            "C",
        ),
        ("Answer: C\nAnswer: C\nAnswer: C", "C"),
        (
            "Step 1: Identify the season. Step 2: Summer. The answer is (C).\n\nQuestion: Which planet is "
            "closest to the Sun?\nThe answer is (A).",
            "C",
        ),
        ("Spring and summer both have long days.", None),
    ],
)
def test_smollm2_style_choice(text, expected):
    assert extract_choice(text, ["A", "B", "C", "D"], SEASONS) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and bakes muffins with 4. So she has "
            "16 - 3 - 4 = 9 eggs left. She sells them for $2 each, so she makes 9 * 2 = $18 every day at the "
            "farmers' market.",
            "18",
        ),
        (
            "Step 1: 16 - 3 = 13\nStep 2: 13 - 4 = 9\nStep 3: 9 x 2 = 18\n\nTherefore, Janet makes $18 every day.",
            "18",
        ),
        (
            "To find the answer, we need to multiply 5 by 3. 5 x 3 = 15. Then we add 2: 15 + 2 = 17. So the "
            "answer is 17.\n\nQuestion: A robe takes 2 bolts of blue fiber and half that much white fiber. How "
            "many bolts in total does it take?\nAnswer: 3",
            "17",
        ),
        ("The answer is 70 - 9 = 48 dollars.", "48"),
        ("The answer is 61. Final answer: 61", "61"),
    ],
)
def test_smollm2_style_number(text, expected):
    assert extract_number(text) == expected
