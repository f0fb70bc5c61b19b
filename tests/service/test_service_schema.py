"""Property-based run of schemathesis over /openapi.json: no input gets a 5xx answer.

(schemathesis' own pytest plugin does not load under this pytest, so the operations' hypothesis
strategies are driven directly.)
"""

from __future__ import annotations

import schemathesis
from conftest import ThreadService
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 20


def test_no_input_gets_a_server_error(tmp_path):
    with ThreadService(work_dir=tmp_path / "outputs", job_kinds={}, max_concurrent_jobs=1) as svc:
        schema = schemathesis.openapi.from_url(svc.url + "/openapi.json")
        ops = [result.ok() for result in schema.get_all_operations()]
        labels = {op.label for op in ops}
        assert {"POST /api/v1/eval", "POST /api/v1/perf", "GET /health", "GET /api/v1/jobs"} <= labels
        failures: dict[str, str] = {}
        calls = [0]
        for op in ops:

            @given(case=op.as_strategy())
            @settings(
                max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
            )
            def run(case):
                calls[0] += 1
                case.call_and_validate(checks=[not_a_server_error], timeout=30)

            try:
                run()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures[op.label] = f"{type(exc).__name__}: {str(exc)[:2000]}"
        assert not failures, failures
        assert calls[0] >= len(ops) * 5  # the run really exercised every operation
