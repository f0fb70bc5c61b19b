"""The one rule for secrets (evalscope.secrets): names, URLs, split/merge, scrubbing."""

from __future__ import annotations

import json
import logging

import pytest

from evalscope.secrets import (
    REDACTED,
    ScrubFilter,
    config_secret_values,
    is_secret_name,
    merge_secrets,
    redact_config,
    redact_url,
    scrub,
    secret_values,
    split_secrets,
)

SECRET_NAMES = [
    "api_key",
    "apiKey",
    "API_KEY",
    "apikey",
    "x-api-key",
    "X-Api-Key",
    "x-goog-api-key",
    "api-key",
    "key",
    "Authorization",
    "Proxy-Authorization",
    "X-Auth-Signature",
    "x-auth-token",
    "auth",
    "Cookie",
    "Set-Cookie",
    "X-My-Password",
    "password",
    "passwd",
    "db_pwd",
    "token",
    "access_token",
    "accessToken",
    "AccessToken",
    "refresh_token",
    "id_token",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "signature",
    "sig",
    "secret",
    "client_secret",
    "X-Secret-Key",
    "secretkey",
    "session",
    "session_id",
    "X-Session-Id",
    "credentials",
    "bearer",
    "jwt",
    "X-CSRF-Token",
    "private_key",
    "privateKey",
    "passphrase",
    "otp",
]
PUBLIC_NAMES = [
    "model",
    "url",
    "api_url",
    "api",
    "max_tokens",
    "min_tokens",
    "tokenizer_path",
    "prefix_length",
    "number",
    "parallel",
    "rate",
    "stream",
    "headers",
    "dataset",
    "dataset_path",
    "datasets",
    "dataset_args",
    "limit",
    "generation_config",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "seed",
    "work_dir",
    "outputs_dir",
    "use_cache",
    "X-Trace",
    "X-Request-Id",
    "Content-Type",
    "User-Agent",
    "Accept",
    "keyword",
    "tokens",
    "subset_list",
    "few_shot_num",
    "system_prompt",
    "extra_args",
    "slo",
    "name",
    "debug",
    "eval_batch_size",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_credential_names_are_secret(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_ordinary_names_are_not(name):
    assert not is_secret_name(name)


def test_every_field_of_both_engine_configs_is_public_except_the_key():
    # A field named like a credential would silently vanish from stored configs: check the real models.
    from evalscope.eval import TaskConfig
    from evalscope.perf import PerfArguments

    for model in (TaskConfig, PerfArguments):
        secret = [f for f in model.model_fields if is_secret_name(f)]
        assert secret == ["api_key"], (model.__name__, secret)


@pytest.mark.parametrize(
    ("url", "redacted", "secrets"),
    [
        ("http://user:s3cr3t@127.0.0.1:8801/v1", "http://user:***@127.0.0.1:8801/v1", ["s3cr3t"]),
        ("https://sk-tok3n@api.example.com/v1", "https://***@api.example.com/v1", ["sk-tok3n"]),
        ("http://h/v1?key=s3cr3t", "http://h/v1?key=***", ["s3cr3t"]),
        (
            "http://h/v1/chat/completions?api-version=2024&api_key=s3cr3t&x=1",
            "http://h/v1/chat/completions?api-version=2024&api_key=***&x=1",
            ["s3cr3t"],
        ),
        (
            "http://h/x?token=abc%2Fdef&sig=zzzz",
            "http://h/x?token=***&sig=***",
            ["abc/def", "abc%2Fdef", "zzzz"],
        ),
        ("https://h/cb#access_token=frag1234", "https://h/cb#access_token=***", ["frag1234"]),
        ("http://u:p%40ss1@h:99999/v1?key=k3y!", "http://u:***@h:99999/v1?key=***", ["p%40ss1", "k3y!"]),
        ("http://127.0.0.1:8801/v1", "http://127.0.0.1:8801/v1", []),
        ("http://h/v1?key=EMPTY&model=m", "http://h/v1?key=EMPTY&model=m", []),
    ],
)
def test_url_credentials(url, redacted, secrets):
    assert redact_url(url) == redacted
    public, hidden = split_secrets({"api_url": url})
    assert public == {"api_url": redacted}
    assert merge_secrets(public, hidden) == {"api_url": url}
    values = secret_values(hidden)
    for s in secrets:
        assert s in values
    assert scrub(f"failed: POST {url} said no", values).count("***") >= (1 if secrets else 0)
    for s in secrets:
        assert s not in scrub(f"failed: POST {url} said no; {s}", values)


CONFIG = {
    "model": "m",
    "url": "http://user:pw-URL-1@127.0.0.1:9/v1/chat/completions?key=q-URL-2&stream=1",
    "api_key": "sk-API-3",
    "headers": {
        "X-Auth-Signature": "sig-HDR-4",
        "Authorization": "Bearer tok-HDR-5",
        "X-Api-Key": "k-HDR-6",
        "Cookie": "sid=ck-HDR-7",
        "X-My-Password": "pw-HDR-8",
        "X-Trace": "visible-trace",
    },
    "extra_args": {"session_id": "sess-EXTRA-9", "repetition_penalty": 1.1, "use_session": True},
    "judge_model_args": {
        "model_id": "judge",
        "api_key": "sk-JUDGE-10",
        "api_url": "http://j/v1?token=t-JUDGE-11",
    },
    "max_tokens": 16,
    "tokenizer_path": "/tok",
    "stop": ["</s>"],
    "prompts": ["see http://a:pw-LIST-12@x/"],
}
SECRETS = [
    "pw-URL-1",
    "q-URL-2",
    "sk-API-3",
    "sig-HDR-4",
    "tok-HDR-5",
    "k-HDR-6",
    "ck-HDR-7",
    "pw-HDR-8",
    "sess-EXTRA-9",
    "sk-JUDGE-10",
    "t-JUDGE-11",
    "pw-LIST-12",
]


def test_split_hides_every_secret_and_merge_restores_the_config():
    public, hidden = split_secrets(CONFIG)
    text = json.dumps(public)
    for s in SECRETS:
        assert s not in text, s
    assert public["api_key"] == REDACTED
    assert public["headers"] == {
        "X-Auth-Signature": REDACTED,
        "Authorization": REDACTED,
        "X-Api-Key": REDACTED,
        "Cookie": REDACTED,
        "X-My-Password": REDACTED,
        "X-Trace": "visible-trace",
    }
    assert public["url"] == "http://user:***@127.0.0.1:9/v1/chat/completions?key=***&stream=1"
    assert public["extra_args"] == {"session_id": REDACTED, "repetition_penalty": 1.1, "use_session": True}
    assert public["max_tokens"] == 16 and public["tokenizer_path"] == "/tok" and public["stop"] == ["</s>"]
    assert redact_config(CONFIG) == public
    # The secret part goes through JSON (Celery messages) and still merges back exactly.
    assert merge_secrets(public, json.loads(json.dumps(hidden))) == CONFIG
    values = secret_values(hidden)
    assert set(SECRETS) <= set(values) and "tok-HDR-5" in values  # "Bearer tok-..." gives the token alone too
    assert config_secret_values(CONFIG) == values
    blob = scrub(" | ".join(SECRETS) + " http://x:other-pw@h/?api_key=other-key", values)
    assert not any(s in blob for s in SECRETS) and "other-pw" not in blob and "other-key" not in blob


def test_merge_without_the_secrets_drops_them_instead_of_sending_stars():
    public, _ = split_secrets(CONFIG)
    merged = merge_secrets(public, {})  # after a restart: the secrets were never stored
    assert "api_key" not in merged and "session_id" not in merged["extra_args"]
    assert merged["headers"] == {"X-Trace": "visible-trace"}
    # A secret given again (resume) only fills the place it came from.
    again = merge_secrets(public, {"api_key": "sk-new", "headers": {"X-Trace": "changed", "Cookie": "c2"}})
    assert again["api_key"] == "sk-new" and again["headers"]["X-Trace"] == "visible-trace"
    assert again["headers"]["Cookie"] == "c2"
    other_url = merge_secrets(public, {"url": "http://elsewhere/v1"})
    assert other_url["url"] == public["url"]


def test_placeholders_are_kept_and_old_secret_format_still_merges():
    cfg = {"api_key": "EMPTY", "headers": {"Authorization": ""}, "url": "http://h/v1"}
    assert split_secrets(cfg) == (cfg, {})
    public, hidden = split_secrets({"api_key": "sk-1234", "headers": {"X-Api-Key": "abcd"}})
    assert hidden == {"api_key": "sk-1234", "headers": {"X-Api-Key": "abcd"}}  # the format jobs used before
    assert merge_secrets(public, hidden) == {"api_key": "sk-1234", "headers": {"X-Api-Key": "abcd"}}


def test_scrub_filter_cleans_message_arguments_and_traceback(tmp_path):
    path = tmp_path / "x.log"
    handler = logging.FileHandler(path)
    handler.addFilter(ScrubFilter(config_secret_values(CONFIG)))
    logger = logging.getLogger("test.secrets.rule")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("calling %s with %s", CONFIG["url"], CONFIG["headers"])
        try:
            raise RuntimeError(f"401 for key {CONFIG['api_key']} at http://z:inline-pw@h/")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert (
        "calling http://user:***@127.0.0.1:9" in text and "RuntimeError" in text and "visible-trace" in text
    )
    for s in [*SECRETS, "inline-pw"]:
        assert s not in text, s
