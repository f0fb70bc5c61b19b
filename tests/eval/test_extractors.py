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
