"""Teams (issue 19 parts 3-7): users and roles, fair queues, clean measurements, named endpoints and
the audit trail, through the real interfaces (`evalscope service users` and HTTP against a served app)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES, wait_job

from evalscope.cli import main as cli

ADMIN = "root-token-for-tests"
KEY = "sk-team-ENDPOINT-7d1e9b"


def add_user(capsys, work_dir: Path, name: str, role: str) -> str:
    """`evalscope service users add NAME --role ROLE --work-dir DIR`; its token (printed once)."""
    capsys.readouterr()
    assert cli(["service", "users", "add", name, "--role", role, "--work-dir", str(work_dir)]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("evs_") and len(token) > 40 and "shown only now" in out.err
    return token


def client(svc, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=svc.url, headers=headers, timeout=60)


def when(job: dict, key: str) -> datetime:
    return datetime.fromisoformat(job[key])


def test_three_roles_on_every_route(thread_service, tmp_path, capsys):
    work = tmp_path / "outputs"
    alice = add_user(capsys, work, "alice", "member")  # before the service starts
    svc = thread_service(work_dir=work, auth_token=ADMIN)
    bob = add_user(capsys, work, "bob", "member")  # while it runs: counts at once
    vic = add_user(capsys, work, "vic", "viewer")
    gate = tmp_path / "gate"
    with client(svc, ADMIN) as root, client(svc, alice) as a, client(svc, bob) as b, client(svc, vic) as v:
        assert client(svc, None).get("/api/v1/jobs").status_code == 401
        assert client(svc, "evs_wrong").get("/api/v1/jobs").status_code == 401
        assert a.get("/api/v1/whoami").json() == {"name": "alice", "role": "member", "via": "user"}
        assert root.get("/api/v1/whoami").json() == {"name": "admin", "role": "admin", "via": "auth_token"}

        body = {"steps": 1, "wait_for": str(gate)}
        ja = a.post("/api/v1/jobs/test", json=body)
        jb = b.post("/api/v1/jobs/test", json=body)
        assert (ja.status_code, jb.status_code) == (202, 202)
        ja, jb = ja.json(), jb.json()
        assert (ja["owner"], jb["owner"]) == ("alice", "bob")
        assert v.post("/api/v1/jobs/test", json=body).status_code == 403  # viewers only read

        def ids(c: httpx.Client) -> set[str]:
            return {j["id"] for j in c.get("/api/v1/jobs").json()["items"]}

        assert ids(a) == {ja["id"]} and ids(b) == {jb["id"]}
        assert ids(v) == ids(root) == {ja["id"], jb["id"]}
        # members: another user's job does not exist for them; viewers read every job and its files
        for path in ("", "/files", "/events", "/live"):
            assert a.get(f"/api/v1/jobs/{jb['id']}{path}").status_code == 404, path
        assert a.get(f"/api/v1/compare?a={jb['id']}&b={ja['id']}").status_code == 404  # nor in a comparison
        assert v.get(f"/api/v1/jobs/{ja['id']}").status_code == 200
        assert v.get(f"/api/v1/jobs/{ja['id']}/files").status_code == 200
        assert b.get(f"/api/v1/jobs/{jb['id']}/files").status_code == 200
        # cancel: viewer 403, another member 404, the owner 200, an admin any job
        assert v.post(f"/api/v1/jobs/{ja['id']}/cancel").status_code == 403
        assert b.post(f"/api/v1/jobs/{ja['id']}/cancel").status_code == 404
        assert a.post(f"/api/v1/jobs/{ja['id']}/cancel").json()["state"] == "cancelled"
        assert root.post(f"/api/v1/jobs/{jb['id']}/cancel").json()["state"] == "cancelled"
        # resume: only the owner (or an admin)
        assert b.post(f"/api/v1/jobs/{ja['id']}/resume").status_code == 404
        assert v.post(f"/api/v1/jobs/{ja['id']}/resume").status_code == 403
        gate.write_text("go")
        assert a.post(f"/api/v1/jobs/{ja['id']}/resume").status_code == 202
        assert wait_job(a, ja["id"])["state"] == "succeeded"

        # users: admins only
        for c in (a, v):
            assert c.get("/api/v1/users").status_code == 403
            assert c.post("/api/v1/users", json={"name": "eve"}).status_code == 403
        assert {u["name"]: u["role"] for u in root.get("/api/v1/users").json()["items"]} == {
            "alice": "member",
            "bob": "member",
            "vic": "viewer",
        }
        assert (
            "token" not in root.get("/api/v1/users").text
            and "token_hash" not in root.get("/api/v1/users").text
        )
        made = root.post("/api/v1/users", json={"name": "eve", "role": "viewer"})
        assert made.status_code == 201
        eve = made.json()["token"]
        assert root.post("/api/v1/users", json={"name": "eve"}).status_code == 409
        bad = root.post("/api/v1/users", json={"name": "no spaces"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "name"
        assert client(svc, eve).get("/api/v1/whoami").json()["role"] == "viewer"
        assert root.post("/api/v1/users/eve/revoke").json()["revoked_at"] is not None
        assert client(svc, eve).get("/api/v1/jobs").status_code == 401
        assert cli(["service", "users", "revoke", "bob", "--work-dir", str(work)]) == 0
        assert b.get("/api/v1/jobs").status_code == 401
        assert root.post("/api/v1/users/nobody/revoke").status_code == 404

        # endpoints: everyone lists, admins register and delete
        assert (
            a.post("/api/v1/endpoints", json={"name": "x", "url": "http://h:1/v1", "model": "m"}).status_code
            == 403
        )
        assert v.get("/api/v1/endpoints").status_code == 200
        assert (
            root.post(
                "/api/v1/endpoints", json={"name": "x", "url": "http://h:1/v1", "model": "m"}
            ).status_code
            == 201
        )
        assert a.delete("/api/v1/endpoints/x").status_code == 403
        assert root.delete("/api/v1/endpoints/x").status_code == 200
        assert root.delete("/api/v1/endpoints/x").status_code == 404

        # the audit trail: admins only
        assert a.get("/api/v1/audit").status_code == 403 and v.get("/api/v1/audit").status_code == 403
        trail = root.get("/api/v1/audit", params={"limit": 1000}).json()["items"]
    capsys.readouterr()
    assert cli(["service", "users", "list", "--json", "--work-dir", str(work)]) == 0
    listed = {u["name"]: u for u in json.loads(capsys.readouterr().out)}
    assert listed["bob"]["revoked_at"] is not None and listed["alice"]["revoked_at"] is None
    assert listed["alice"]["created_by"].startswith("cli") and listed["eve"]["created_by"] == "admin"

    # newest first; the file holds the same entries, oldest first
    lines = [json.loads(x) for x in (work / "audit.jsonl").read_text().splitlines()]
    assert lines[::-1] == trail
    seen = [(e["actor"], e["action"], e["target"]) for e in lines]
    expected = [
        ("alice", "job.submit", ja["id"]),
        ("bob", "job.submit", jb["id"]),
        ("alice", "job.cancel", ja["id"]),
        ("admin", "job.cancel", jb["id"]),
        ("alice", "job.resume", ja["id"]),
        ("admin", "user.add", "eve"),
        ("admin", "user.revoke", "eve"),
        ("admin", "endpoint.register", "x"),
        ("admin", "endpoint.delete", "x"),
    ]
    assert [s for s in seen if not s[0].startswith("cli")] == expected
    assert [(s[1], s[2]) for s in seen if s[0].startswith("cli")] == [
        ("user.add", "alice"),
        ("user.add", "bob"),
        ("user.add", "vic"),
        ("user.revoke", "bob"),
    ]
    assert all(datetime.fromisoformat(e["time"]) for e in lines)
    assert all(e["kind"] == "test" for e in lines if e["action"].startswith("job."))
    assert [e["role"] for e in lines if e["action"] == "user.add"] == ["member", "member", "viewer", "viewer"]
    # no token ever reaches the trail
    assert alice not in (work / "audit.jsonl").read_text()


def test_without_auth_the_service_is_open_until_a_user_exists(thread_service, tmp_path, capsys):
    work = tmp_path / "outputs"
    svc = thread_service(work_dir=work)
    with client(svc, None) as anon:
        assert anon.get("/api/v1/whoami").json() == {"name": None, "role": "admin", "via": "open"}
        job = anon.post("/api/v1/jobs/test", json={"steps": 1}).json()
        assert job["owner"] is None and wait_job(anon, job["id"])["state"] == "succeeded"
        assert anon.get("/api/v1/users").status_code == 200  # the anonymous caller is an admin
        token = add_user(capsys, work, "ops", "admin")
        assert anon.get("/api/v1/jobs").status_code == 401  # the first user turns authentication on
        with client(svc, token) as ops:
            assert ops.get("/api/v1/jobs").json()["total"] == 1
        assert anon.get("/health").status_code == 200
    assert json.loads((work / "audit.jsonl").read_text().splitlines()[0])["actor"] == "anonymous"


def test_a_user_with_twenty_queued_jobs_does_not_delay_another_users_one(thread_service, tmp_path, capsys):
    work = tmp_path / "outputs"
    alice = add_user(capsys, work, "alice", "member")
    bob = add_user(capsys, work, "bob", "member")
    svc = thread_service(work_dir=work, auth_token=ADMIN, max_concurrent_jobs=1)
    gate = tmp_path / "gate"
    with client(svc, alice) as a, client(svc, bob) as b:
        # One worker: alice's first job takes it and holds it until the gate opens.
        mine = [
            a.post("/api/v1/jobs/test", json={"steps": 1, "wait_for": str(gate)}).json()["id"]
            for _ in range(20)
        ]
        theirs = b.post("/api/v1/jobs/test", json={"steps": 1}).json()["id"]
        waiting = b.get(f"/api/v1/jobs/{theirs}").json()
        assert waiting["state"] == "queued" and waiting["waits"][0]["reason"] == "worker"
        gate.write_text("go")
        jobs = {i: wait_job(a if i in mine else b, i, timeout=120) for i in [*mine, theirs]}
    assert all(j["state"] == "succeeded" for j in jobs.values())
    order = sorted(jobs, key=lambda i: when(jobs[i], "started_at"))
    assert order[0] == mine[0] and order[1] == theirs  # bob's one job went next, not 20th
    assert order[2:] == mine[1:]  # alice's own jobs kept their order
    assert jobs[theirs]["waits"][0]["reason"] == "worker" and jobs[theirs]["waits"][0]["seconds"] >= 0


def test_per_user_limit_lets_another_user_run(thread_service, tmp_path, capsys):
    work = tmp_path / "outputs"
    alice = add_user(capsys, work, "alice", "member")
    bob = add_user(capsys, work, "bob", "member")
    svc = thread_service(work_dir=work, auth_token=ADMIN, max_concurrent_jobs=2, max_running_per_user=1)
    gate = tmp_path / "gate"
    body = {"steps": 1, "wait_for": str(gate)}
    with client(svc, alice) as a, client(svc, bob) as b:
        a1 = a.post("/api/v1/jobs/test", json=body).json()["id"]
        a2 = a.post("/api/v1/jobs/test", json=body).json()["id"]
        b1 = b.post("/api/v1/jobs/test", json=body).json()["id"]
        wait_job(b, b1, states=("running",))
        wait_job(a, a1, states=("running",))
        held = a.get(f"/api/v1/jobs/{a2}").json()
        assert held["state"] == "queued"
        assert held["waits"][-1]["reason"] == "user_limit" and "alice" in held["waits"][-1]["what"]
        gate.write_text("go")
        done = wait_job(a, a2)
    assert done["state"] == "succeeded" and any(w["reason"] == "user_limit" for w in done["waits"])


# -- clean measurements ------------------------------------------------------------------------------
def _perf(url: str, number: int = 6) -> dict:
    return {
        "model": "m",
        "url": url + "/v1/chat/completions",
        "number": number,
        "parallel": 1,
        "prompt": "hi",
    }


@pytest.fixture
def slow_mocks(mock_server):
    # ~0.3 s a request: a load test of 6 lasts seconds, far longer than starting a job
    return [mock_server(ttft=0.05, itl=0.025, output_tokens=10) for _ in range(2)]


def test_load_tests_of_one_model_server_never_overlap_of_two_do(thread_service, slow_mocks):
    one, two = slow_mocks
    svc = thread_service(max_concurrent_jobs=3)
    with client(svc, None) as c:
        first = c.post("/api/v1/jobs/perf", json=_perf(one.url)).json()["id"]
        # the same server named another way (host case, trailing slash, the base URL)
        same = c.post("/api/v1/jobs/perf", json={**_perf(one.url), "url": one.url + "/v1/"}).json()["id"]
        other = c.post("/api/v1/jobs/perf", json=_perf(two.url)).json()["id"]
        held = c.get(f"/api/v1/jobs/{same}").json()
        assert held["state"] == "queued" and held["waits"][-1] == {
            **held["waits"][-1],
            "reason": "endpoint",
            "job_id": first,
        }
        jobs = {i: wait_job(c, i, timeout=180) for i in (first, same, other)}
    assert all(j["state"] == "succeeded" for j in jobs.values()), jobs
    a, b, o = jobs[first], jobs[same], jobs[other]
    # serialised: the second load test of that server started after the first ended
    assert when(b, "started_at") >= when(a, "finished_at")
    wait = [w for w in b["waits"] if w["reason"] == "endpoint"]
    assert len(wait) == 1 and wait[0]["job_id"] == first and wait[0]["seconds"] > 0
    assert one.url.split("//")[1] in wait[0]["what"] and "model m" in wait[0]["what"]
    # overlapped: the load test of the other server ran during the first
    assert when(o, "started_at") < when(a, "finished_at") and when(a, "started_at") < when(o, "finished_at")
    assert o["waits"] == [] and a["waits"] == []


def test_an_eval_waits_while_its_server_is_under_a_load_test(thread_service, slow_mocks):
    mock = slow_mocks[0]
    svc = thread_service(max_concurrent_jobs=2, data_dirs=[FIXTURES])
    eval_body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["gsm8k"],
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        "limit": 2,
    }
    with client(svc, None) as c:
        perf = c.post("/api/v1/jobs/perf", json=_perf(mock.url)).json()["id"]
        ev = c.post("/api/v1/jobs/eval", json=eval_body).json()["id"]
        live = c.get(f"/api/v1/jobs/{ev}").json()
        assert live["state"] == "queued" and live["waits"][-1]["reason"] == "endpoint"
        jp, je = wait_job(c, perf, timeout=180), wait_job(c, ev, timeout=180)
    assert jp["state"] == je["state"] == "succeeded"
    assert when(je, "started_at") >= when(jp, "finished_at")
    (wait,) = [w for w in je["waits"] if w["reason"] == "endpoint"]
    assert wait["job_id"] == perf and wait["seconds"] > 0


def test_isolation_off_lets_them_overlap(thread_service, slow_mocks):
    mock = slow_mocks[0]
    svc = thread_service(max_concurrent_jobs=2, endpoint_isolation="off")
    with client(svc, None) as c:
        ids = [c.post("/api/v1/jobs/perf", json=_perf(mock.url)).json()["id"] for _ in range(2)]
        a, b = (wait_job(c, i, timeout=180) for i in ids)
    assert when(b, "started_at") < when(a, "finished_at") and b["waits"] == []


# -- named endpoints ---------------------------------------------------------------------------------
def test_named_endpoint_key_is_encrypted_and_never_shown(
    thread_service, tmp_path, mock_server, monkeypatch, caplog
):
    import logging

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EVALSCOPE_SECRET_KEY", "team-passphrase-for-tests")
    mock = mock_server(api_key=KEY, output_tokens=5)
    work = tmp_path / "outputs"
    svc = thread_service(work_dir=work, auth_token=ADMIN, data_dirs=[FIXTURES])
    answers: list[str] = []
    with client(svc, ADMIN) as root:
        made = root.post(
            "/api/v1/endpoints",
            json={"name": "team-m", "url": mock.url + "/v1", "model": "m", "api_key": KEY},
        )
        answers.append(made.text)
        assert made.status_code == 201 and made.json()["has_api_key"] is True
        answers.append(root.get("/api/v1/endpoints").text)
        pf = root.post("/api/v1/jobs/perf", json={"endpoint": "team-m", "number": 2, "prompt": "hi"})
        ev = root.post(
            "/api/v1/jobs/eval",
            json={
                "endpoint": "team-m",
                "datasets": ["gsm8k"],
                "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
                "limit": 2,
            },
        )
        answers += [pf.text, ev.text]
        assert pf.status_code == ev.status_code == 202, (pf.text, ev.text)
        jp, je = wait_job(root, pf.json()["id"], timeout=120), wait_job(root, ev.json()["id"], timeout=120)
        answers += [json.dumps(jp), json.dumps(je), root.get("/api/v1/jobs").text]
        # the key reached the model (the mock refuses requests without it)
        assert jp["state"] == "succeeded", jp
        assert jp["result"]["results"]["parallel_1_number_2"]["metrics"]["Succeed requests"] == 2
        assert je["state"] == "succeeded" and je["result"]["result"]["gsm8k"]["counts"]["error"] == 0
        assert jp["endpoint"] == je["endpoint"] == "team-m"
        assert jp["config"]["api_key"] == "***" and jp["config"]["url"].startswith(mock.url + "/v1")
        assert je["config"]["api_url"] == mock.url + "/v1" and je["config"]["model"] == "m"
        # what a request may not do with an endpoint
        unknown = root.post("/api/v1/jobs/perf", json={"endpoint": "nope", "number": 1, "prompt": "hi"})
        assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "endpoint"
        both = root.post(
            "/api/v1/jobs/eval", json={"endpoint": "team-m", "api_url": "http://h/v1", "datasets": ["gsm8k"]}
        )
        assert both.status_code == 400 and both.json()["errors"][0]["field"] == "api_url"
        answers.append(root.get("/api/v1/audit").text)
        # a key is refused without the passphrase; an endpoint without a key is fine
        monkeypatch.delenv("EVALSCOPE_SECRET_KEY")
        refused = root.post(
            "/api/v1/endpoints",
            json={"name": "k2", "url": mock.url + "/v1", "model": "m", "api_key": "sk-other-123456"},
        )
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "api_key"
        assert "EVALSCOPE_SECRET_KEY" in refused.json()["message"]
        assert (
            root.post(
                "/api/v1/endpoints", json={"name": "k3", "url": mock.url + "/v1", "model": "m"}
            ).status_code
            == 201
        )
        creds = root.post(
            "/api/v1/endpoints", json={"name": "k4", "url": f"http://u:{KEY}@h/v1", "model": "m"}
        )
        assert creds.status_code == 400 and KEY not in creds.text
    secret = KEY.encode()
    for text in answers:
        assert KEY not in text
    # not in the database (its WAL included), nor in any file of the jobs, the audit trail, or the logs
    stored = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "service.db" for p in stored)
    assert [p for p in stored if secret in p.read_bytes()] == []
    assert KEY not in caplog.text
