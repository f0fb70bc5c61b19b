"""evalscope.paths (the declared path type) and evalscope.fieldnames (field or flag in messages)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evalscope.cli import main
from evalscope.eval.config import TaskConfig
from evalscope.fieldnames import cli_style, field_name
from evalscope.paths import check_path_text, looks_like_hub_id, marked_values


@pytest.mark.parametrize(
    "value, hub",
    [
        ("AI-ModelScope/gsm8k", True),
        ("general_qa", True),
        ("/tmp/x", False),
        ("../x", False),
        ("a/../b", False),
        ("~/x", False),
        ("a/b/c", False),
        ("./x", False),
        ("..", False),
        ("C:\\x", False),
    ],
)
def test_hub_id_or_path(value, hub):
    assert looks_like_hub_id(value) is hub


@pytest.mark.parametrize(
    "value, needle",
    [("a\x00b", "null byte"), ("x" * 5000, "too long"), ("d/" + "n" * 256, "name in the path is too long")],
)
def test_unusable_paths(value, needle):
    with pytest.raises(ValueError, match=needle):
        check_path_text(value)
    assert check_path_text("d/" + "n" * 255) == "d/" + "n" * 255


def test_marked_values_walks_nested_models_and_dicts():
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=["general_qa", "gsm8k"],
        use_cache="r",
        dataset_args={
            "general_qa": {"local_path": "qa", "dataset_id": "/abs"},
            "gsm8k": {"dataset_id": "AI-ModelScope/gsm8k"},
        },
    )
    found = {(name, marker.local_part(value)) for name, marker, value in marked_values(cfg)}
    assert found == {
        ("dataset_args.general_qa.local_path", "qa"),
        ("dataset_args.general_qa.dataset_id", "/abs"),
        ("dataset_args.gsm8k.dataset_id", None),
        ("work_dir", "./outputs"),
        ("use_cache", "r"),
    }
    with pytest.raises(ValidationError) as err:
        TaskConfig(
            model="m",
            api_url="http://127.0.0.1:1/v1",
            datasets=["gsm8k"],
            dataset_args={"gsm8k": {"local_path": "a\x00"}},
        )
    assert err.value.errors()[0]["loc"] == ("dataset_args", "gsm8k", "local_path")


def test_field_name_styles():
    assert field_name("dataset_args.gsm8k.local_path") == "dataset_args.gsm8k.local_path"
    with cli_style():
        assert field_name("dataset_path") == "--dataset-path"
        assert field_name("dataset_args.gsm8k.local_path") == "--dataset-args gsm8k.local_path"
    assert field_name("dataset_path") == "dataset_path"


def test_eval_cli_names_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    rc = main(
        [
            "eval",
            "--model",
            "m",
            "--api-url",
            "http://127.0.0.1:9/v1",
            "--datasets",
            "general_qa",
            "--work-dir",
            str(tmp_path),
            "--no-test-connection",
        ]
    )
    err = capsys.readouterr().err
    assert rc != 0 and "--dataset-args general_qa.local_path" in err
