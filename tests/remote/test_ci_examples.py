"""The GitHub Actions and GitLab CI examples of docs/service.md, run for real: their `evalscope remote`
command lines (read from the YAML in the page) against a local service and the mock model, with the
variables a pipeline would set. They pass; the same eval command with a bar the model misses fails the
step (exit 3) and its JUnit file says why."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import REPO, TOKEN, client_env

yaml = pytest.importorskip("yaml")


def _example(page: Path, name: str) -> str:
    text = page.read_text(encoding="utf-8")
    found = re.search(rf"<!-- ci-example: {name}\b.*?-->\s*```yaml\n(.*?)```", text, re.S)
    assert found, f"no ci-example {name} in {page}"
    return found.group(1)


def _commands() -> list[str]:
    page = REPO / "docs" / "service.md"
    github = yaml.safe_load(_example(page, "github"))
    gitlab = yaml.safe_load(_example(page, "gitlab"))
    gh = [s["run"] for s in github["jobs"]["gate"]["steps"] if s.get("run", "").startswith("evalscope ")]
    gl = [c for c in gitlab["model-gate"]["script"] if c.startswith("evalscope ")]
    assert gh == gl and len(gh) == 2  # one eval, one perf: the two examples run the same commands
    # the Chinese page shows the same two pipelines
    zh = (REPO / "docs" / "service.zh.md").read_text(encoding="utf-8")
    for name in ("github", "gitlab"):
        assert _example(page, name) in zh
    return gh


def _run(command: str, stack, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = client_env(
        EVALSCOPE_SERVICE_URL=stack.service.url,
        MODEL="m",
        MODEL_URL=stack.api_url,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    assert env["EVALSCOPE_AUTH_TOKEN"] == TOKEN  # as the pipeline's secret variable
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_ci_examples_run_against_a_local_service(stack, tmp_path):
    eval_cmd, perf_cmd = _commands()
    assert "--fail-under" in eval_cmd and "--slo" in perf_cmd

    out = _run(eval_cmd, stack, tmp_path)
    assert out.returncode == 0, out.stderr
    cases = ET.parse(tmp_path / "eval.xml").getroot().findall("./testsuite/testcase")
    assert [(c.get("name"), c.find("failure")) for c in cases] == [("gsm8k", None)]

    out = _run(perf_cmd, stack, tmp_path)
    assert out.returncode == 0, out.stderr
    root = ET.parse(tmp_path / "perf.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["ttft p99 <= 2000 ms", "e2el p99 <= 30000 ms"]
    assert {c.get("classname") for c in cases} == {"perf.m.parallel_10_number_100"}
    assert root.get("failures") == "0" and root.get("errors") == "0"

    # the same step with a bar the model misses (it scores 0.5): the pipeline step fails
    strict = eval_cmd.replace("gsm8k=0.5", "gsm8k=0.9")
    assert strict != eval_cmd
    out = _run(strict, stack, tmp_path)
    assert out.returncode == 3
    assert out.stderr.strip().splitlines()[-1] == "gate missed: gsm8k: score 0.5 < 0.9"
    failure = ET.parse(tmp_path / "eval.xml").getroot().find("./testsuite/testcase/failure")
    assert failure is not None and failure.get("message") == "gsm8k: score 0.5 < 0.9"
    assert TOKEN not in out.stdout + out.stderr
