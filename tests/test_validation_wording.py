"""One wording for validation errors (evalscope.fieldnames): CLI flag style and HTTP field style."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel, ValidationError, model_validator

from evalscope.fieldnames import FieldError, cli_message, field_errors, flag_name, http_error, summary


class Inner(BaseModel):
    local_path: str | None = None
    few_shot_num: int = 0


class Config(BaseModel):
    dataset_path: str | None = None
    dataset_args: dict[str, Inner] = {}
    min_len: int = 0
    max_len: int = 10

    @model_validator(mode="after")
    def _lengths(self) -> Config:
        if self.min_len > self.max_len:
            raise ValueError("min_len: larger than max_len")  # a check across fields names its field
        return self


def _errors(**data) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        Config(**data)
    return field_errors(info.value)


def test_field_errors_read_pydantic_locations_and_named_messages():
    assert _errors(dataset_args={"gsm8k": {"few_shot_num": "x"}}) == [
        FieldError(
            "dataset_args.gsm8k.few_shot_num",
            "Input should be a valid integer, unable to parse string as an integer",
        )
    ]
    assert _errors(min_len=11) == [FieldError("min_len", "larger than max_len")]  # "Value error, " dropped


def test_cli_and_http_styles_of_the_same_errors():
    nested, cross = _errors(dataset_args={"gsm8k": {"few_shot_num": "x"}})[0], _errors(min_len=11)[0]
    assert cli_message(nested).startswith("--dataset-args: gsm8k.few_shot_num: Input should be")
    assert http_error(nested)["field"] == "dataset_args.gsm8k.few_shot_num"
    assert cli_message(cross) == "--min-len: larger than max_len"
    assert http_error(cross) == {"field": "min_len", "reason": "larger than max_len"}
    # an engine's own check is the same pair
    assert cli_message(("dataset_path", "missing")) == "--dataset-path: missing"
    assert (
        http_error(("", "no field")) == {"field": "body", "reason": "no field"}
        and cli_message(("", "x")) == "x"
    )
    assert (
        summary([cross, ("dataset_path", "missing")]) == "min_len: larger than max_len; dataset_path: missing"
    )
    assert flag_name("dataset_args.gsm8k.local_path") == "--dataset-args gsm8k.local_path"


def test_request_locations_and_malformed_json():
    errors = [
        {"loc": ("body", "limit"), "msg": "Value error, too big", "type": "value_error"},
        {"loc": ("body",), "msg": "Value error, tokenizer_path: needed", "type": "value_error"},
        {
            "loc": ("body", 12),
            "msg": "JSON decode error",
            "type": "json_invalid",
            "ctx": {"error": "Expecting value"},
        },
    ]
    assert field_errors(errors, request=True) == [
        FieldError("limit", "too big"),
        FieldError("tokenizer_path", "needed"),
        FieldError("body", "malformed JSON: Expecting value"),
    ]
    # outside a request a field named "body" stays a field
    assert field_errors([{"loc": ("body", "x"), "msg": "bad"}]) == [FieldError("body.x", "bad")]


@pytest.mark.parametrize(
    "argv,line",
    [
        (
            ["mock-server", "--error-rate", "2"],
            "error: --error-rate: Input should be less than or equal to 1",
        ),
        (["service", "--port", "70000"], "error: --port: Input should be less than or equal to 65535"),
        (["service", "--executor", "celery"], "error: --broker-url: required with --executor celery"),
        (
            [
                "perf",
                "--model",
                "m",
                "--url",
                "http://h",
                "--min-prompt-length",
                "9",
                "--max-prompt-length",
                "3",
            ],
            "error: --min-prompt-length: larger than max_prompt_length",
        ),
    ],
)
def test_every_cli_words_errors_the_same_way(argv, line):
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", *argv], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stderr.strip() == line, out.stderr
