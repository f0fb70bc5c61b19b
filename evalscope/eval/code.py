"""Code in a model's answer, and the programs that test it (HumanEval, MBPP).

A model answers a coding task in many shapes: one fenced block (```` ```python ````, a bare
```` ``` ````), several blocks (the solution, then an example run), prose around the code, the code
with no fence at all, the whole function or only its body, MBPP's few-shot ``[BEGIN] ... [DONE]``,
a ``<think>`` block before any of these. :func:`extract_code` reads the code out of all of them;
:func:`humaneval_program` and :func:`mbpp_program` build the program the sandbox runs (the code plus
the benchmark's tests): it exits 0 exactly when every test passed.
"""

from __future__ import annotations

import ast
import builtins
import logging
import re
import secrets
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evalscope.eval.extractors import _THINK_BLOCK, _THINK_CLOSE, _THINK_OPEN
from evalscope.eval.scoring import AsyncScorer, Score, ScoreContext

log = logging.getLogger("evalscope.eval")

if TYPE_CHECKING:
    from evalscope.eval.benchmarks.base import Sample
    from evalscope.eval.config import TaskConfig
    from evalscope.sandbox import Limits

__all__ = [
    "CodeScorer",
    "extract_code",
    "humaneval_program",
    "mbpp_entry_point",
    "mbpp_program",
    "visible_code_text",
]

# An opening fence (3+ backticks or tildes) with an optional language tag, its body, and the closing
# fence of the same kind; a block left open (the answer ended inside it) runs to the end of the text.
_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.S | re.M,
)
# Languages that are not Python source (an example's output, a shell line, a data file).
_NOT_PYTHON = {
    "bash", "sh", "shell", "console", "zsh", "text", "txt", "output", "plaintext", "json", "yaml", "yml",
    "javascript", "js", "typescript", "ts", "java", "c", "cpp", "c++", "go", "rust", "ruby", "sql", "html",
    "xml", "markdown", "md", "pycon", "csv", "diff", "toml", "ini",
}  # fmt: skip
# A line that starts Python code written without a fence.
_CODE_START = re.compile(r"^(?:(?:async\s+)?def\s|class\s|import\s|from\s+[\w.]+\s+import\s|@\w)")
_BEGIN_DONE = re.compile(r"\[BEGIN\](.*?)(?:\[DONE\]|\Z)", re.S)


def visible_code_text(text: str) -> str:
    """The answer without its reasoning (``<think>`` blocks, text before a lone ``</think>``; nothing
    when thinking was cut off), keeping the indentation of the first line (a bare body starts indented)."""
    text = _THINK_BLOCK.sub("", text or "")
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    text = text.replace("\r\n", "\n")
    # blank lines around the answer go; the first code line's indentation stays
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^[ \t]*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _fenced(text: str) -> list[str]:
    """The bodies of the fenced blocks that may hold Python, in order."""
    blocks = []
    for m in _FENCE.finditer(text):
        lang = m.group("lang").lower()
        body = m.group("body").rstrip()
        if lang in _NOT_PYTHON or not body.strip():
            continue
        if not lang and body.lstrip().startswith((">>>", "$ ")):
            continue  # an interactive session or a shell line shown as an example
        blocks.append(body)
    return blocks


def _pick_block(blocks: list[str], entry_point: str | None) -> str:
    """The block defining the entry point (the last such: a model that corrects itself); else the
    last block that parses as Python and defines something; else the longest."""
    if entry_point:
        defining = [b for b in blocks if _defines(b, entry_point)]
        if defining:
            return defining[-1]
    defining_any = [b for b in blocks if _parses(textwrap.dedent(b)) and re.search(r"^\s*def\s", b, re.M)]
    if defining_any:
        return defining_any[-1]
    return max(blocks, key=len)


def _unfenced(text: str, entry_point: str | None) -> str | None:
    """Code written without a fence: the whole text when it is Python; else from the first line that
    starts code (``def``, ``import``, ...) to the last line after which it still parses."""
    dedented = textwrap.dedent(text)
    if _parses(dedented) and _looks_like_code(dedented):
        return text
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    if entry_point:  # start at the imports just before the entry point's def, when there are any
        at = next((i for i, line in enumerate(lines) if _defines(line, entry_point)), None)
        if at is not None:
            before = [i for i in starts if i <= at]
            first = before[0] if before else at
            # prose between the imports and the def ("Now the function:") would not parse
            while first < at and not _parses("\n".join(lines[first : at + 1]) + "\n    pass"):
                first = next((i for i in before if i > first), at)
            starts = [first]
    if not starts:
        return None
    first = starts[0]
    for end in range(len(lines), first, -1):  # drop trailing prose until what is left parses
        chunk = "\n".join(lines[first:end]).rstrip()
        if chunk and _parses(chunk):
            return chunk
    # nothing parses: still the model's code (a syntax error is a wrong answer, not a missing one)
    return "\n".join(lines[first:]).rstrip() or None


def _looks_like_code(code: str) -> bool:
    """True unless ``code`` is prose that happens to parse (a single word, a bare name or number)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    if not tree.body:
        return False
    return not all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant) for node in tree.body
    )


def extract_code(text: str, entry_point: str | None = None) -> str | None:
    """The Python code an answer gives, or None when it gives none (the sample is ``unparsed``).

    ``entry_point`` is the function the tests call: among several fenced blocks the one defining it
    wins. The code is returned as written (a bare body keeps its indentation); the program builders
    decide how it joins the benchmark's prompt and tests."""
    visible = visible_code_text(text)
    if not visible.strip():
        return None
    begin = _BEGIN_DONE.search(visible)
    if begin and begin.group(1).strip():  # MBPP's few-shot answer format
        visible = begin.group(1).strip("\n")
    elif "[DONE]" in visible:
        visible = visible[: visible.index("[DONE]")].rstrip()
    blocks = _fenced(visible)
    if blocks:
        code = _pick_block(blocks, entry_point)
    else:
        found = _unfenced(visible, entry_point)
        if found is None:
            return None
        code = found
    code = code.rstrip()
    return code if code.strip() else None


def _indent_body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code), "    ", lambda line: True)


def humaneval_program(prompt: str, code: str, test: str, entry_point: str) -> str:
    """HumanEval's check program: the prompt (imports, helpers, the signature and docstring), the
    model's code, the tests and ``check(<entry_point>)``. A full function is appended after the prompt
    (it replaces the prompt's stub, and the prompt's imports and helpers stay); a bare body is indented
    under the prompt's signature."""
    if _defines(code, entry_point):
        # the prompt's stub keeps its docstring as its body; the model's definition replaces it
        program = f"{prompt}\n\n{textwrap.dedent(code)}\n"
    else:
        program = prompt + _indent_body(code) + "\n"
    return f"{program}\n{test}\n\ncheck({entry_point})\n"


def mbpp_entry_point(tests: list[str]) -> str | None:
    """The function MBPP's asserts call (``assert min_cost([...], 2, 2) == 8`` -> ``min_cost``): the
    first call of a name that is not a builtin (``set(...)``, ``math.isclose(...)`` are skipped)."""
    for test in tests:
        try:
            tree = ast.parse(test.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if not hasattr(builtins, node.func.id):
                    return node.func.id
    return None


def mbpp_program(code: str, tests: list[str], setup: str = "") -> str:
    """MBPP's check program: the model's code up to any ``if __name__ == ...`` block or its own first
    top-level ``assert``, the task's setup code, then each test assert. The setup goes after the code
    (EvalScope puts it first): the two tasks that have one (367, 927) build trees of the ``Node`` class
    that the solution defines."""
    code = textwrap.dedent(code)
    if "if __name__ ==" in code:
        code = code[: code.index("if __name__ ==")]
    # the model's own asserts (often its guesses of the expected values) are not the tests: cut there
    own_assert = re.search(r"^assert\b", code, re.M)
    if own_assert:
        code = code[: own_assert.start()]
    parts = [code.rstrip()]
    if setup.strip():
        parts.append(setup.replace("\r\n", "\n"))
    parts.extend(t.replace("\r\n", "\n") for t in tests)
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# The scorer: run the program in the sandbox; exit 0 within every limit is a pass.

#: what a sample's details keep of a run's output: the start of stdout, the end of stderr (a traceback
#: ends with the error), each at most this many characters
DETAIL_CHARS = 4000


def _head(text: str) -> str:
    if len(text) <= DETAIL_CHARS:
        return text
    return text[:DETAIL_CHARS] + f"\n... [{len(text) - DETAIL_CHARS:,} more characters]"


def _tail(text: str) -> str:
    if len(text) <= DETAIL_CHARS:
        return text
    return f"[{len(text) - DETAIL_CHARS:,} characters before] ...\n" + text[-DETAIL_CHARS:]


_LIMIT_REASONS = {
    "time": "ran past the time limit ({timeout:g} s wall clock)",
    "cpu": "used up its CPU time ({timeout:g} s)",
    "memory": "ran out of memory ({memory} MiB)",
    "processes": "started too many processes",
    "file_size": "wrote a file past the size limit",
    "output": "printed more than the output limit",
}


class CodeScorer(AsyncScorer):
    """Runs the code of an answer with the benchmark's tests in the sandbox (``evalscope.sandbox``).

    ``entry_point(sample)`` names the function the tests call (to pick among fenced blocks);
    ``program(sample, code)`` builds the check program; ``timeout`` is the benchmark's seconds per
    program (``dataset_args.<name>.review_timeout`` overrides it). A pass is exit status 0 within every
    limit; a program that hit a limit is a wrong answer whose details say which; a failure of the
    sandbox itself is an error, never a wrong answer; an answer without code is unparsed.
    """

    def __init__(
        self,
        benchmark: str,
        entry_point: Callable[[Sample], str | None],
        program: Callable[[Sample, str], str],
        timeout: float,
    ) -> None:
        self.benchmark = benchmark
        self.entry_point = entry_point
        self.program = program
        self.timeout = timeout

    def check(self, config: TaskConfig) -> None:
        """The sandbox can run here (bubblewrap installed and working), before any request is sent."""
        from evalscope.sandbox import SandboxUnavailable, check_available

        try:
            check_available(config.sandbox_type)
        except SandboxUnavailable as exc:
            raise ValueError(f"sandbox_type: {config.sandbox_type}: {exc.message}") from None

    def _limits(self, config: TaskConfig) -> Limits:
        from evalscope.sandbox import Limits

        timeout = config.args_for(self.benchmark).review_timeout or self.timeout
        return Limits(wall_s=timeout, cpu_s=timeout, memory_mb=config.sandbox_memory_mb)

    async def score(self, sample: Sample, text: str, ctx: ScoreContext, /) -> Score:
        """Extract, build, run; the verdict with the run's output in ``details``."""
        from evalscope.sandbox import SandboxError, SandboxPool, SandboxUnavailable

        code = extract_code(text, self.entry_point(sample))
        if code is None:
            return Score(extracted=None, value=0.0)
        cfg = ctx.config
        limits = self._limits(cfg)

        def make_pool() -> SandboxPool:
            if cfg.sandbox_type == "unsafe_no_isolation":
                # in the run's own log too (the sandbox's warnings go to its logger, not to run.log)
                log.warning(
                    "SANDBOX DISABLED (sandbox_type unsafe_no_isolation): the model's code runs as a plain "
                    "subprocess of this machine, with rlimits only"
                )
            return SandboxPool(cfg.sandbox_pool_size, backend=cfg.sandbox_type, limits=limits)

        pool = ctx.resource("sandbox", make_pool)
        # The program proves it reached the end: a code that exits early (``sys.exit(0)`` before the
        # tests) would otherwise pass. The mark is new for each run, so the model cannot print it.
        mark = f"evalscope-tests-passed-{secrets.token_hex(8)}"
        program = self.program(sample, code) + f'\n__import__("os").write(1, b"\\n{mark}\\n")\n'
        try:
            result = await pool.run_python(program, limits=limits)
        except (SandboxError, SandboxUnavailable) as exc:
            return Score(extracted=code, value=0.0, error=f"sandbox failed: {exc.message}")
        reached_end = mark in result.stdout
        stdout = result.stdout.replace(f"\n{mark}\n", "").replace(mark, "")
        details: dict[str, Any] = {
            "exit_code": result.exit_code,
            "limit": result.limit,
            "duration_s": round(result.duration_s, 3),
            "stdout": _head(stdout),
            "stderr": _tail(result.stderr),
        }
        if result.limit is not None:
            reason = _LIMIT_REASONS.get(result.limit, "hit the {limit} limit")
            details["reason"] = "the program " + reason.format(
                timeout=limits.wall_s, memory=limits.memory_mb, limit=result.limit
            )
        passed = result.exit_code == 0 and result.limit is None and reached_end
        if result.exit_code == 0 and not reached_end and result.limit is None:
            details["reason"] = "the program exited before the tests ran to the end"
        return Score(extracted=code, value=float(passed), details=details)
