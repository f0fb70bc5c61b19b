"""The CI gates (evalscope/gates.py) through the local commands, `evalscope eval --fail-under` and
`evalscope perf --slo`, with `--junit-xml` read back by a parser; the rule's edge cases on run JSON;
and `evalscope remote eval|perf` keeping exactly the local commands' flags."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET

import pytest

from evalscope import gates
from evalscope.cli import build_parser

from .conftest import FIXTURES, mock_config


@pytest.fixture
def model(mock_server):
    return mock_server(**mock_config(ttft=0.02).model_dump())


def test_local_eval_fail_under_and_junit(model, tmp_path, evalscope_cli):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "gsm8k").symlink_to(FIXTURES / "gsm8k")
    base = ["eval", "--model", "m", "--api-url", model.url + "/v1", "--datasets", "gsm8k",
            "--dataset-dir", tmp_path / "ds", "--work-dir", tmp_path / "out"]  # fmt: skip
    ok = evalscope_cli(*base, "--fail-under", "gsm8k=0.5", "--junit-xml", tmp_path / "ok.xml")
    assert ok.returncode == 0, ok.stderr
    case = ET.parse(tmp_path / "ok.xml").getroot().find("./testsuite/testcase")
    assert case is not None and case.get("name") == "gsm8k" and case.find("failure") is None

    missed = evalscope_cli(*base, "--fail-under", "gsm8k=0.51", "--junit-xml", tmp_path / "bad.xml")
    assert missed.returncode == 3
    assert missed.stderr.strip().splitlines()[-1] == "gate missed: gsm8k: score 0.5 < 0.51"
    failure = ET.parse(tmp_path / "bad.xml").getroot().find("./testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "fail_under"

    bad = evalscope_cli(*base, "--fail-under", "gsm8k=1.5")
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "error: --fail-under: gsm8k: 1.5 is outside 0..1 (scores are fractions)"
    )


def test_local_eval_run_failure_is_a_junit_error(dead_port, tmp_path, evalscope_cli):
    out = evalscope_cli("eval", "--model", "m", "--api-url", f"http://127.0.0.1:{dead_port}/v1",
                        "--datasets", "gsm8k", "--dataset-args", '{"gsm8k": {"local_path": "%s"}}' % (FIXTURES / "gsm8k"),
                        "--work-dir", tmp_path / "out", "--fail-under", "gsm8k=0.1",
                        "--junit-xml", tmp_path / "err.xml")  # fmt: skip
    assert out.returncode == 1
    root = ET.parse(tmp_path / "err.xml").getroot()
    assert root.get("errors") == "1"
    error = root.find("./testsuite/testcase/error")
    assert error is not None and "connection refused" in error.get("message")


def test_local_perf_slo_gate_and_junit(model, tmp_path, evalscope_cli):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("why is the sky blue?\nwhat is two plus two?\n")
    base = ["perf", "--model", "m", "--url", model.url + "/v1/chat/completions", "--number", "4",
            "--parallel", "2", "--dataset", "line_by_line", "--dataset-path", prompts,
            "--outputs-dir", tmp_path / "o"]  # fmt: skip
    # The mock's TTFT is 20 ms: p50 within 600 s passes, within 1 ms misses (exit 3, one line)
    ok = evalscope_cli(
        *base, "--slo", "ttft:600000", "--slo-percentile", "50", "--junit-xml", tmp_path / "ok.xml"
    )
    assert ok.returncode == 0, ok.stderr
    assert [c.get("name") for c in ET.parse(tmp_path / "ok.xml").getroot().iter("testcase")] == [
        "ttft p50 <= 600000 ms"
    ]
    missed = evalscope_cli(*base, "--slo", "ttft:1")
    assert missed.returncode == 3
    line = missed.stderr.strip().splitlines()[-1]
    assert line.startswith("gate missed: parallel_2_number_4: ttft p99 ") and line.endswith(" ms > SLO 1 ms")
    # no gate flags: the exit code is the run's, as before
    plain = evalscope_cli(*base)
    assert plain.returncode == 0 and "gate missed" not in plain.stderr


def test_gate_rules_on_run_json(tmp_path):
    run = {"result": {"gsm8k": {"score": 0.8}, "mmlu": {"score": None}, "arc": {"score": 0.2}}}
    checks = gates.eval_checks(run, {"gsm8k": 0.75, "mmlu": 0.1, "ceval": 0.5}, "m")
    by_name = {c.name: c for c in checks}
    assert by_name["gsm8k"].passed and not by_name["mmlu"].passed and by_name["arc"].passed
    assert by_name["arc"].kind == "score"  # no threshold: reported, passes
    assert by_name["ceval"].message == "ceval: no result (the run did not report this benchmark)"
    assert gates.report_lines(checks) == [
        "gate missed: mmlu: score n/a (nothing could be scored) < 0.1",
        "gate missed: ceval: no result (the run did not report this benchmark)",
    ]
    assert gates.conclude(checks, str(tmp_path / "j.xml"), "s") == gates.EXIT_GATE_MISSED
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "0")

    labels = [f"{p}%" for p in gates.SLO_PERCENTILES]
    point = {
        "metrics": {"Succeed requests": 0, "Total requests": 3},
        "percentiles": {"Percentiles": labels, "TTFT (s)": [None] * 10, "Latency (s)": [0.5] * 10},
    }
    perf = gates.perf_checks({"results": {"parallel_1_number_3": point}}, {"ttft": 100, "e2el": 600}, 99)
    assert [c.passed for c in perf] == [False, True]
    assert perf[0].message.startswith("parallel_1_number_3: ttft p99 n/a (no TTFT (s) values")
    assert gates.perf_checks({"results": {"p": point}}, {}, 99)[0].passed is False  # nothing succeeded
    for bad in (["gsm8k"], ["=0.5"], ["gsm8k=x"], ["gsm8k=nan"]):
        with pytest.raises(ValueError, match="^--fail-under: "):
            gates.parse_fail_under(bad)
    with pytest.raises(ValueError, match="^--slo-percentile: "):
        gates.check_percentile(97)


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.option_strings[0]: a for a in parser._actions if a.option_strings and a.dest != "help"}


def _sub(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize("command", ["eval", "perf"])
def test_remote_commands_have_the_local_flags(command):
    root = build_parser()
    local, remote = _options(_sub(root, command)), _options(_sub(root, "remote", command))
    assert set(local) <= set(remote)
    # the model and its URL may come from a named endpoint on the service (--endpoint) instead
    by_endpoint = {"--model", "--api-url", "--url"}
    for flag, action in local.items():
        other = remote[flag]
        required = action.required and flag not in by_endpoint
        assert (other.dest, other.default, other.choices, other.nargs, other.required) == (
            action.dest, action.default, action.choices, action.nargs, required
        ), flag  # fmt: skip
    extra = set(remote) - set(local)
    assert extra <= {"--server", "--token", "--token-file", "--no-wait", "--wait-timeout", "--reconnect-timeout",
                     "--resume-interrupted", "--fetch", "--json", "--endpoint"}  # fmt: skip
