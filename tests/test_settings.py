"""EVALSCOPE_* variables: each read by one pydantic-settings model (evalscope/settings.py,
evalscope/service/settings.py), documented in one table (docs/deploy.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalscope.datasets import hub
from evalscope.jobs.kinds import kinds_from_env
from evalscope.service.settings import ServiceSettings, token_from_env
from evalscope.settings import Settings, settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch):
    """No EVALSCOPE_* (nor HF offline/endpoint) variable from the outside."""
    for name in list(os.environ):
        if name.startswith("EVALSCOPE_") or name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_ENDPOINT"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_engine_variables_reach_their_readers(clean_env, tmp_path):
    env = clean_env
    assert not hub.offline() and hub.dataset_dir_from_env() is None and settings().perf_http == "raw"
    env.setenv("EVALSCOPE_DATASET_DIR", str(tmp_path))
    env.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    env.setenv("EVALSCOPE_MODELSCOPE_ENDPOINT", "http://127.0.0.1:9/ms/")
    env.setenv("EVALSCOPE_JOB_KINDS", "echo=mod:fn")
    env.setenv("EVALSCOPE_PERF_HTTP", "aiohttp")
    assert hub.dataset_dir_from_env() == tmp_path and hub.cache_dir() == tmp_path / "cache"
    assert hub._url("a/b", "t.jsonl", "modelscope").startswith("http://127.0.0.1:9/ms/api/v1/datasets/a/b/")
    assert kinds_from_env()["echo"].target == "mod:fn"
    assert settings().perf_http == "aiohttp"


@pytest.mark.parametrize(
    "name,value,on",
    [
        ("EVALSCOPE_OFFLINE", "1", True),
        ("EVALSCOPE_OFFLINE", "TRUE", True),
        ("EVALSCOPE_OFFLINE", "0", False),
        ("EVALSCOPE_OFFLINE", "maybe", False),
        ("HF_HUB_OFFLINE", "yes", True),
        ("HF_DATASETS_OFFLINE", "1", True),
        ("EVALSCOPE_OFFLINE", "", False),
    ],
)
def test_offline_switches(clean_env, name, value, on):
    clean_env.setenv(name, value)
    assert hub.offline() is on


def test_token_names_and_order(clean_env, tmp_path):
    env = clean_env
    assert token_from_env() is None and ServiceSettings().auth_token is None
    env.setenv("EVALSCOPE_SERVICE_TOKEN", " old-name ")
    assert token_from_env() == "old-name"
    env.setenv("EVALSCOPE_AUTH_TOKEN", "new-name")  # the current name wins
    assert ServiceSettings().auth_token == "new-name"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert (
        ServiceSettings(auth_token_file=token_file).auth_token == "from-file"
    )  # the file beats the variable
    assert ServiceSettings(auth_token="given").auth_token == "given"
    assert "new-name" not in repr(settings()) and "new-name" not in repr(ServiceSettings(auth_token="x"))


def test_service_fields_from_the_environment(clean_env, tmp_path):
    env = clean_env
    env.setenv("EVALSCOPE_PORT", "9123")
    env.setenv("EVALSCOPE_WORK_DIR", str(tmp_path))
    env.setenv("EVALSCOPE_CORS_ORIGINS", "http://a.test, http://b.test")
    env.setenv("EVALSCOPE_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    env.setenv("EVALSCOPE_HEARTBEAT_TIMEOUT", "12.5")
    cfg = ServiceSettings()
    assert (cfg.port, cfg.base_dir, cfg.cors_origins) == (
        9123,
        tmp_path.resolve(),
        ["http://a.test", "http://b.test"],
    )
    assert cfg.db_url.endswith("x.db") and cfg.heartbeat_timeout == 12.5
    assert ServiceSettings(port=1, database_url=None).port == 1  # keywords (flags) beat the environment
    assert ServiceSettings(port=1, database_url=None).database_url is None
    # fields kept out of the environment: their variables mean something else
    env.setenv("EVALSCOPE_JOB_KINDS", "test=mod:fn")  # not JSON: would break a dict field
    env.setenv(
        "EVALSCOPE_DATASET_DIR", str(tmp_path / "missing")
    )  # the engines' variable, not a checked flag
    cfg = ServiceSettings()
    assert cfg.job_kinds == {} and cfg.dataset_dir is None
    assert (tmp_path / "missing").resolve() in cfg.data_roots


@pytest.mark.parametrize(
    "env,line",
    [
        ({"EVALSCOPE_PORT": "abc"}, "error: EVALSCOPE_PORT: Input should be a valid integer"),
        ({"EVALSCOPE_PERF_HTTP": "curl"}, "error: EVALSCOPE_PERF_HTTP: Input should be 'raw' or 'aiohttp'"),
    ],
)
def test_a_bad_variable_is_named_at_start(env, line):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EVALSCOPE_")}
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "service"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.startswith(line) and "Traceback" not in out.stderr, out.stderr


def test_no_variable_is_read_outside_the_settings():
    readers = []
    for path in (ROOT / "evalscope").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"os\.environ\.get|os\.getenv|os\.environ\[[^\]]+\](?!\s*=)", text):
            readers.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert readers == []


def test_every_variable_is_in_the_deploy_table():
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    names = {n for names in Settings.env_names().values() for n in names}
    names |= {n for names in ServiceSettings.env_names().values() for n in names}
    missing = sorted(n for n in names if f"| `{n}`" not in doc)
    assert missing == []
