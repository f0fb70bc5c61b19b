"""Code read out of real-looking model answers, and the check programs built from it
(evalscope/eval/code.py). The programs are run here with plain ``compile`` only: running them is the
sandbox's job (tests/eval/test_code_benchmarks.py)."""

from __future__ import annotations

import pytest

from evalscope.eval.code import extract_code, humaneval_program, mbpp_entry_point, mbpp_program

PROMPT = (
    "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n"
    '    """ Detect if the balance falls below zero.\n    >>> below_zero([1, 2, -4, 5])\n    True\n    """\n'
)
TEST = "\n\ndef check(candidate):\n    assert candidate([1, 2, -4, 5]) == True\n    assert candidate([1, 2]) == False\n"

FULL = """def below_zero(operations: List[int]) -> bool:
    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False"""
BODY = """    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False"""


def _runs_ok(program: str) -> bool:
    namespace: dict = {}
    exec(compile(program, "<check>", "exec"), namespace)  # trusted test code: our own solutions
    return True


@pytest.mark.parametrize(
    "answer",
    [
        # one python block, prose around it
        f"Here is the implementation:\n\n```python\n{FULL}\n```\n\nThis keeps a running balance.",
        # a bare fence, no language
        f"```\n{FULL}\n```",
        # py tag, with the imports
        f"```py\nfrom typing import List\n\n{FULL}\n```",
        # no fence at all: the answer is the code
        FULL,
        # prose, then unfenced code, then prose
        f"Sure! The function is below.\n\n{FULL}\n\nIt returns True as soon as the balance dips.",
        # a thinking model: reasoning first (with a decoy block), then the answer
        f"<think>Maybe ```python\ndef below_zero(x):\n    return None\n``` no, keep a sum.</think>\n```python\n{FULL}\n```",
        # several blocks: the solution and an example run; the one defining the entry point wins
        f"```python\n{FULL}\n```\nExample:\n```python\nprint(below_zero([1, -2]))\n```\nOutput:\n```\nTrue\n```",
        # the model corrects itself: the last block defining the entry point wins
        f"First try:\n```python\ndef below_zero(operations):\n    return sum(operations) < 0\n```\n"
        f"That is wrong for prefixes. Fixed:\n```python\n{FULL}\n```",
        # only the body, fenced
        f"```python\n{BODY}\n```",
        # only the body, bare (HumanEval's completion style)
        BODY,
        # a block the answer never closed (cut short after the code)
        f"```python\n{FULL}\n",
    ],
)
def test_the_code_is_found_and_its_program_passes(answer):
    code = extract_code(answer, "below_zero")
    assert code is not None
    program = humaneval_program(PROMPT, code, TEST, "below_zero")
    assert program.endswith("check(below_zero)\n")
    assert _runs_ok(program)


def test_the_picked_block_is_the_right_one():
    answer = (
        f"```python\n{FULL}\n```\n```bash\npython solution.py\n```\n```python\nprint(below_zero([1]))\n```"
    )
    assert extract_code(answer, "below_zero") == FULL
    wrong_first = (
        "```python\ndef below_zero(ops):\n    return False\n```\nBetter:\n```python\n" + FULL + "\n```"
    )
    assert extract_code(wrong_first, "below_zero") == FULL
    # without an entry point: the last block that defines a function
    assert extract_code(f"```python\nx = 1\n```\n```python\n{FULL}\n```") == FULL


def test_a_bare_body_keeps_its_indentation_and_is_put_under_the_signature():
    assert extract_code("\n\n" + BODY + "\n\n") == BODY
    program = humaneval_program(PROMPT, BODY, TEST, "below_zero")
    assert PROMPT + "    balance = 0\n" in program
    # a body the model wrote flush left is indented too
    flush = "\n".join(line[4:] for line in BODY.splitlines())
    assert _runs_ok(humaneval_program(PROMPT, extract_code(flush, "below_zero") or "", TEST, "below_zero"))


def test_a_full_function_replaces_the_prompts_stub_and_keeps_its_imports():
    program = humaneval_program(PROMPT, FULL, TEST, "below_zero")
    assert program.startswith(PROMPT)  # the prompt's "from typing import List" stays
    assert program.count("def below_zero") == 2
    assert _runs_ok(program)


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, I can't help with that.",
        "The function should keep a running balance and return True when it goes negative.",
        "True",
        "",
        "   \n  ",
        "<think>I should write def below_zero(ops): ...",  # thinking cut off: nothing visible
        "```bash\npip install numpy\n```",  # a block, but not Python
    ],
)
def test_no_code_is_none(answer):
    assert extract_code(answer, "below_zero") is None


def test_code_with_a_syntax_error_is_still_the_models_code():
    answer = "```python\ndef below_zero(operations):\n    return sum(operations < 0\n```"
    code = extract_code(answer, "below_zero")
    assert code == "def below_zero(operations):\n    return sum(operations < 0"
    with pytest.raises(SyntaxError):
        compile(humaneval_program(PROMPT, code, TEST, "below_zero"), "<check>", "exec")
    # unfenced and broken: still taken from its def on
    assert extract_code("Here:\ndef below_zero(ops):\n    return (", "below_zero") == (
        "def below_zero(ops):\n    return ("
    )


def test_mbpp_answers_begin_done_and_own_asserts():
    tests = ["assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)"]
    assert mbpp_entry_point(tests) == "similar_elements"
    assert mbpp_entry_point(["assert set(uniq([1, 1])) == {1}"]) == "uniq"
    assert mbpp_entry_point(["assert math.isclose(area(2), 12.56, rel_tol=0.001)"]) == "area"
    code = "def similar_elements(a, b):\r\n  return tuple(sorted(set(a) & set(b)))"
    # the few-shot format: the answer is between [BEGIN] and [DONE] (or just ends with [DONE])
    assert extract_code(f"[BEGIN]\n{code}\n[DONE]\nYou are an expert", "similar_elements") == code.replace(
        "\r\n", "\n"
    )
    assert extract_code(f"{code}\n[DONE]", "similar_elements") == code.replace("\r\n", "\n")
    # the model's own (wrong) asserts and main block are cut; the task's tests follow
    own = f"{code}\n\nassert similar_elements((1,), (2,)) == (9,)\nif __name__ == '__main__':\n    print(1)"
    program = mbpp_program(own, tests)
    assert "(9,)" not in program and "__main__" not in program
    assert program.rstrip().endswith(tests[0])
    assert _runs_ok(program)
    # setup code (trees of the solution's own class) goes after the code, before the tests
    setup_program = mbpp_program("class Node:\n    pass", ["assert root is not None"], "root = Node() \r\n")
    assert (
        setup_program.index("class Node")
        < setup_program.index("root = Node()")
        < setup_program.index("assert")
    )
    assert _runs_ok(setup_program)
