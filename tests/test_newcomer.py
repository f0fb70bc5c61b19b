"""What a newcomer meets first: the README's "Try it" block pasted whole, the extras, quiet start-up,
the last lines of the CLIs, `evalscope report` errors, a bare perf install, and CPU counting."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from evalscope._cpus import cgroup_cpu_quota, usable_cpus
from evalscope.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "eval"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_block(heading: str) -> str:
    """The first ```bash block after ``heading`` in README.md."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    return re.search(r"```bash\n(.*?)```", after, re.S).group(1)


def test_readme_try_it_block_works_pasted_whole(tmp_path):
    """The block as written (other ports), pasted into bash in an empty folder: the servers start in
    the background, the block waits for them, the perf request runs 50 requests against the mock."""
    block = readme_block("## Try it without a GPU")
    mock_port, service_port = free_port(), free_port()
    block = block.replace("8801", str(mock_port)).replace("9000", str(service_port))
    assert str(mock_port) in block and str(service_port) in block
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("EVALSCOPE_DATASET_DIR", None)
    proc = subprocess.Popen(
        ["bash", "-c", block + "\nkill %1 %2; wait\n"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:  # never leave the servers behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out
    assert '"status":"ok"' in out, out  # /health answered
    answer = next(
        json.loads(line[line.index('{"status"') :])
        for line in out.splitlines()
        if '{"status":"success"' in line
    )
    metrics = answer["results"]["parallel_5_number_50"]["metrics"]
    assert metrics["Succeed requests"] == 50 and metrics["Failed requests"] == 0
    assert (Path(answer["output_dir"]) / "report.html").is_file()
    assert Path(answer["output_dir"]).is_relative_to(tmp_path.resolve() / "outputs")
    # start-up says what matters, without alembic's per-plugin INFO lines
    assert "alembic" not in out, out


def test_extras_bring_what_the_readme_and_reports_need():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def names(extra: str) -> set[str]:
        return {re.split(r"[<>=;\[ ]", req, maxsplit=1)[0] for req in extras[extra]}

    # the README installs '.[service]'; the seed's Python example imports requests
    assert "requests" in names("service")
    # every perf run writes report.html
    assert {"jinja2", "plotly"} <= names("perf")
    assert {"jinja2", "plotly"} <= names("report")


def test_report_cli_errors_name_the_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing"
    cases = [
        ([str(missing)], f"error: {missing}: not a folder"),
        ([str(empty)], f"error: {empty}: no perf or eval run found"),
        ([str(empty), str(missing)], f"error: {empty}: not a run folder"),
        (["a", "b", "c"], "error: 3 folders given (a, b, c)"),
    ]
    for argv, expected in cases:
        assert main(["report", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(expected), err
        assert "FOLDER" not in err and "Traceback" not in err


HIDE_JINJA2 = "import sys; sys.modules['jinja2'] = None; from evalscope.cli import main; sys.exit(main())"


def test_perf_without_jinja2_says_report_skipped_and_why(mock_server, tmp_path):
    """A bare ``pip install evalscope`` (no jinja2): the run succeeds, and both the log and the last
    line say that report.html was skipped and what to install."""
    srv = mock_server(output_tokens=4)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            HIDE_JINJA2,
            "perf",
            "--model",
            "m",
            "--url",
            srv.url + "/v1/chat/completions",
            "--number",
            "4",
            "--parallel",
            "2",
            "--dataset",
            "line_by_line",
            "--dataset-path",
            str(prompts),
            "--outputs-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "report.html skipped: it needs jinja2, not installed (pip install 'evalscope[report]')" in proc.stderr
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "report: skipped, report.html needs jinja2 (pip install 'evalscope[report]')"
    assert not list((tmp_path / "out").rglob("report.html"))
    assert len(list((tmp_path / "out").rglob("benchmark_summary.json"))) == 1  # the run itself is whole


def test_perf_cli_ends_with_the_report_path(mock_server, tmp_path):
    srv = mock_server(output_tokens=4)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evalscope",
            "perf",
            "--model",
            "m",
            "--url",
            srv.url + "/v1/chat/completions",
            "--number",
            "4",
            "--parallel",
            "2",
            "--dataset",
            "line_by_line",
            "--dataset-path",
            str(prompts),
            "--outputs-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("report: ")
    report = Path(last.removeprefix("report: "))
    assert report.name == "report.html" and report.is_file() and report.is_relative_to(tmp_path / "out")


def test_eval_cli_ends_with_the_report_path(mock_server, tmp_path, capsys):
    from evalscope.mock import ScriptedAnswer

    srv = mock_server(answers=[ScriptedAnswer(match="", reply="The answer is \\boxed{7}")])
    rc = main(
        [
            "eval",
            "--model",
            "mock-model",
            "--api-url",
            srv.url + "/v1/chat/completions",
            "--datasets",
            "gsm8k",
            "--dataset-dir",
            str(FIXTURES),
            "--limit",
            "2",
            "--work-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("report: ")
    report = Path(last.removeprefix("report: "))
    assert report.name == "report.html" and report.is_file()
    assert report.parent.parent == tmp_path.resolve()


# --- CPUs this process may use -------------------------------------------------------------------

PIN_AND_COUNT = """
import os, json
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})   # what `taskset -c N` does
from evalscope._cpus import usable_cpus
from evalscope.perf.runner import auto_workers
print(json.dumps({"cpu_count": os.cpu_count(), "usable": usable_cpus(),
                  "workers": auto_workers(parallel=100_000, rate=0, number=100_000)}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_auto_workers_follow_cpu_affinity_not_the_machine():
    out = json.loads(
        subprocess.run(
            [sys.executable, "-c", PIN_AND_COUNT], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    assert out["usable"] == 1
    # 100,000 concurrent requests want many client processes; one CPU allowed gives one
    assert out["workers"] == 1
    # and without the pin, the count is what the affinity allows (never more than the machine)
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)
    assert usable_cpus() <= len(os.sched_getaffinity(0))


def _cgroup_v2(tmp_path: Path, quotas: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cg"
    for rel, value in quotas.items():
        d = root / rel
        d.mkdir(parents=True, exist_ok=True)
        (d / "cpu.max").write_text(value + "\n")
    proc = tmp_path / "proc_cgroup"
    proc.write_text("0::/kubepods/pod1/app\n")
    return root, proc


def test_cgroup_v2_quota_the_tightest_level_wins(tmp_path):
    root, proc = _cgroup_v2(
        tmp_path,
        {
            "": "max 100000",
            "kubepods": "max 100000",
            "kubepods/pod1": "300000 100000",
            "kubepods/pod1/app": "250000 100000",
        },
    )
    assert cgroup_cpu_quota(root, proc) == 2  # 2.5 CPUs of quota: two busy processes, not three
    assert usable_cpus(root, proc) == min(
        2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    )
    root, proc = _cgroup_v2(tmp_path / "half", {"kubepods/pod1/app": "50000 100000"})
    assert cgroup_cpu_quota(root, proc) == 1 and usable_cpus(root, proc) == 1
    root, proc = _cgroup_v2(tmp_path / "none", {"": "max 100000", "kubepods/pod1/app": "max 100000"})
    assert cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota_and_host_paths(tmp_path):
    root = tmp_path / "cg"
    cpu = root / "cpu,cpuacct"
    cpu.mkdir(parents=True)
    # a container without a cgroup namespace: /proc names the host's path, the mount is its own cgroup
    (cpu / "cpu.cfs_quota_us").write_text("300000\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc_cgroup"
    proc.write_text("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert cgroup_cpu_quota(root, proc) == 3
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")  # unlimited
    assert cgroup_cpu_quota(root, proc) is None
    assert cgroup_cpu_quota(root, tmp_path / "no-such-file") is None
