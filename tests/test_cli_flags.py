"""The hand-written command lines against the pydantic models they fill (issue 13).

Every model field has a flag named like it (``eval_batch_size`` -> ``--eval-batch-size``) or sits in
a commented exclusion list; every flag fills a field or sits in one; a flag's default is the
model's (or None/SUPPRESS: "not given", the model decides); a flag's choices are the field's values.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Field

from evalscope.cli import build_parser

NOT_GIVEN = (None, argparse.SUPPRESS)


def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _field(model: type[BaseModel], path: str) -> Any:
    """The FieldInfo at ``path`` (``files.mode``: a field of a nested model)."""
    head, _, rest = path.partition(".")
    info = model.model_fields[head]
    if rest:
        return _field(typing.cast(type[BaseModel], info.annotation), rest)
    return info


def _literal_values(annotation: Any) -> set[Any] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    for arg in typing.get_args(annotation):  # Optional[Literal[...]], Annotated[Literal[...], ...]
        found = _literal_values(arg)
        if found:
            return found
    return None


def flag_problems(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    *,
    renamed: dict[str, str] | None = None,
    cli_only: set[str] = frozenset(),
    model_only: set[str] = frozenset(),
) -> list[str]:
    """What disagrees between ``parser`` and ``model``. ``renamed``: flag dest -> field path where the
    two differ (a nested model's field, a plural dest); ``cli_only`` / ``model_only``: the exclusions."""
    renamed = renamed or {}
    problems = []
    actions = [a for a in parser._actions if a.dest != "help" and a.option_strings]
    mapped = set()
    for action in actions:
        if action.dest in cli_only:
            continue
        path = renamed.get(action.dest, action.dest)
        try:
            info = _field(model, path)
        except (KeyError, AttributeError):
            problems.append(f"{action.option_strings[0]}: no field {path!r} in {model.__name__}")
            continue
        mapped.add(path.partition(".")[0])
        if action.dest not in renamed and "--" + action.dest.replace("_", "-") not in action.option_strings:
            kebab = "--" + action.dest.replace("_", "-")
            problems.append(f"{action.option_strings}: not the field's name in kebab case ({kebab})")
        if action.default not in NOT_GIVEN:
            default = info.get_default(call_default_factory=True)
            if action.default != default:
                problems.append(
                    f"{action.option_strings[0]}: default {action.default!r}, "
                    f"{model.__name__}.{path} {default!r}"
                )
        values = _literal_values(info.annotation)
        if action.choices is not None and values is not None and set(action.choices) != values:
            problems.append(
                f"{action.option_strings[0]}: choices {sorted(action.choices)}, field {sorted(values)}"
            )
    for name in model.model_fields:
        if name not in mapped and name not in model_only:
            problems.append(f"{model.__name__}.{name}: no flag (--{name.replace('_', '-')})")
    return problems


def test_eval_flags_match_task_config():
    from evalscope.eval.config import TaskConfig

    assert (
        flag_problems(
            _subparser("eval"),
            TaskConfig,
            # output format of the command and the CI gates (evalscope/gates.py), not settings of the run
            cli_only={"json", "fail_under", "junit_xml"},
            model_only={"eval_type"},  # EvalScope 1.14's field: only "openai_api"/"service" exist here
        )
        == []
    )


def test_perf_flags_match_perf_arguments():
    from evalscope.perf.arguments import PerfArguments
    from evalscope.slo import SLA_FIELDS

    assert (
        flag_problems(
            _subparser("perf"),
            PerfArguments,
            # the terminal's progress bar and the CI gates (evalscope/gates.py), not settings of the run;
            # EvalScope's --sla-* spelling, folded onto the search fields (evalscope/slo.py SLA_FIELDS)
            cli_only={"no_progress", "slo_percentile", "junit_xml", *SLA_FIELDS},
        )
        == []
    )


def test_service_flags_match_service_settings():
    from evalscope.service.cli import FLAGS
    from evalscope.service.settings import ServiceSettings

    parser = _subparser("service")
    assert (
        flag_problems(
            parser,
            ServiceSettings,
            renamed={"data_dirs": "data_dirs"},  # repeatable: one --data-dir per folder
            model_only={
                "job_kinds",  # tests and extensions: run_service(job_kinds=...) or $EVALSCOPE_JOB_KINDS
                "start_method",  # multiprocessing detail for embedding (and $EVALSCOPE_START_METHOD)
                "max_upload_bytes",  # celery upload cap: keyword or $EVALSCOPE_MAX_UPLOAD_BYTES
            },
        )
        == []
    )
    # run_cli passes exactly the flags it has
    assert set(FLAGS) == {a.dest for a in parser._actions if a.option_strings and a.dest != "help"}


def test_mock_flags_match_mock_config():
    from evalscope.mock.config import MockConfig

    assert (
        flag_problems(
            _subparser("mock-server"),
            MockConfig,
            renamed={"required_headers": "required_headers"},  # repeatable --require-header N=V
            cli_only={
                "host",
                "port",  # where the server listens, not how it answers
                "loop",
                "debug",
            },  # the process's event loop and tracebacks
        )
        == []
    )


def test_worker_flags_match_worker_settings():
    pytest.importorskip("celery")
    from evalscope.jobs.celery.worker import WorkerSettings

    assert (
        flag_problems(
            _subparser("worker"),
            WorkerSettings,
            renamed={
                "files": "files.mode",
                "work_dir": "files.work_dir",
                "service_url": "files.service_url",
                "service_token": "files.service_token",
                "keep_files": "files.keep_local",
            },
            cli_only={"debug"},  # log level of the worker process
        )
        == []
    )


def test_the_check_finds_each_kind_of_mismatch():
    class Model(BaseModel):
        size: int = 3
        mode: typing.Literal["a", "b"] = "a"
        hidden: str = "x"

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4)  # default disagrees
    parser.add_argument("--mode", choices=["a", "c"])  # choices disagree
    parser.add_argument("--extra")  # no field
    parser.add_argument("--sz", dest="size_alias", default=None)  # not a field either
    problems = flag_problems(parser, Model)
    assert any("--size: default 4" in p for p in problems)
    assert any("--mode: choices" in p for p in problems)
    assert any("--extra: no field" in p for p in problems)
    assert any("Model.hidden: no flag" in p for p in problems)
    assert (
        flag_problems(
            parser,
            Model,
            cli_only={"extra", "size_alias", "size", "mode"},
            model_only={"size", "mode", "hidden"},
        )
        == []
    )

    class Kebab(BaseModel):
        max_len: int = Field(1)

    bad = argparse.ArgumentParser()
    bad.add_argument("--maxlen", dest="max_len", default=None)
    assert any("kebab" in p for p in flag_problems(bad, Kebab))
