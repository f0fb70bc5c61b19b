"""API keys are used (the mock demands one) but never stored, logged or returned."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES, wait_job

from evalscope.mock import MockConfig, MockServer

KEY = "sk-TOPSECRET-4f9c2e7a"


@pytest.fixture
def keyed_mock():
    mock = MockServer(MockConfig(api_key=KEY, output_tokens=5)).start()
    yield mock
    mock.stop()


def test_api_key_used_but_never_stored_logged_or_returned(seed_service, keyed_mock):
    svc, _ = seed_service  # runs with --debug: the most verbose logs and answers
    mock = keyed_mock
    answers: list[str] = []
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        ev = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": mock.url + "/v1",
                "api_key": KEY,
                "datasets": ["gsm8k"],
                "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
                "limit": 3,
            },
        )
        answers.append(ev.text)
        assert ev.status_code == 200, ev.text
        # The key reached the model: the mock rejects requests without it.
        assert ev.json()["result"]["gsm8k"]["counts"]["error"] == 0
        pf = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url + "/v1/chat/completions",
                "api_key": KEY,
                "number": 4,
                "parallel": 2,
                "prompt": "hello",
                "headers": {"X-Api-Key": KEY, "X-Trace": "visible"},
            },
        )
        answers.append(pf.text)
        assert pf.status_code == 200, pf.text
        assert pf.json()["results"]["parallel_2_number_4"]["metrics"]["Succeed requests"] == 4
        # Without the key the same perf run fails every request: the key above was really needed.
        nokey = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url + "/v1/chat/completions",
                "number": 2,
                "parallel": 1,
                "prompt": "hello",
            },
        )
        # (the connection test fails it at once: 401 from the model)
        assert nokey.status_code == 500 and "answered 401" in nokey.json()["message"]
        answers.append(nokey.text)
        # A failing job whose error would mention the key (debug mode: traceback included).
        bad = c.post("/api/v1/jobs/test", json={"steps": 1, "fail": True, "api_key": KEY})
        job = wait_job(c, bad.json()["id"])
        assert job["state"] == "failed" and job["traceback"] and "***" in job["error"]
        answers.append(bad.text)
        # An eval that fails in the worker (the model is down), with its traceback (debug mode).
        failed = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": "http://127.0.0.1:1/v1",
                "api_key": KEY,
                "datasets": ["gsm8k"],
                "limit": 1,
                "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
            },
        )
        assert failed.status_code == 500 and failed.json()["traceback"], failed.text
        answers.append(failed.text)
        listing = c.get("/api/v1/jobs", params={"limit": 500})
        answers.append(listing.text)
        for item in listing.json()["items"]:
            answers.append(c.get(f"/api/v1/jobs/{item['id']}").text)
            for f in c.get(f"/api/v1/jobs/{item['id']}/files").json()["files"]:
                answers.append(c.get(f"/api/v1/jobs/{item['id']}/files/{f['path']}").text)
        perf_job = c.get(f"/api/v1/jobs/{pf.json()['job_id']}").json()
        assert perf_job["config"]["api_key"] == "***"
        assert perf_job["config"]["headers"] == {"X-Api-Key": "***", "X-Trace": "visible"}
        assert c.get(f"/api/v1/jobs/{ev.json()['job_id']}").json()["config"]["api_key"] == "***"
        answers.append(c.get("/metrics").text)
    for text in answers:
        assert KEY not in text
    files = [p for p in Path(svc.work_dir).rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"service.db", "config.json", "job.json", "run.log"} <= names
    for path in files:  # the database (and its WAL), configs, logs, predictions, perf records
        assert KEY.encode() not in path.read_bytes(), path
    log = svc.log_text()
    assert "POST /api/v1/eval" in log and KEY not in log


# -- every kind of secret, through HTTP and through the CLI engines alone ---------------------------
PKEY, SIG, XKEY, COOKIE, PW = (
    "sk-PERFKEY-71c2",
    "sig-SIGNATURE-90ab",
    "xk-XAPIKEY-33de",
    "ck-COOKIE-5e6f",
    "pw-MYPASS-12ff",
)
QKEY, UKEY, EKEY = "q-QUERYKEY-8a8a", "u-USERINFO-4b4b", "sk-EVALKEY-6c6c"
ALL = [PKEY, SIG, XKEY, COOKIE, PW, QKEY, UKEY, EKEY]
HEADERS = {
    "X-Auth-Signature": SIG,
    "X-Api-Key": XKEY,
    "Cookie": f"session={COOKIE}",
    "X-My-Password": PW,
    "X-Trace": "visible-trace",
}


def _forms(secret: str) -> list[str]:
    """A secret as it may be written: as is, and as Basic auth carries a user:secret pair."""
    import base64

    return [secret, base64.b64encode(f"user:{secret}".encode()).decode()]


@pytest.fixture
def secret_mocks(mock_server):
    # h: only the exact headers pass (the api_key goes as "Authorization: Bearer"); q: ?key=; u: user:key@host.
    h = mock_server(
        output_tokens=3,
        required_headers={
            **{k: v for k, v in HEADERS.items() if k != "X-Trace"},
            "Authorization": f"Bearer {PKEY}",
        },
    )
    q = mock_server(output_tokens=3, api_key=QKEY)
    u = mock_server(output_tokens=3, api_key=UKEY)
    return h, q, u


def _userinfo(url: str, secret: str) -> str:
    return url.replace("http://", f"http://user:{secret}@")


def test_every_secret_kind_reaches_the_model_and_nothing_else(process_service, secret_mocks, tmp_path):
    h, q, u = secret_mocks
    svc = process_service(
        "--debug", "--data-dir", str(FIXTURES)
    )  # debug: tracebacks in answers, verbose logs
    answers: list[str] = []
    gsm8k = {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}
    with httpx.Client(base_url=svc.url, timeout=120) as c:

        def post(path: str, body: dict) -> httpx.Response:
            r = c.post(path, json=body)
            answers.append(r.text)
            return r

        # perf: api_key + five secret headers; the mock refuses any request missing one of them
        pf = post(
            "/api/v1/perf",
            {
                "model": "m",
                "url": h.url + "/v1/chat/completions",
                "api_key": PKEY,
                "headers": HEADERS,
                "number": 3,
                "parallel": 1,
                "prompt": "hi",
            },
        )
        assert pf.status_code == 200, pf.text
        assert pf.json()["results"]["parallel_1_number_3"]["metrics"]["Succeed requests"] == 3
        # perf: the key in the URL query, then in the URL's user info (sent as Basic auth)
        for url in (
            q.url + f"/v1/chat/completions?key={QKEY}",
            _userinfo(u.url, UKEY) + "/v1/chat/completions",
        ):
            r = post("/api/v1/perf", {"model": "m", "url": url, "number": 2, "parallel": 1, "prompt": "hi"})
            assert r.status_code == 200, r.text
            assert r.json()["results"]["parallel_1_number_2"]["metrics"]["Succeed requests"] == 2
        # eval: an api_key (the mock takes the query key instead) and a key in the query / user info
        for api_url, key in ((q.url + f"/v1?key={QKEY}", EKEY), (_userinfo(u.url, UKEY) + "/v1", "EMPTY")):
            r = post(
                "/api/v1/eval",
                {
                    "model": "m",
                    "api_url": api_url,
                    "api_key": key,
                    "datasets": ["gsm8k"],
                    "dataset_args": gsm8k,
                    "limit": 2,
                },
            )
            assert r.status_code == 200, r.text
            assert r.json()["result"]["gsm8k"]["counts"]["error"] == 0
        # a queued job (202 answer) and a job that fails at a dead port: its error quotes the URL
        job = post(
            "/api/v1/jobs/perf",
            {
                "model": "m",
                "url": _userinfo(q.url, UKEY) + f"/v1?key={QKEY}",
                "api_key": PKEY,
                "headers": HEADERS,
                "number": 1,
                "prompt": "hi",
            },
        )
        assert job.status_code == 202, job.text
        wait_job(c, job.json()["id"], timeout=120)
        dead = post(
            "/api/v1/perf",
            {
                "model": "m",
                "url": f"http://user:{UKEY}@127.0.0.1:1/v1?key={QKEY}",
                "api_key": PKEY,
                "headers": HEADERS,
                "number": 1,
                "prompt": "hi",
            },
        )
        assert dead.status_code == 500
        dead_eval = post(
            "/api/v1/eval",
            {
                "model": "m",
                "api_url": f"http://user:{UKEY}@127.0.0.1:1/v1?key={QKEY}",
                "api_key": EKEY,
                "datasets": ["gsm8k"],
                "dataset_args": gsm8k,
                "limit": 1,
            },
        )
        assert dead_eval.status_code == 500
        # a refused body that names the URL field
        bad = post("/api/v1/perf", {"model": "m", "url": f"ftp://user:{UKEY}@h/?key={QKEY}", "number": 1})
        assert bad.status_code == 400 and "url" in bad.text
        # what the store answers for them
        perf_job = c.get(f"/api/v1/jobs/{pf.json()['job_id']}").json()
        assert perf_job["config"]["api_key"] == "***"
        assert perf_job["config"]["headers"] == {
            **{k: "***" for k in HEADERS if k != "X-Trace"},
            "X-Trace": "visible-trace",
        }
        queued = c.get(f"/api/v1/jobs/{job.json()['id']}").json()["config"]["url"]
        assert queued.startswith("http://user:***@127.0.0.1:") and queued.endswith("?key=***")
        listing = c.get("/api/v1/jobs", params={"limit": 500})
        answers.append(listing.text)
        assert listing.json()["total"] == 8
        for item in listing.json()["items"]:
            answers.append(c.get(f"/api/v1/jobs/{item['id']}").text)
            files = c.get(f"/api/v1/jobs/{item['id']}/files")
            answers.append(files.text)
            for f in files.json()["files"]:
                answers.append(c.get(f"/api/v1/jobs/{item['id']}/files/{f['path']}").text)
        answers.append(c.get("/metrics").text)
    # The model got every secret: the mocks above answer 401 without them; each saw its requests.
    for mock in (h, q, u):
        assert mock.stats()["by_status"].get("200", 0) >= 2, mock.stats()
    leaks = [(s, text[:200]) for text in answers for secret in ALL for s in _forms(secret) if s in text]
    assert not leaks
    files = [p for p in Path(svc.work_dir).rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {
        "service.db",
        "config.json",
        "job.json",
        "run.log",
        "benchmark_args.json",
        "report.html",
    } <= names, names
    for path in files:  # the database (and its WAL), configs, logs, predictions, perf records, reports
        data = path.read_bytes()
        for secret in ALL:
            for s in _forms(secret):
                assert s.encode() not in data, (path, s)
    log = svc.log_text()
    assert "POST /api/v1/perf" in log
    assert not [s for secret in ALL for s in _forms(secret) if s in log]


def test_cli_engines_alone_write_no_secret(secret_mocks, tmp_path):
    from evalscope.cli import main

    h, q, u = secret_mocks
    perf_out, eval_out = tmp_path / "perf", tmp_path / "eval"
    headers = [f"{k}={v}" for k, v in HEADERS.items()]
    assert (
        main(
            [
                "perf",
                "--model",
                "m",
                "--url",
                h.url + "/v1/chat/completions",
                "--api-key",
                PKEY,
                "--headers",
                *headers,
                "--number",
                "2",
                "--parallel",
                "1",
                "--prompt",
                "hi",
                "--outputs-dir",
                str(perf_out),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "perf",
                "--model",
                "m",
                "--url",
                _userinfo(q.url, UKEY) + f"/v1/chat/completions?key={QKEY}",
                "--number",
                "2",
                "--parallel",
                "1",
                "--prompt",
                "hi",
                "--outputs-dir",
                str(perf_out),
            ]
        )
        == 0
    )
    dataset_args = json.dumps({"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}})
    assert (
        main(
            [
                "eval",
                "--model",
                "m",
                "--api-url",
                q.url + f"/v1?key={QKEY}",
                "--api-key",
                EKEY,
                "--datasets",
                "gsm8k",
                "--dataset-args",
                dataset_args,
                "--limit",
                "2",
                "--work-dir",
                str(eval_out),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "eval",
                "--model",
                "m",
                "--api-url",
                _userinfo(u.url, UKEY) + "/v1",
                "--datasets",
                "gsm8k",
                "--dataset-args",
                dataset_args,
                "--limit",
                "2",
                "--work-dir",
                str(eval_out),
            ]
        )
        == 0
    )
    for mock, n in ((h, 2), (q, 4), (u, 2)):
        assert mock.stats()["by_status"].get("200", 0) >= n, mock.stats()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"benchmark_args.json", "config.json", "report.html"} <= names, names
    # Two perf runs: the one with headers keeps the non-secret one, the one with a URL key shows it redacted.
    runs = [json.loads(p.read_text()) for p in files if p.name == "benchmark_args.json"]
    assert any(a.get("headers", {}).get("X-Trace") == "visible-trace" for a in runs), runs
    assert any(a["url"].endswith("?key=***") for a in runs), runs
    for path in files:
        data = path.read_bytes()
        for secret in ALL:
            for s in _forms(secret):
                assert s.encode() not in data, (path, s)


def _auth_status(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url + "/api/v1/jobs", headers=headers, timeout=10).status_code


def test_auth_token_from_a_file_or_the_environment_never_in_ps(process_service, tmp_path):
    """`--auth-token-file` and $EVALSCOPE_AUTH_TOKEN keep the token out of the process list."""
    token_file = tmp_path / "token"
    token_file.write_text("tok-FROM-FILE-1234\n")
    token_file.chmod(0o600)
    env_clean = {"EVALSCOPE_AUTH_TOKEN": "", "EVALSCOPE_SERVICE_TOKEN": ""}
    by_file = process_service("--auth-token-file", str(token_file), work_dir=tmp_path / "a", env=env_clean)
    by_env = process_service(
        work_dir=tmp_path / "b", env={**env_clean, "EVALSCOPE_AUTH_TOKEN": "tok-FROM-ENV-5678"}
    )
    by_old_env = process_service(
        work_dir=tmp_path / "c", env={**env_clean, "EVALSCOPE_SERVICE_TOKEN": "tok-OLD-9012"}
    )
    for svc, token in (
        (by_file, "tok-FROM-FILE-1234"),
        (by_env, "tok-FROM-ENV-5678"),
        (by_old_env, "tok-OLD-9012"),
    ):
        assert _auth_status(svc.url, None) == 401
        assert _auth_status(svc.url, "wrong-token") == 401
        assert _auth_status(svc.url, token) == 200
        cmdline = Path(f"/proc/{svc.proc.pid}/cmdline").read_bytes()
        assert token.encode() not in cmdline and b"evalscope" in cmdline
        assert token not in svc.log_text()


def test_auth_token_flags_errors_name_the_flag(tmp_path):
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "evalscope", "service", "--work-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    empty = tmp_path / "empty"
    empty.write_text("\n")
    for args, needle in (
        (("--auth-token-file", str(tmp_path / "missing")), "cannot read"),
        (("--auth-token-file", str(empty)), "is empty"),
        (("--auth-token", "x", "--auth-token-file", str(empty)), "not both"),
    ):
        out = run(*args)
        assert out.returncode == 2, out
        assert out.stderr.startswith("error: --auth-token-file: ") and needle in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    help_text = run("--help").stdout
    assert "--auth-token-file" in help_text and "EVALSCOPE_AUTH_TOKEN" in help_text


def test_resume_takes_the_url_with_its_key_again_but_never_a_new_url(thread_service, mock_server, tmp_path):
    """A job whose URL held a key is stored with ``key=***``; after a cancel the key is gone, and a
    resume gets it back only through the same URL."""
    q = mock_server(output_tokens=3, api_key=QKEY)
    svc = thread_service(max_concurrent_jobs=1)
    gate = tmp_path / "go"
    url = q.url + f"/v1/chat/completions?key={QKEY}"
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        blocker = c.post("/api/v1/jobs/test", json={"steps": 1, "wait_for": str(gate)}).json()["id"]
        wait_job(c, blocker, states=("running",))
        job = c.post("/api/v1/jobs/perf", json={"model": "m", "url": url, "number": 2, "prompt": "hi"}).json()
        assert job["state"] == "queued" and job["config"]["url"].endswith("?key=***")
        assert c.post(f"/api/v1/jobs/{job['id']}/cancel").json()["state"] == "cancelled"
        gate.write_text("go")
        wait_job(c, blocker)
        # Another URL does not replace the stored one: the job runs with key=*** and the model refuses it.
        other = c.post(f"/api/v1/jobs/{job['id']}/resume", json={"url": "http://127.0.0.1:9/v1?key=zzzz"})
        assert other.status_code == 202, other.text
        refused = wait_job(c, job["id"], states=("failed", "succeeded"))
        assert refused["state"] == "failed" and "401" in refused["error"]
        again = c.post(f"/api/v1/jobs/{job['id']}/resume", json={"url": url})
        assert again.status_code == 202, again.text
        done = wait_job(c, job["id"], states=("failed", "succeeded"), timeout=120)
        assert done["state"] == "succeeded", done
        assert done["result"]["results"]["parallel_1_number_2"]["metrics"]["Succeed requests"] == 2
        assert done["config"]["url"].endswith("?key=***") and QKEY not in json.dumps(done)
