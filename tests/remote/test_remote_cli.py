"""`evalscope remote ...` as a user (or a CI job) runs it, against a running service (token on) and the
mock model: evaluations and load tests with their gates, JUnit files read back by a parser, job
management, errors that name the flag, and the token never printed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .conftest import GSM8K_SCORE, TOKEN, client_env, run_remote


def _eval_args(stack, *extra: object) -> list[object]:
    return ["eval", "--server", stack.service.url, "--model", "m", "--api-url", stack.api_url,
            "--datasets", "gsm8k", *extra]  # fmt: skip


def _perf_args(stack, *extra: object) -> list[object]:
    return ["perf", "--server", stack.service.url, "--model", "m", "--url", stack.api_url + "/chat/completions",
            "--number", "6", "--parallel", "2", "--dataset", "line_by_line", "--dataset-path", stack.prompts,
            *extra]  # fmt: skip


def _junit(path: Path) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root, root.findall("./testsuite/testcase")


def _no_secrets(*outs) -> None:
    for out in outs:
        text = out.stdout + out.stderr
        assert TOKEN not in text
        assert "Traceback" not in text


def test_eval_gate_passes_then_the_same_job_misses_a_higher_bar(stack, tmp_path):
    passing = tmp_path / "pass.xml"
    out = run_remote(*_eval_args(stack, "--fail-under", "gsm8k=0.4", "--junit-xml", passing, "--json"))
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["state"] == "succeeded"
    assert job["result"]["result"]["gsm8k"]["score"] == GSM8K_SCORE  # 3 of the 6 questions answered right
    assert "gate missed" not in out.stderr
    root, cases = _junit(passing)
    assert [(c.get("classname"), c.get("name")) for c in cases] == [("eval.m", "gsm8k")]
    assert root.get("tests") == "1" and root.get("failures") == "0" and root.get("errors") == "0"
    props = {p.get("name"): float(p.get("value")) for p in cases[0].iter("property")}
    assert props == {"value": GSM8K_SCORE, "threshold": 0.4}
    assert cases[0].find("failure") is None

    # `remote wait` on the finished job gates it again, against a bar it misses: exit 3, one line
    failing = tmp_path / "fail.xml"
    out2 = run_remote(
        "wait", job["id"], "--server", stack.service.url, "--fail-under", "gsm8k=0.6", "--junit-xml", failing
    )
    assert out2.returncode == 3, out2.stderr
    assert out2.stderr.strip().splitlines()[-1] == "gate missed: gsm8k: score 0.5 < 0.6"
    root, cases = _junit(failing)
    assert root.get("failures") == "1"
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == "gsm8k: score 0.5 < 0.6"
    _no_secrets(out, out2)


def test_perf_slo_gates_and_junit(stack, tmp_path):
    ok_xml = tmp_path / "perf-ok.xml"
    out = run_remote(*_perf_args(stack, "--slo", "ttft:600000", "e2el:600000", "--junit-xml", ok_xml))
    assert out.returncode == 0, out.stderr
    root, cases = _junit(ok_xml)
    assert [c.get("name") for c in cases] == ["ttft p99 <= 600000 ms", "e2el p99 <= 600000 ms"]
    assert {c.get("classname") for c in cases} == {"perf.m.parallel_2_number_6"}
    assert all(c.find("failure") is None for c in cases)
    assert "Percentiles" in out.stdout  # the sweep point's tables are printed

    # The mock waits 50 ms before the first token: a 1 ms TTFT SLO is missed, the e2el one is not.
    bad_xml = tmp_path / "perf-bad.xml"
    out2 = run_remote(*_perf_args(stack, "--slo", "ttft:1", "e2el:600000", "--junit-xml", bad_xml))
    assert out2.returncode == 3, out2.stderr
    missed = [line for line in out2.stderr.splitlines() if line.startswith("gate missed:")]
    assert len(missed) == 1 and missed[0].startswith("gate missed: parallel_2_number_6: ttft p99 ")
    assert missed[0].endswith(" ms > SLO 1 ms")
    root, cases = _junit(bad_xml)
    assert root.get("tests") == "2" and root.get("failures") == "1"
    ttft = next(c for c in cases if c.get("name").startswith("ttft"))
    value = float(next(p.get("value") for p in ttft.iter("property") if p.get("name") == "value"))
    assert value >= 50.0  # milliseconds: at least the mock's TTFT
    _no_secrets(out, out2)


def test_jobs_show_fetch_and_cancel(stack, tmp_path):
    out = run_remote(*_eval_args(stack, "--json"))
    assert out.returncode == 0, out.stderr
    job_id = json.loads(out.stdout)["id"]
    server = ("--server", stack.service.url)

    listing = run_remote("jobs", *server, "--kind", "eval", "--json")
    assert listing.returncode == 0, listing.stderr
    ids = [j["id"] for j in json.loads(listing.stdout)["items"]]
    assert job_id in ids
    table = run_remote("jobs", *server)
    assert table.returncode == 0 and job_id[:8] in table.stdout

    show = run_remote("show", job_id, *server)
    assert show.returncode == 0, show.stderr
    assert f"id: {job_id}" in show.stdout and "state: succeeded" in show.stdout
    assert "0.5000" in show.stdout  # the summary table

    dest = tmp_path / "fetched"
    fetched = run_remote("fetch", job_id, *server, "--output", dest)
    assert fetched.returncode == 0, fetched.stderr
    report = json.loads((dest / "reports" / "m" / "gsm8k.json").read_text())
    assert report["score"] == GSM8K_SCORE
    assert len((dest / "predictions" / "m" / "gsm8k.jsonl").read_text().splitlines()) == 6
    assert (dest / "job.json").is_file() and (dest / "logs" / "run.log").is_file()
    one = run_remote("fetch", job_id, *server, "--output", tmp_path / "one", "--path", "reports/m/gsm8k.json")
    assert one.returncode == 0 and [p.name for p in (tmp_path / "one").rglob("*") if p.is_file()] == [
        "gsm8k.json"
    ]

    # a finished job cannot be cancelled: the service's 409, one line, exit 1
    late = run_remote("cancel", job_id, *server)
    assert late.returncode == 1
    assert (
        late.stderr.startswith("error: ")
        and "(HTTP 409)" in late.stderr
        and len(late.stderr.splitlines()) == 1
    )

    # a job that cannot start yet (its model answers slowly, 200 requests) is cancelled, and `wait` says so
    slow = run_remote(*_perf_args(stack, "--no-wait", "--number", "400", "--parallel", "1", "--rate", "1"))
    assert slow.returncode == 0, slow.stderr
    slow_id = slow.stdout.strip()
    cancelled = run_remote("cancel", slow_id, *server)
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == f"job {slow_id}: cancelled"
    waited = run_remote("wait", slow_id, *server, "--junit-xml", tmp_path / "cancelled.xml")
    assert waited.returncode == 1
    assert waited.stderr.strip().splitlines()[-1] == f"error: job {slow_id} cancelled: cancelled by request"
    root, cases = _junit(tmp_path / "cancelled.xml")
    assert root.get("errors") == "1" and cases[0].find("error") is not None
    _no_secrets(out, listing, table, show, fetched, one, late, slow, cancelled, waited)


def test_errors_name_the_flag_without_a_traceback(stack, dead_port, tmp_path):
    # connection refused: one line
    out = run_remote("jobs", "--server", f"http://127.0.0.1:{dead_port}")
    assert out.returncode == 1
    assert (
        out.stderr == f"error: cannot reach the service at http://127.0.0.1:{dead_port}: connection refused\n"
    )
    # bad flags, caught before anything is sent
    bad = run_remote(*_eval_args(stack, "--limit", "-3"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --limit: ")
    gate = run_remote(*_eval_args(stack, "--fail-under", "gsm9k=0.5"))
    assert gate.returncode == 2
    assert (
        gate.stderr.strip() == "error: --fail-under: gsm9k: not one of the benchmarks run (--datasets gsm8k)"
    )
    pct = run_remote(*_perf_args(stack, "--slo", "ttft:5", "--slo-percentile", "97"))
    assert pct.returncode == 2 and pct.stderr.startswith("error: --slo-percentile: 97 is not one of")
    perf_bad = run_remote(*_perf_args(stack, "--number", "0"))
    assert perf_bad.returncode == 2 and perf_bad.stderr.startswith("error: --number: ")
    # refused by the service (a path outside its folders): its HTTP field, as the flag the user typed
    outside = run_remote(*_eval_args(stack, "--dataset-args", json.dumps({"gsm8k": {"local_path": "/etc"}})))
    assert outside.returncode == 2
    assert outside.stderr.startswith("error: --dataset-args: gsm8k.local_path: "), outside.stderr
    # no server at all
    env = client_env()
    env.pop("EVALSCOPE_SERVICE_URL", None)
    none = run_remote("jobs", env=env)
    assert (
        none.returncode == 2
        and none.stderr.strip() == "error: --server: required (or set $EVALSCOPE_SERVICE_URL)"
    )
    # $EVALSCOPE_SERVICE_URL stands for --server
    by_env = run_remote("jobs", "--json", env=client_env(EVALSCOPE_SERVICE_URL=stack.service.url))
    assert by_env.returncode == 0, by_env.stderr
    _no_secrets(out, bad, gate, pct, perf_bad, outside, none, by_env)


def test_token_from_flag_file_or_environment_never_printed(stack, tmp_path):
    server = ("--server", stack.service.url)
    # no token: the service's 401, with a hint, exit 1
    anon = run_remote("jobs", *server, env=client_env(token=None))
    assert anon.returncode == 1
    assert "401" in anon.stderr and "--token-file" in anon.stderr
    wrong = run_remote("jobs", *server, env=client_env(token="not-the-token"))
    assert wrong.returncode == 1 and "not-the-token" not in wrong.stdout + wrong.stderr
    # from a file, and from the flag
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    by_file = run_remote("jobs", *server, "--token-file", token_file, "--json", env=client_env(token=None))
    assert by_file.returncode == 0, by_file.stderr
    by_flag = run_remote(
        *_eval_args(stack, "--token", TOKEN, "--json", "--debug", "--api-key", "sk-secret-a1b2c3"),
        env=client_env(token=None),
    )
    assert by_flag.returncode == 0, by_flag.stderr
    assert "sk-secret-a1b2c3" not in by_flag.stdout + by_flag.stderr  # the model's key: "***" in the job
    assert json.loads(by_flag.stdout)["config"]["api_key"] == "***"
    missing = run_remote("jobs", *server, "--token-file", tmp_path / "nope", env=client_env(token=None))
    assert missing.returncode == 2 and missing.stderr.startswith("error: --token-file: cannot read")
    _no_secrets(anon, wrong, by_file, by_flag, missing)
    assert TOKEN not in stack.service.log_text()
