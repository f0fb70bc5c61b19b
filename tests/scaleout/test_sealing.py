"""API keys in Celery messages: sealed with EVALSCOPE_SECRET_KEY, opened by a worker with the same
passphrase, refused (job failed, saying why) by a worker without it. Real Redis, PostgreSQL, worker."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from conftest import ThreadService, make_database, redis_url, wait_job

from evalscope.jobs.celery.app import DEFAULT_QUEUE
from evalscope.jobs.celery.sealing import ENV, SEALED, SealError, seal, unseal
from evalscope.mock import MockConfig, MockServer

SECRET = "sk-sealed-4f1d9c"


def _payload() -> dict:
    return {
        "job_id": "j1",
        "kind": "perf",
        "config": {"model": "m", "api_key": SECRET, "headers": {"X-Api-Key": "hk-2", "X-Trace": "t"}},
        "scrub_values": [SECRET, "hk-2"],
    }


def test_seal_round_trip_and_refusals():
    sealed = seal(_payload(), "pass-1")
    text = json.dumps(sealed)
    assert SECRET not in text and "hk-2" not in text and SEALED in sealed
    assert sealed["config"]["headers"]["X-Trace"] == "t"
    assert unseal(sealed, "pass-1") == _payload()
    with pytest.raises(SealError, match=ENV):
        unseal(sealed, None)
    with pytest.raises(SealError, match="not the service's"):
        unseal(sealed, "pass-2")
    assert seal(_payload(), None) == _payload()  # no passphrase: as is
    no_secret = {"job_id": "j2", "kind": "perf", "config": {"model": "m", "api_key": "EMPTY"}}
    assert seal(no_secret, "pass-1") == no_secret and unseal(no_secret, None) == no_secret


def _queued_bodies(broker: str) -> list[bytes]:
    """The bodies of the messages waiting on the queue, decoded as kombu stores them (base64)."""
    import redis

    raw = redis.Redis.from_url(broker).lrange(DEFAULT_QUEUE, 0, -1)
    out = []
    for item in raw:
        msg = json.loads(item)
        body = msg["body"]
        out.append(
            base64.b64decode(body)
            if msg.get("properties", {}).get("body_encoding") == "base64"
            else body.encode()
        )
    return out


@pytest.fixture
def sealed_cluster(tmp_path, pg_admin, redis_ok, monkeypatch):
    db, drop = make_database(pg_admin)
    broker = redis_url()
    mock = MockServer(MockConfig(output_tokens=4, ttft=0.005, itl=0.001, api_key=SECRET)).start()
    prompts = tmp_path / "data" / "p.txt"
    prompts.parent.mkdir()
    prompts.write_text("hello\nworld\n")
    monkeypatch.setenv(ENV, "service-passphrase")
    try:
        with (
            ThreadService(
                work_dir=tmp_path / "out", database_url=db, broker_url=broker, data_dirs=[prompts.parent]
            ) as svc,
            httpx.Client(base_url=svc.url, timeout=60) as c,
        ):
            yield {"client": c, "broker": broker, "db": db, "mock": mock, "prompts": prompts}
    finally:
        mock.stop()
        drop()


def _submit(cl) -> str:
    r = cl["client"].post(
        "/api/v1/jobs/perf",
        json={
            "model": "m",
            "url": cl["mock"].url + "/v1/chat/completions",
            "dataset": "line_by_line",
            "dataset_path": str(cl["prompts"]),
            "number": 6,
            "parallel": 2,
            "max_tokens": 4,
            "api_key": SECRET,
        },
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_the_key_is_sealed_in_redis_and_a_worker_with_the_passphrase_uses_it(sealed_cluster, start_worker):
    cl = sealed_cluster
    job_id = _submit(cl)
    bodies = _queued_bodies(cl["broker"])  # no worker yet: the message waits in Redis
    assert len(bodies) == 1
    assert SECRET.encode() not in bodies[0] and SEALED.encode() in bodies[0] and job_id.encode() in bodies[0]
    start_worker(cl["broker"], cl["db"]).wait_ready()  # inherits the same EVALSCOPE_SECRET_KEY
    job = wait_job(cl["client"], job_id)
    assert job["state"] == "succeeded", job
    # the mock answers 401 without the exact key: every request succeeding means it arrived intact
    (point,) = job["result"]["results"].values()
    assert point["metrics"]["Succeed requests"] == 6


def test_a_worker_without_the_passphrase_fails_the_job_saying_why(sealed_cluster, start_worker, monkeypatch):
    cl = sealed_cluster
    monkeypatch.setenv(ENV, "another-passphrase")
    start_worker(cl["broker"], cl["db"]).wait_ready()
    job = wait_job(cl["client"], _submit(cl))
    assert job["state"] == "failed" and ENV in job["error"] and "not the service's" in job["error"], job
    assert SECRET not in json.dumps(job)
