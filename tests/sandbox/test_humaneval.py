"""HumanEval's 164 canonical solutions pass in the sandbox pool; a broken solution fails there."""

from __future__ import annotations

import asyncio
import json

import pytest

from evalscope.sandbox import Limits, SandboxPool

pytestmark = [pytest.mark.timeout(600), pytest.mark.usefixtures("bwrap_ready")]


def problems(shared_datasets) -> list[dict]:
    path = shared_datasets / "humaneval" / "HumanEval.jsonl"
    if not path.is_file():
        pytest.skip(f"HumanEval data not found at {path} (see ../shared/datasets/SOURCES.md)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def program(problem: dict, solution: str | None = None) -> str:
    """HumanEval's own way to check a completion: prompt + solution + test + ``check(entry_point)``."""
    body = problem["canonical_solution"] if solution is None else solution
    return f"{problem['prompt']}{body}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"


def test_all_canonical_solutions_pass_and_a_broken_one_fails(shared_datasets):
    rows = problems(shared_datasets)
    assert len(rows) == 164

    async def score():
        # a wall clock far above any solution's time: the machine is shared, a slow run is not a failure
        pool = SandboxPool(limits=Limits(wall_s=60, cpu_s=30))
        broken = program(rows[0], "    return not True\n")  # has_close_elements: always False
        return await asyncio.gather(*(pool.run_python(program(p)) for p in rows), pool.run_python(broken))

    *results, broken = asyncio.run(score())
    failed = {
        p["task_id"]: (r.exit_code, r.limit, r.stderr[-300:])
        for p, r in zip(rows, results, strict=True)
        if not r.ok
    }
    assert not failed
    assert all(r.backend == "bwrap" for r in results)
    assert broken.exit_code == 1 and broken.limit is None and "AssertionError" in broken.stderr
