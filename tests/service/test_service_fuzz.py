"""Stateful schemathesis run against a real service on loopback: no server errors.

The state machine is built from the service's own OpenAPI document, whose links say what a client
can do with a job it was just given (get, cancel, resume, list files, download config.json). Bodies
are generated from the request schemas; the model URL of each generated eval/perf body is pointed
at a local mock model and the sizes are clamped, so valid bodies create real jobs that run to the
end in a second. The one 5xx the service answers on purpose is the seed routes' 500 "the job
failed" (with the job's id): a generated job may legitimately fail against the mock (an API the
mock does not speak, a prompt file that does not exist...). Every other 5xx fails the test.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import schemathesis
from conftest import FIXTURES, ThreadService
from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky

SEED_ROUTES = {"/api/v1/eval", "/api/v1/perf"}
# Long enough for a few hundred calls, short enough for CI (the run takes ~30-60 s).
EXAMPLES = 40
STEPS = 10


def _clamp(body: dict[str, Any], mock_url: str) -> None:
    """Point a generated eval/perf body at the mock and keep its job small (a second, not hours)."""
    if "url" in body or "number" in body or "parallel" in body:  # perf
        body["url"] = mock_url
        body["number"] = (
            [
                min(int(n), 3) if isinstance(n, int) and not isinstance(n, bool) else n
                for n in (body.get("number") or [2])
            ]
            if isinstance(body.get("number"), list)
            else [2]
        )
        body["parallel"] = [1] * len(body["number"])
        body["number"] = list(range(1, len(body["number"]) + 1))  # distinct points
        body["warmup_num"] = 0
        body["sleep_interval"] = 0
        body.pop("duration", None)
        for key in ("connect_timeout", "read_timeout", "total_timeout"):
            body.pop(key, None)
        if isinstance(body.get("rate"), int | float) and body["rate"] > 0:
            body["rate"] = max(body["rate"], 50.0)
        if body.get("dataset") not in ("openqa", "line_by_line", "custom"):
            body["dataset"] = "openqa"  # a random name is only ever a 400
    if "api_url" in body or "datasets" in body:  # eval
        body["api_url"] = mock_url
        body["limit"] = 2
        body["timeout"] = 10
        body["max_retries"] = 0
        body.pop("eval_batch_size", None)
        body["datasets"] = ["gsm8k"]  # the fixture copy (a random name is only ever a 400)
        body.pop("dataset_args", None)


def test_stateful_fuzz_no_server_errors(tmp_path, mock_server, monkeypatch):
    # perf's default dataset (openqa), so generated perf bodies run real jobs (workers inherit this)
    hc3 = tmp_path / "datasets" / "AI-ModelScope" / "HC3-Chinese"
    hc3.mkdir(parents=True)
    (hc3 / "open_qa.jsonl").write_text("".join(json.dumps({"question": f"q{i}?"}) + "\n" for i in range(5)))
    (tmp_path / "datasets" / "gsm8k").symlink_to(FIXTURES / "gsm8k")
    monkeypatch.setenv("EVALSCOPE_DATASET_DIR", str(tmp_path / "datasets"))
    mock = mock_server(output_tokens=2)
    mock_url = mock.url + "/v1"
    with ThreadService(work_dir=tmp_path / "outputs", job_kinds={}, max_concurrent_jobs=4) as svc:
        schema = schemathesis.openapi.from_url(svc.url + "/openapi.json")
        calls: list[tuple[str, int]] = []
        errors: list[str] = []
        job_failures: list[str] = []

        class Machine(schema.as_state_machine()):  # type: ignore[misc]
            def before_call(self, case):
                if (
                    isinstance(case.body, dict)
                    and case.method.upper() == "POST"
                    and case.path in (*SEED_ROUTES, "/api/v1/jobs/eval", "/api/v1/jobs/perf")
                ):
                    _clamp(case.body, mock_url)

            def get_call_kwargs(self, case):
                return {"base_url": svc.url, "timeout": 60}

            def validate_response(self, response, case, additional_checks=None, **kwargs):
                status = response.status_code
                calls.append((f"{case.method.upper()} {case.path}", status))
                if status < 500:
                    return
                try:
                    body = response.json()
                except ValueError:
                    body = {}
                if status == 500 and case.path in SEED_ROUTES and body.get("job_id"):
                    job_failures.append(str(body.get("message"))[:300])
                    return  # the seed routes' documented "the job failed" answer
                errors.append(
                    f"{case.method.upper()} {case.path} -> {status}: {response.text[:500]}\n"
                    f"body: {str(case.body)[:500]}"
                )

        for _ in range(3):
            try:
                Machine.run(
                    settings=settings(
                        max_examples=EXAMPLES,
                        stateful_step_count=STEPS,
                        deadline=None,
                        database=None,
                        suppress_health_check=list(HealthCheck),
                    )
                )
            except Flaky:
                # Which links exist depends on live server state (a job queued or already done
                # decides whether resume answers 202 or 409), so a replayed prefix can offer other
                # rules and hypothesis flags its own replay as flaky. Server errors are collected
                # by validate_response whatever happens, and the calls made so far still count.
                pass
            if len(calls) >= 200:
                break
        assert not errors, "\n\n".join(errors[:5])
        # the run really exercised the API: hundreds of calls, jobs created and followed by their links
        assert len(calls) >= 200, len(calls)
        created = [
            c for c in calls if c[0] in ("POST /api/v1/jobs/eval", "POST /api/v1/jobs/perf") and c[1] == 202
        ]
        followed = {op for op, status in calls if "{job_id}" in op and status in (200, 202, 409)}
        assert created, calls[:50]
        statuses = Counter(status for _, status in calls)
        print(f"{len(calls)} calls, statuses {dict(statuses)}, {len(created)} jobs created")
        print("jobs failed against the mock:", *sorted(set(job_failures)), sep="\n  ")
        assert {"GET /api/v1/jobs/{job_id}", "POST /api/v1/jobs/{job_id}/cancel"} <= followed, followed
