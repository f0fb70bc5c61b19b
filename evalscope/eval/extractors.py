"""Answer extraction: a reader of what a model's answer commits to.

A careful reader of a model's answer does not grab the first (or last) letter or number in sight. They
look for where the text *commits* to an answer and read what it commits to:

1. the visible answer: ``<think>`` blocks removed, and anything after the model started inventing a
   next question of its own ("Question: ...") once it had answered;
2. the explicit final-answer markers (``\\boxed{}``, ``####``, "The answer is", "ANSWER:", "Final answer:",
   "The correct option is", ``答案：``, ``答案是``, ``选C``), each read as a statement: "70 - 9 = 48" states
   48 (the result, not the first operand), ``1/2`` is a fraction, "A fetus with ..." starts with an
   article, "the respiratory system" names an option by its text, "A or C" and an option list are no
   single answer;
3. the last explicit marker wins (a model that corrects itself), unless the final markers, with
   nothing but punctuation between them, state different answers ("ANSWER: B\\nANSWER: C"): then the
   text commits to nothing;
4. without any marker, weaker commitments: a bare label ("C", "(C) Lungs"), a bold ``**C**``, a "(C)"
   closing the text, "I pick option D", "C is correct"; for numbers, the result of the last statement;
   for options, the single option whose text the answer names.

An answer that only re-lists the options, or quotes a letter in passing, chose nothing: ``None``
(the sample is ``unparsed``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_THINK_BLOCK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.I)


def strip_think(text: str) -> str:
    """The visible answer: ``<think>...</think>`` removed; text before a lone ``</think>`` removed
    (servers that strip the opening tag); an unclosed ``<think>`` (thinking cut off) leaves nothing."""
    text = _THINK_BLOCK.sub("", text or "")
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` as (start, end, content), nested braces allowed."""
    found = []
    for m in _BOX_OPEN.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            found.append((m.start(), i, text[m.end() : i - 1].strip()))
    for m in re.finditer(r"\\boxed\s+([^\s${}]+)", text):  # "\boxed 5"
        found.append((m.start(), m.end(), m.group(1)))
    return sorted(found)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), nested braces allowed."""
    boxes = _boxes(text)
    return boxes[-1][2] if boxes else None


# Final-answer markers: "The answer is", "the final answer:", "ANSWER:", "The correct option is",
# "答案是/答案为/答案：", "最终答案", "####". The copula or colon is required: "the answer depends on 3
# things" states nothing.
_MARKERS = re.compile(
    r"(?:\b(?:final|correct|right|best)\s+(?:answer|option|choice)|\banswer)(?:\s*\*\*)?"
    r"\s*(?:is|was|would\s+be|will\s+be|should\s+be|must\s+be|=|:|：)\s*[:：]?(?:\s*\*\*)?\s*"
    r"|最终答案\s*(?:是|为|：|:)?\s*|答案\s*(?:应该?是|是|为|應為|：|:)\s*[:：]?\s*"
    r"|####\s*",
    re.I,
)
# Chinese "choose C": 选C, 选择C, 故选：C (but not 选项, "the options").
_ZH_PICK = re.compile(r"选(?:择)?(?!项)\s*[:：]?\s*")


def after_last_marker(text: str) -> str | None:
    """The text after the last answer marker that is followed by something, up to the line end."""
    for m in reversed(list(_MARKERS.finditer(text))):
        tail = text[m.end() :].split("\n", 1)[0].strip()
        if tail:
            return tail
    return None


# A new question the model wrote itself after answering (small models continue the few-shot pattern).
_NEW_TURN = re.compile(
    r"^[ \t]*(?:#+\s*)?(?:\*\*)?(?:Question|Q|Human|User|问题)\s*\d*\s*(?:\*\*)?\s*[:：]", re.M
)


@dataclass(frozen=True)
class _Commit:
    """One place where the text commits to an answer: ``answer`` None means it committed to something
    that is no answer (a letter that is not an option); ``ambiguous``: it named two answers at once."""

    start: int
    end: int
    answer: str | None
    ambiguous: bool = False


# Words that may sit between two final statements without making the second a correction of the first.
_CONNECTORS = re.compile(
    r"\b(?:or|and|maybe|perhaps|either|the|so|thus|therefore|hence|my|our|final|then)\b|或者|或|所以|因此|故",
    re.I,
)


def _adjacent(text: str, a: _Commit, b: _Commit) -> bool:
    """True when nothing but punctuation, markup or "or"/"and" separates two commitments."""
    gap = text[a.end : b.start] if b.start > a.end else ""
    return not re.search(r"\w", _CONNECTORS.sub("", gap))


def _decide(text: str, commits: list[_Commit]) -> tuple[bool, str | None]:
    """(committed?, answer): the last commitment, unless the final ones disagree (then no answer)."""
    commits = sorted(commits, key=lambda c: (c.start, c.end))
    if not commits:
        return False, None
    group = [commits[-1]]
    for c in reversed(commits[:-1]):
        if not _adjacent(text, c, group[0]):
            break
        group.insert(0, c)
    if any(c.ambiguous for c in group) or len({c.answer for c in group}) > 1:
        return True, None
    return True, group[-1].answer


def _cut_new_turns(text: str, commits: list[_Commit]) -> int:
    """Where the answer ends: at the first self-written new question after a commitment."""
    if commits:
        first = min(c.end for c in commits)
        turn = _NEW_TURN.search(text, first)
        if turn:
            return turn.start()
    return len(text)


# How far after a marker its answer is looked for: an answer is stated within a line, and bounding it
# keeps reading linear in the length of the text.
_SPAN = 600


def _line_after(text: str, pos: int) -> tuple[int, str]:
    """The rest of the line from ``pos``, or the next non-empty line when that is empty."""
    text = text[: pos + _SPAN]
    end = text.find("\n", pos)
    line = text[pos : end if end >= 0 else len(text)]
    if line.strip(" \t*_:：") or end < 0:
        return pos, line
    nxt = re.match(r"\s*\n([^\n]*)", text[end:])
    if nxt is None:
        return pos, line
    start = end + nxt.start(1)
    return start, nxt.group(1)


# ---------------------------------------------------------------------------------------------------
# Numbers

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+"
# A number token as a reader sees it: a fraction "1/2" is one number (not a date "1/2/2020").
_TOKEN = re.compile(rf"(?<![\d/.])-?(?:\d+\s*/\s*\d+(?![\d/]|\.\d)|{_NUM})")


def _plain(span: str) -> str:
    """LaTeX and typography a model wraps numbers in, turned into plain arithmetic."""
    s = (
        span.replace("**", " ")
        .replace("−", "-")
        .replace("–", "-")
        .replace("×", "*")
        .replace("÷", "/")
        .replace("\\$", "$")
    )
    s = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", s)
    s = re.sub(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}", r" \1 ", s)
    s = re.sub(r"\\(?:times|cdot)", "*", s)
    s = s.replace("\\div", "/").replace("\\%", "%").replace("{,}", "").replace("\\!", "").replace("\\,", "")
    s = re.sub(r"\\(?:left|right|displaystyle|quad)", " ", s)
    return s


_ARITH = re.compile(
    r"[-+]?[\s(]*(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[\s)]*[-+*/][\s(]*(?:\d[\d,]*(?:\.\d+)?|\.\d+))*[\s)]*"
)


def _evaluate(expr: str) -> Fraction | None:
    """The value of a plain arithmetic expression (+ - * / and parentheses), None if it is not one."""
    expr = re.sub(r"(?<=\d),(?=\d{3}\b)", "", expr).strip()
    expr = re.sub(r"(?<![\d.])0+(?=\d)", "", expr)  # "025" (AIME) is 25
    if not expr or len(expr) > 200:
        return None
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> Fraction:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
        raise ValueError("not arithmetic")

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError):
        return None


def _fraction_str(v: Fraction) -> str:
    return _canon(Decimal(v.numerator) / Decimal(v.denominator))


def _canon(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def _token_value(tok: str) -> str | None:
    v = _evaluate(tok)
    return _fraction_str(v) if v is not None else None


_AMBIG = "\0ambiguous"


def _math_value(content: str) -> str | None:
    """A boxed expression that is one number only to a math reader (``2^{10}``, ``\\sqrt{16}``): its value
    by math-verify (a dependency), None when it is not a number."""
    import threading

    from math_verify import parse

    kw = {} if threading.current_thread() is threading.main_thread() else {"parsing_timeout": None}
    try:
        parsed = parse(f"\\boxed{{{content}}}", **kw)
    except Exception:  # noqa: BLE001 - math-verify's parser raises many kinds; no number then
        return None
    if not parsed or isinstance(parsed[0], str):
        return None
    expr = parsed[0]
    try:
        value = expr.doit() if hasattr(expr, "doit") else expr
        if not getattr(value, "is_number", False) or not value.is_real:
            return None
        if value.is_Rational:
            return _fraction_str(Fraction(int(value.p), int(value.q)))
        return _canon(Decimal(str(value.evalf(30))))
    except (TypeError, ValueError, InvalidOperation, AttributeError):
        return None


def _read_number(span: str, *, boxed: bool = False) -> str | None:
    """The number a statement states: "70 - 9 = 48." -> 48, "$1,234.50" -> 1234.5, "1/2" -> 0.5,
    "12 + 5" -> 17, "5 or 6" -> ambiguous (``_AMBIG``); None when it states no number."""
    s = _plain(span)
    # One clause: up to a sentence end or a reason ("48, since ...").
    s = re.split(r"[.;!?。；](?:\s|$)|,\s|\s(?:because|since|as|so|which|but)\s|\n", s, maxsplit=1)[0]
    if re.search(r"=|≈|\\approx", s):
        s = re.split(r"=|≈|\\approx", s)[-1]
    s = s.strip()
    if not s:
        return None
    if boxed and re.search(r"\^|\\sqrt|\\pi|!", s) and not re.fullmatch(r"[\s\d.,$%()+*/-]*", s):
        value = _math_value(s)
        if value is not None:
            return value
    either = re.fullmatch(rf"\s*\$?\s*(-?(?:{_NUM}))\s*(?:or|或)\s*\$?\s*(-?(?:{_NUM}))\D*", s)
    if either and _token_value(either.group(1)) != _token_value(either.group(2)):
        return _AMBIG  # "5 or 6"
    body = re.sub(r"^[^\d\-+(.]*", "", s.replace("$", " "))
    expr = _ARITH.match(body)
    if expr:
        if re.match(r"\s*[-+*/]", body[expr.end() :]):
            return None  # an unfinished expression ("720 - ...") states no number yet
        result = _evaluate(expr.group().strip())
        if result is not None:
            return _fraction_str(result)
    tok = _TOKEN.search(s)
    return _token_value(tok.group().replace(",", "")) if tok else None


def normalize_number(text: str | None) -> str | None:
    """A canonical form of the number in ``text``: commas, currency, units and trailing zeros gone.

    ``"$1,234.50"`` -> ``"1234.5"``; ``"18 dollars"`` -> ``"18"``; ``"\\frac{3}{4}"`` -> ``"0.75"``;
    ``"50%"`` -> ``"50"``; ``"x = 5"`` -> ``"5"``. None when there is no number.
    """
    if text is None:
        return None
    value = _read_number(text)
    return None if value == _AMBIG else value


def _number_commits(text: str) -> tuple[list[_Commit], bool]:
    """The numeric commitments in ``text`` and whether an empty ``\\boxed{}`` was written."""
    commits: list[_Commit] = []
    empty_box = False
    for start, end, content in _boxes(text):
        if not content.strip():
            # The gsm8k prompt's own words echoed ("... within \boxed{}") are no empty answer.
            if not re.search(r"within\s*\$?\s*$", text[:start]):
                empty_box = True
            continue
        value = _read_number(content, boxed=True)
        if value is not None:
            commits.append(_Commit(start, end, None if value == _AMBIG else value, value == _AMBIG))
    for m in _MARKERS.finditer(text):
        pos, line = _line_after(text, m.end())
        box = _BOX_OPEN.match(line.lstrip(" $*(\\["))
        if box:
            continue  # the \boxed{} it introduces is read above
        value = _read_number(line)
        if value is not None:
            end = pos + len(line.split(". ", 1)[0])
            commits.append(_Commit(m.start(), end, None if value == _AMBIG else value, value == _AMBIG))
    return commits, empty_box


def extract_number(text: str, *, marker_only: bool = False) -> str | None:
    """The final number the answer commits to, normalised (see ``normalize_number``), or None.

    Explicit markers first (``\\boxed{}``, ``####``, "The answer is", "ANSWER:", "Final answer:",
    ``答案是``), the last one winning; a marker followed by arithmetic states its result
    ("The answer is 49 + 3 = 82." -> 82); final markers that disagree, or an empty ``\\boxed{}`` with no
    other marker, commit to nothing. Without any marker: the result of the last number statement,
    unless ``marker_only`` (a benchmark whose prompt demands a marked answer, as AIME's ``\\boxed{}``).
    Public for scorers of numeric answers (gsm8k, AIME's integers).
    """
    visible = strip_think(text)
    commits, _ = _number_commits(visible)
    visible = visible[: _cut_new_turns(visible, commits)]
    commits, empty_box = _number_commits(visible)
    committed, answer = _decide(visible, commits)
    if committed:
        return answer
    if empty_box or marker_only:
        return None
    # No marker: the last number statement ("... = 1/2." -> 0.5; "so 10.0" -> 10).
    tokens = list(_TOKEN.finditer(_plain(visible)))
    if not tokens:
        return None
    plain = _plain(visible)
    last = tokens[-1]
    line_start = plain.rfind("\n", 0, last.start()) + 1
    statement = plain[line_start : last.end()]
    eq = max(statement.rfind("="), statement.rfind("≈"))
    if eq >= 0:
        value = _read_number(statement[eq + 1 :])
        if value not in (None, _AMBIG):
            return value
    return _token_value(last.group().replace(",", ""))


# ---------------------------------------------------------------------------------------------------
# Option letters

# Words that may follow a label ("A because ..."); any other lower-case word after "A" or "I" makes it
# the article or the pronoun ("A fetus with ...", "I think").
_LABEL_CONTINUATIONS = frozenset(
    "because since as is was seems appears would should could which and or for since so but then "
    "it this that its with to according".split()
)
_LEAD = re.compile(
    r"""^[\s*_$`"'“”‘’「『]*(?:\\(?:boxed|fbox|text|textbf|mathbf|mathrm)\s*\{\s*)*"""
    r"""(?:(?:i\s+(?:think|believe|guess|would\s+say)\s+(?:it\s+is\s+|it's\s+)?|it\s+is\s+|it's\s+"""
    r"""|probably\s+|likely\s+|definitely\s+|clearly\s+)?(?:the\s+)?(?:option|choice|letter)\s*)?"""
    r"""[\s*_"'“”‘’「『(（\[【]*""",
    re.I,
)


def _label_at(span: str, allowed: str) -> tuple[str | None, bool, int] | None:
    """Read an option label at the start of ``span``: (letter or None if not an option, ambiguous,
    length read); None when the span does not start with a label."""
    lead = _LEAD.match(span)
    i = lead.end() if lead else 0
    m = re.match(r"([A-Za-z])(?![A-Za-z0-9])", span[i:])
    glued = re.match(r"([A-Z]{2,4})(?![A-Za-z0-9])", span[i:])
    if glued and all(ch in allowed for ch in glued.group(1)):
        return None, len(set(glued.group(1))) > 1, i + glued.end()
    if m is None:
        return None
    letter = m.group(1)
    rest = span[i + 1 :]
    if letter.lower() in "ai" or letter.islower():
        word = re.match(r"\s+([a-z][a-z']*)", rest)
        if word and word.group(1) not in _LABEL_CONTINUATIONS:
            return None  # "A fetus", "I think", "a lot"
        if re.match(r"\.\s?[a-z]\.", rest):
            return None  # "e.g.", "i.e."
        if letter.islower() and not re.match(r"\s*(?:[).\]:：,，。]|$)", rest):
            return None
    letter = letter.upper()
    end = i + 1 + len(re.match(r"[\s)）\]】*_$`\"'”’}]*", rest).group())  # type: ignore[union-attr]
    more = re.match(
        r"[\s)）\]】*_$`\"'”’}]*(?:,|/|&|、|，|\band\b|\bor\b|或)\s*(?:option\s*|choice\s*)?[(（\[]?\s*([A-Z])(?![A-Za-z0-9])",
        rest,
    )
    if more and more.group(1) in allowed and more.group(1) != letter:
        return (letter if letter in allowed else None), True, i + 1 + more.end()
    if letter not in allowed:
        # A capital letter shaped as a label but not an option: a commitment to no option.
        return (None, False, end) if letter.isupper() and letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" else None
    return letter, False, end


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower()).strip().strip(".。")


def _options_named(span: str, choices: Sequence[str] | None, letters: Sequence[str]) -> list[str]:
    """The letters of the options whose exact text ``span`` names (an option inside a longer named
    option does not count: "system" within "respiratory system")."""
    if not choices:
        return []
    hay = _norm(span)
    hits: list[tuple[int, int, str]] = []
    for letter, choice in zip(letters, choices, strict=False):
        needle = _norm(str(choice))
        if len(needle) < 2:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(needle)}(?!\w)", hay):
            hits.append((m.start(), m.end(), letter))
    kept = {
        letter
        for s, e, letter in hits
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in hits)
    }
    return sorted(kept)


_OPTION_LINE = re.compile(r"^[ \t*#>-]*[(（\[]?([A-J])[)）\].:：][ \t]", re.M)


def _read_choice(
    span: str, allowed: str, choices: Sequence[str] | None, letters: Sequence[str]
) -> tuple[str | None, bool, int] | None:
    """What the text after a marker chooses: (letter or None, ambiguous, length); None: no choice."""
    got = _label_at(span, allowed)
    line = span.split("\n", 1)[0]
    if got is not None:
        letter, ambiguous, n = got
        # "The answer is:\nA) Ghettos\nB) Suburbs" lists options; it does not pick the first.
        if _OPTION_LINE.match(line) and len(_OPTION_LINE.findall(span[: len(line) + 200])) > 1:
            following = span[len(line) + 1 :].lstrip("\n")
            if _OPTION_LINE.match(following):
                return None, True, len(line)
        return letter, ambiguous, n
    clause = re.split(r"[.;!?。；](?:\s|$)", line, maxsplit=1)[0]
    named = _options_named(clause, choices, letters)
    if len(named) == 1:
        return named[0], False, len(clause)
    if len(named) > 1:
        return None, True, len(clause)
    return None


# Weak commitments, read only when the text has no answer marker at all.
_PICK = re.compile(
    r"\b(?:pick|choose|select|go\s+with|opt\s+for|answer\s+with)\s+(?:the\s+)?(?:option|choice|answer)?\s*",
    re.I,
)
_IS_CORRECT = re.compile(
    r"(?:\b(?:option|choice)\s*)?[(（\[]?\b([A-J])\b[)）\]]?\s+is\s+(?:the\s+)?(?:correct|right|best)\b", re.I
)
_BOLD = re.compile(r"\*\*\s*[(（\[]?([A-J])(?:[)）\].:：]|\s*\*\*)")
_TRAILING_PAREN = re.compile(r"[(（]([A-J])[)）][\s.。*]*$")


def _choice_commits(
    text: str, allowed: str, choices: Sequence[str] | None, letters: Sequence[str]
) -> list[_Commit]:
    commits: list[_Commit] = []
    for start, end, content in _boxes(text):
        got = _read_choice(content, allowed, choices, letters)
        if got is not None:
            commits.append(_Commit(start, end, got[0], got[1]))
    for rx in (_MARKERS, _ZH_PICK):
        for m in rx.finditer(text):
            pos, line = _line_after(text, m.end())
            if _BOX_OPEN.match(line.lstrip(" $*(\\[")):
                continue  # read with the boxes
            span = text[pos : pos + _SPAN]
            got = _read_choice(span, allowed, choices, letters)
            if got is not None:
                commits.append(_Commit(m.start(), pos + got[2], got[0], got[1]))
    return commits


def _weak_choice_commits(
    text: str, allowed: str, choices: Sequence[str] | None, letters: Sequence[str]
) -> list[_Commit]:
    commits: list[_Commit] = []
    whole = text.strip()
    got = _label_at(whole, allowed)
    if got is not None and len(whole) - got[2] < 1 + max((len(str(c)) for c in choices or []), default=0) + 2:
        # The whole answer is one label ("C", "(C)", "C) Lungs"), not a list of options.
        if len(_OPTION_LINE.findall(whole)) <= 1:
            commits.append(_Commit(0, len(text), got[0], got[1]))
    for m in _PICK.finditer(text):
        got = _label_at(text[m.end() :], allowed)
        if got is not None:
            commits.append(_Commit(m.start(), m.end() + got[2], got[0], got[1]))
    for m in _IS_CORRECT.finditer(text):
        letter = m.group(1).upper()
        if letter == "A" and m.group(1) == "a":
            continue
        commits.append(_Commit(m.start(), m.end(), letter if letter in allowed else None))
    bold = list(_BOLD.finditer(text))
    if len({m.group(1) for m in bold}) == 1:  # several bold labels are a list of options, not a choice
        commits += [_Commit(m.start(), m.end(), m.group(1) if m.group(1) in allowed else None) for m in bold]
    m2 = _TRAILING_PAREN.search(text)
    if m2:
        commits.append(_Commit(m2.start(), m2.end(), m2.group(1) if m2.group(1) in allowed else None))
    return commits


def extract_choice(text: str, letters: Sequence[str], choices: Sequence[str] | None = None) -> str | None:
    """The option letter the answer commits to, or None.

    Markers first (``\\boxed{B}``, ``ANSWER: C``, "The answer is (C)", "The correct option is C",
    ``答案：C``, ``答案是C``, ``选C``), the last one winning; then, without markers, a bare label, a
    bold ``**C**``, a closing "(C)", "I pick option D", "C is correct"; then the single option whose
    exact text the answer names (``choices``, in the order of ``letters``). The article "A", a letter
    quoted in prose, a re-listing of the options, and final markers that disagree give None; so does
    a label that is not one of ``letters`` ("ANSWER: E" with four options).
    """
    allowed = "".join(letters)
    if not allowed:
        return None
    visible = strip_think(text)
    if not visible:
        return None
    commits = _choice_commits(visible, allowed, choices, letters)
    visible = visible[: _cut_new_turns(visible, commits)]
    commits = [c for c in commits if c.end <= len(visible)]
    committed, answer = _decide(visible, commits)
    if committed:
        return answer
    committed, answer = _decide(visible, _weak_choice_commits(visible, allowed, choices, letters))
    if committed:
        return answer
    named = _options_named(visible, choices, letters)
    return named[0] if len(named) == 1 else None


def extract_math(text: str) -> str | None:
    """MATH-style: the last ``\\boxed{}``, else the text after the last answer marker."""
    visible = strip_think(text)
    boxed = last_boxed(visible)
    if boxed is not None:
        return boxed
    tail = after_last_marker(visible)
    return tail.rstrip(".").strip("$ ") if tail else None
