"""Every path-valued request field is confined by one mechanism (issue 12 holes 1, 4, 6, 10; issue 11
item 4): through HTTP against a real service, with the reproductions of the issues."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES, REPO, wait_job
from pydantic import BaseModel

from evalscope.eval.config import TaskConfig
from evalscope.paths import field_markers
from evalscope.perf.arguments import PerfArguments


def _fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and "Traceback" not in r.text
    return {e["field"] for e in body["errors"]}


@pytest.fixture
def outside(tmp_path):
    """A readable file outside every folder of the service (the issue's /tmp/outside/s.jsonl)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    secret = folder / "s.jsonl"
    secret.write_text(json.dumps({"query": "SECRET-ROW", "response": "x"}) + "\n")
    return secret


@pytest.fixture
def svc_mock(thread_service, mock_server, tmp_path):
    data = tmp_path / "data"
    (data / "qa").mkdir(parents=True)
    (data / "qa" / "mine.jsonl").write_text(json.dumps({"query": "inside-row", "response": "ok"}) + "\n")
    svc = thread_service(data_dirs=[data])
    return svc, mock_server(), data


def test_dataset_id_outside_is_refused_and_never_read(svc_mock, outside):
    svc, mock, data = svc_mock
    base = svc.app.state.ctx.settings.base_dir
    rel = Path("..") / outside.relative_to(outside.parents[1])  # ../outside/s.jsonl from the work dir
    assert (base / rel).resolve() == outside.resolve()
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        for value in (str(outside), str(rel), "~/../../" + str(outside).lstrip("/")):
            for route in ("/api/v1/eval", "/api/v1/jobs/eval"):
                r = c.post(
                    route,
                    json={
                        "model": "m",
                        "api_url": mock.url + "/v1",
                        "datasets": ["general_qa"],
                        "dataset_args": {"general_qa": {"dataset_id": value}},
                    },
                )
                assert _fields(r) == {"dataset_args.general_qa.dataset_id"}, (value, r.text)
                assert "inside the service's work dir or a configured data dir" in r.text
        assert c.get("/api/v1/jobs").json()["items"] == []  # nothing was queued
        # A local dataset_id inside a data dir is read; a hub-shaped id is left alone for the hub.
        r = c.post(
            "/api/v1/eval",
            json={
                "model": "m",
                "api_url": mock.url + "/v1",
                "datasets": ["general_qa"],
                "dataset_args": {"general_qa": {"dataset_id": str(data / "qa" / "mine.jsonl")}},
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["result"]["general_qa"]["num_scored"] == 1
    assert "SECRET-ROW" not in json.dumps(mock.stats())
    assert not any(
        "SECRET-ROW" in p.read_text(errors="replace")
        for p in base.rglob("*")
        if p.is_file() and p.suffix in (".jsonl", ".json")
    )


def test_every_local_path_field_is_confined(svc_mock, outside):
    """One request per marked field, each pointing outside: all refused with the field named."""
    svc, mock, _ = svc_mock
    eval_base = {"model": "m", "api_url": mock.url + "/v1", "datasets": ["general_qa"]}
    perf_base = {"model": "m", "url": mock.url + "/v1/chat/completions", "number": 1}
    cases = [
        (
            "/api/v1/jobs/eval",
            {**eval_base, "dataset_args": {"general_qa": {"local_path": str(outside)}}},
            "dataset_args.general_qa.local_path",
        ),
        ("/api/v1/jobs/eval", {**eval_base, "dataset_dir": str(outside.parent)}, "dataset_dir"),
        ("/api/v1/jobs/eval", {**eval_base, "use_cache": str(outside.parent)}, "use_cache"),
        ("/api/v1/jobs/eval", {**eval_base, "work_dir": str(outside.parent)}, "work_dir"),
        (
            "/api/v1/jobs/perf",
            {**perf_base, "dataset": "line_by_line", "dataset_path": str(outside)},
            "dataset_path",
        ),
        ("/api/v1/jobs/perf", {**perf_base, "tokenizer_path": str(outside.parent)}, "tokenizer_path"),
        ("/api/v1/jobs/perf", {**perf_base, "prompt": "@" + str(outside)}, "prompt"),
        (
            "/api/v1/jobs/perf",
            {**perf_base, "prompt": "hi", "query_template": "@" + str(outside)},
            "query_template",
        ),
        ("/api/v1/jobs/perf", {**perf_base, "outputs_dir": str(outside.parent)}, "outputs_dir"),
    ]
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        for route, body, field in cases:
            assert _fields(c.post(route, json=body)) == {field}, (field, body)
        # inline text is not a path: a prompt that merely looks like one is sent as it is
        r = c.post("/api/v1/jobs/perf", json={**perf_base, "prompt": str(outside)})
        assert r.status_code == 202 and r.json()["config"]["prompt"] == str(outside)
        assert wait_job(c, r.json()["id"])["state"] == "succeeded"


def test_use_cache_must_name_one_earlier_run(svc_mock):
    """Hole 4: "use_cache": "." copied the whole work dir (other jobs, service.db) into the new job."""
    svc, mock, data = svc_mock
    body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["general_qa"],
        "dataset_args": {"general_qa": {"local_path": str(data / "qa")}},
    }
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        first = c.post("/api/v1/eval", json={**body, "work_dir": "team"})
        assert first.status_code == 200, first.text
        run = Path(first.json()["output_dir"])
        for value in (".", "", "team", "./team/..", "no-such-run"):
            r = c.post("/api/v1/jobs/eval", json={**body, "use_cache": value})
            assert _fields(r) == {"use_cache"}, (value, r.text)
        assert "not the service's work dir" in c.post("/api/v1/eval", json={**body, "use_cache": "."}).text
        assert (
            "no folder no-such-run" in c.post("/api/v1/eval", json={**body, "use_cache": "no-such-run"}).text
        )
        second = c.post("/api/v1/eval", json={**body, "use_cache": str(run)})
        assert second.status_code == 200, second.text
        job = second.json()["job_id"]
        files = {f["path"] for f in c.get(f"/api/v1/jobs/{job}/files").json()["files"]}
        assert not any("service.db" in f for f in files)
        assert c.get(f"/api/v1/jobs/{job}/files/service.db").status_code == 404


def test_a_job_whose_run_never_started_is_a_job_folder_but_no_earlier_run(svc_mock):
    """A job folder holding only the manager's job.json (its run failed or was cancelled before the engine
    wrote config.json) cannot be reused, and a folder holding one is a folder of several jobs."""
    svc, mock, data = svc_mock
    body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["general_qa"],
        "dataset_args": {"general_qa": {"local_path": str(data / "qa")}},
    }
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        first = c.post("/api/v1/eval", json={**body, "work_dir": "team"})
        assert first.status_code == 200, first.text
        run = Path(first.json()["output_dir"])
        assert json.loads((run / "job.json").read_text())["kind"] == "eval"
        never_ran = run.parent / "never-ran"
        never_ran.mkdir()
        shutil.copy(run / "job.json", never_ran / "job.json")
        r = c.post("/api/v1/jobs/eval", json={**body, "use_cache": str(never_ran)})
        assert _fields(r) == {"use_cache"} and "holds no config.json" in r.text
        nested = run / "never-ran"
        shutil.copytree(never_ran, nested)
        r = c.post("/api/v1/jobs/eval", json={**body, "use_cache": str(run)})
        assert _fields(r) == {"use_cache"} and "holds the folders of other runs" in r.text


def test_copy_of_an_earlier_run_leaves_job_folders_that_never_ran(tmp_path):
    from evalscope.jobs.engines import _not_copied

    run = tmp_path / "run"
    (run / "predictions").mkdir(parents=True)
    (run / "predictions" / "b.jsonl").write_text("{}\n")
    for name in ("config.json", "job.json", "report.html"):
        (run / name).write_text("{}")
    (run / "failed-early").mkdir()
    (run / "failed-early" / "job.json").write_text("{}")
    dest = tmp_path / "dest"
    shutil.copytree(run, dest, ignore=_not_copied(run))
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == ["predictions/b.jsonl", "report.html"]


def test_copy_of_an_earlier_run_leaves_other_runs_and_the_database(tmp_path):
    """The copy itself skips service.db and nested run folders even if the folder changed after the check."""
    from evalscope.jobs.engines import _not_copied

    run = tmp_path / "run"
    (run / "predictions" / "m").mkdir(parents=True)
    (run / "predictions" / "m" / "b.jsonl").write_text("{}\n")
    (run / "config.json").write_text("{}")
    (run / "logs").mkdir()
    (run / "logs" / "run.log").write_text("x")
    (run / "service.db").write_text("db")
    (run / "other-job").mkdir()
    (run / "other-job" / "config.json").write_text("{}")
    (run / "other-job" / "secret.txt").write_text("s")
    dest = tmp_path / "dest"
    shutil.copytree(run, dest, ignore=_not_copied(run))
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == ["predictions/m/b.jsonl"]


@pytest.mark.parametrize(
    "route, body, field",
    [
        ("/api/v1/eval", {"work_dir": "a\x00b"}, "work_dir"),
        ("/api/v1/perf", {"outputs_dir": "a\x00b"}, "outputs_dir"),
        ("/api/v1/perf", {"dataset": "line_by_line", "dataset_path": "p\x00.txt"}, "dataset_path"),
        (
            "/api/v1/eval",
            {"dataset_args": {"general_qa": {"local_path": "a\x00"}}},
            "dataset_args.general_qa.local_path",
        ),
        ("/api/v1/perf", {"prompt": "@a\x00b"}, "prompt"),
        ("/api/v1/eval", {"work_dir": "w" * 5000}, "work_dir"),
        ("/api/v1/perf", {"outputs_dir": "d/" + "n" * 300}, "outputs_dir"),
        ("/api/v1/perf", {"dataset": "line_by_line", "dataset_path": "p" * 5000}, "dataset_path"),
        ("/api/v1/eval", {"use_cache": "u" * 5000}, "use_cache"),
        (
            "/api/v1/eval",
            {"dataset_args": {"general_qa": {"dataset_id": "/" + "x" * 300}}},
            "dataset_args.general_qa.dataset_id",
        ),
    ],
)
def test_null_bytes_and_long_names_are_400_naming_the_field(svc_mock, route, body, field):
    svc, mock, _ = svc_mock
    base = (
        {"model": "m", "api_url": mock.url + "/v1", "datasets": ["general_qa"]}
        if route.endswith("eval")
        else {"model": "m", "url": mock.url + "/v1/chat/completions", "number": 1}
    )
    r = httpx.post(svc.url + route, json={**base, **body}, timeout=30)
    assert _fields(r) == {field}
    assert str(svc.app.state.ctx.settings.base_dir) not in r.text  # no internal path leaks


def test_extra_kind_work_dir_with_a_null_byte_is_400(thread_service):
    svc = thread_service()
    r = httpx.post(svc.url + "/api/v1/jobs/test", json={"steps": 1, "work_dir": "a\x00b"}, timeout=30)
    assert _fields(r) == {"work_dir"} and "null byte" in r.text


def test_settings_the_worker_would_fail_on_are_refused_at_submission(svc_mock):
    """Hole 10: a missing use_cache folder, general_qa without data, filters that leave no prompt."""
    svc, mock, data = svc_mock
    (data / "short.txt").write_text("hi\nhello\n")
    (data / "empty.jsonl").write_text("")
    (data / "qa-empty").mkdir()
    ev = {"model": "m", "api_url": mock.url + "/v1", "datasets": ["general_qa"]}
    pf = {"model": "m", "url": mock.url + "/v1/chat/completions", "number": 1}
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        assert _fields(c.post("/api/v1/jobs/eval", json={**ev, "use_cache": "gone"})) == {"use_cache"}
        r = c.post("/api/v1/jobs/eval", json=ev)
        assert _fields(r) == {"dataset_args.general_qa.local_path"}
        assert "runs on your own data" in r.text and "--" not in r.json()["message"]
        r = c.post(
            "/api/v1/jobs/eval", json={**ev, "dataset_args": {"general_qa": {"local_path": "qa-empty"}}}
        )
        assert _fields(r) == {"dataset_args.general_qa.local_path"}
        r = c.post("/api/v1/jobs/eval", json={**ev, "dataset_args": {"general_qa": {"local_path": "nope"}}})
        assert _fields(r) == {"dataset_args.general_qa.local_path"} and "no file or folder nope" in r.text
        r = c.post(
            "/api/v1/jobs/perf",
            json={**pf, "dataset": "line_by_line", "dataset_path": "short.txt", "min_prompt_length": 50},
        )
        assert _fields(r) == {"min_prompt_length"} and "length limits" in r.text
        r = c.post(
            "/api/v1/jobs/perf",
            json={**pf, "dataset": "line_by_line", "dataset_path": "short.txt", "max_prompt_length": 1},
        )
        assert _fields(r) == {"max_prompt_length"}
        r = c.post("/api/v1/jobs/perf", json={**pf, "dataset": "custom", "dataset_path": "empty.jsonl"})
        assert _fields(r) == {"dataset_path"} and "no prompts" in r.text
        assert "--" not in r.json()["message"]
        assert c.get("/api/v1/jobs").json()["items"] == []
        # the same file with filters it passes is accepted and runs
        r = c.post(
            "/api/v1/jobs/perf",
            json={
                **pf,
                "dataset": "line_by_line",
                "dataset_path": "short.txt",
                "min_prompt_length": 2,
                "max_prompt_length": 5,
            },
        )
        assert r.status_code == 202, r.text
        assert wait_job(c, r.json()["id"])["state"] == "succeeded"


def test_dataset_dir_flag_of_the_service(process_service, mock_server, tmp_path):
    """Issue 11 item 4: `evalscope service --dataset-dir DIR` is $EVALSCOPE_DATASET_DIR: benchmarks find
    DIR/gsm8k/test.jsonl, requests may name files in DIR, and a missing dataset is a 400 naming the field."""
    ds = tmp_path / "datasets"
    ds.mkdir()
    (ds / "gsm8k").symlink_to(FIXTURES / "gsm8k")
    (ds / "prompts.txt").write_text("one\ntwo\n")
    mock = mock_server()
    svc = process_service("--dataset-dir", str(ds), env={"EVALSCOPE_DATASET_DIR": ""})
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/eval",
            json={"model": "m", "api_url": mock.url + "/v1", "datasets": ["gsm8k"], "limit": 2},
        )
        assert r.status_code == 200, r.text
        assert r.json()["result"]["gsm8k"]["num_scored"] == 2
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url + "/v1/chat/completions",
                "number": 2,
                "dataset": "line_by_line",
                "dataset_path": "prompts.txt",
            },
        )
        assert r.status_code == 200, r.text
        # no local copy and offline (the test environment): 400 naming the HTTP field and the layout
        r = c.post("/api/v1/eval", json={"model": "m", "api_url": mock.url + "/v1", "datasets": ["mmlu"]})
        assert _fields(r) == {"dataset_args.mmlu.local_path"}
        message = r.json()["message"]
        assert "mmlu/" in message and not re.search(r"--[a-z]", message), message
        assert "Set dataset_args.mmlu.local_path to a folder holding" in message


def test_dataset_dir_in_service_help_and_readme():
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "service", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert "--dataset-dir" in out.stdout and "EVALSCOPE_DATASET_DIR" in out.stdout
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    try_it = readme.split("## Try it", 1)[1].split("```", 2)[1]
    assert "--dataset-dir" in try_it


def test_bad_dataset_dir_flag_is_refused(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "evalscope",
            "service",
            "--work-dir",
            str(tmp_path / "w"),
            "--dataset-dir",
            str(tmp_path / "missing"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--dataset-dir" in out.stderr and "not a folder" in out.stderr


# Names that say a field holds a file or folder; such a field must carry a PathMarker (evalscope.paths),
# or the service would not confine it. A new field with such a name fails here until it is typed.
PATH_LIKE = re.compile(r"(^|_)(path|paths|dir|dirs|file|files|cache|folder|template)$|^dataset_id$|^prompt$")


@pytest.mark.parametrize("model", [TaskConfig, PerfArguments])
def test_every_path_like_field_carries_the_marker(model: type[BaseModel]):
    fields = dict(field_markers(model))
    path_like = {name for name in fields if PATH_LIKE.search(name.rsplit(".", 1)[-1])}
    assert path_like, "the pattern finds the known path fields"
    unmarked = sorted(name for name in path_like if fields[name] is None)
    assert not unmarked, f"path-like fields without a PathMarker: {unmarked}"
    marked = {name for name, m in fields.items() if m is not None}
    expected = (
        {"dataset_args.*.local_path", "dataset_args.*.dataset_id", "dataset_dir", "work_dir", "use_cache"}
        if model is TaskConfig
        else {"dataset_path", "tokenizer_path", "prompt", "query_template", "outputs_dir"}
    )
    assert expected <= marked
