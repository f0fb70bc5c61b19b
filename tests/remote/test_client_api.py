"""The Python client (`from evalscope.remote import ServiceClient, AsyncServiceClient`) against the running
service: typed jobs, the event stream, files; errors as exceptions with one-line messages; its models
kept in step with the service's."""

from __future__ import annotations

import asyncio
import json

import pytest

from evalscope.eval import TaskConfig
from evalscope.remote import (
    AsyncServiceClient,
    RemoteJob,
    ServiceClient,
    ServiceError,
    ServiceUnreachable,
    WaitTimeout,
)

from .conftest import GSM8K_SCORE, TOKEN


def test_async_client_submits_follows_and_downloads(stack, tmp_path):
    cfg = TaskConfig(model="m", api_url=stack.api_url, datasets=["gsm8k"])

    async def go() -> tuple[list[RemoteJob], RemoteJob, list]:
        async with AsyncServiceClient(stack.service.url, TOKEN) as svc:
            assert (await svc.health()).status == "ok"
            job = await svc.submit_eval(cfg)
            assert job.state == "queued" and job.kind == "eval" and job.config["datasets"] == ["gsm8k"]
            seen = [j async for j in svc.follow(job.id)]
            final = await svc.get_job(job.id)
            written = await svc.fetch(job.id, tmp_path / "out", ["reports/m/gsm8k.json"])
            return seen, final, written

    seen, final, written = asyncio.run(go())
    assert seen[-1].state == "succeeded" and seen[-1].is_final
    assert [j.progress.done for j in seen] == sorted(j.progress.done for j in seen)  # never goes back
    assert final.result is not None and final.result["result"]["gsm8k"]["score"] == GSM8K_SCORE
    assert written == [tmp_path / "out" / "reports" / "m" / "gsm8k.json"]
    assert json.loads(written[0].read_text())["score"] == GSM8K_SCORE


def test_sync_client_lists_waits_and_raises_typed_errors(stack, dead_port):
    with ServiceClient(stack.service.url, TOKEN) as svc:
        assert TOKEN not in repr(svc)
        job = svc.submit_perf(
            {
                "model": "m",
                "url": stack.api_url + "/chat/completions",
                "number": 4,
                "parallel": 2,
                "dataset": "line_by_line",
                "dataset_path": str(stack.prompts),
            }  # fmt: skip
        )
        done = svc.wait(job.id)
        assert done.state == "succeeded"
        point = done.result["results"]["parallel_2_number_4"]["metrics"]
        assert point["Succeed requests"] == 4
        assert job.id in [j.id for j in svc.list_jobs(kind="perf", limit=500).items]
        with pytest.raises(ServiceError) as missing:
            svc.get_job("0" * 32)
        assert missing.value.status == 404
        with pytest.raises(ServiceError) as late:
            svc.cancel(job.id)
        assert late.value.status == 409
        with pytest.raises(ServiceError) as bad:
            svc.submit_eval({"model": "m", "api_url": stack.api_url, "datasets": ["gsm8k"],
                             "dataset_args": {"gsm8k": {"local_path": "/etc"}}})  # fmt: skip
        assert bad.value.status == 400 and bad.value.errors[0]["field"] == "dataset_args.gsm8k.local_path"
    with ServiceClient(stack.service.url, "") as anon, pytest.raises(ServiceError) as unauthorized:
        anon.list_jobs()
    assert unauthorized.value.status == 401
    with (
        ServiceClient(f"http://127.0.0.1:{dead_port}", "") as gone,
        pytest.raises(ServiceUnreachable) as down,
    ):
        gone.health()
    assert (
        down.value.message == f"cannot reach the service at http://127.0.0.1:{dead_port}: connection refused"
    )
    # waiting on a service that is not there gives up after reconnect_s, naming the cause
    with ServiceClient(f"http://127.0.0.1:{dead_port}", "", reconnect_s=0.5) as gone:
        with pytest.raises(ServiceUnreachable, match="connection refused"):
            gone.wait("abc")
        with pytest.raises(WaitTimeout):
            gone.wait("abc", timeout=0.2)


def test_wait_timeout_leaves_the_job_running(stack):
    with ServiceClient(stack.service.url, TOKEN) as svc:
        job = svc.submit_perf(
            {
                "model": "m",
                "url": stack.api_url + "/chat/completions",
                "number": 200,
                "parallel": 1,
                "rate": 1,
                "dataset": "line_by_line",
                "dataset_path": str(stack.prompts),
            }  # fmt: skip
        )
        with pytest.raises(WaitTimeout) as timed_out:
            svc.wait(job.id, timeout=1.0)
        assert timed_out.value.job is not None and timed_out.value.job.id == job.id
        assert svc.get_job(job.id).state in ("queued", "running")
        assert svc.cancel(job.id).state == "cancelled"


def test_models_keep_every_field_of_the_services():
    from evalscope.remote import models
    from evalscope.service import schemas

    pairs = [
        (schemas.JobOut, models.RemoteJob),
        (schemas.JobListOut, models.JobList),
        (schemas.FileListOut, models.FileList),
        (schemas.FileOut, models.RemoteFile),
        (schemas.ProgressOut, models.Progress),
        (schemas.HealthOut, models.Health),
    ]
    for server, client in pairs:
        assert set(server.model_fields) <= set(client.model_fields), (server.__name__, client.__name__)
    from evalscope.jobs.models import FINAL_STATES

    assert {s.value for s in FINAL_STATES} == models.FINAL_STATES
