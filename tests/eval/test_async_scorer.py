"""The async scorer seam (code run in a sandbox, an LLM judge): a scorer failure is an ``error`` sample
with its reason, never ``wrong``; the verdict and its details are cached with the run; resume scores
again only what the scorer failed on, without asking the model again; ``check`` runs before any
request."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import base
from evalscope.eval.runner import EvalError
from evalscope.eval.scoring import AsyncScorer, Score, ScoreContext
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"


class CountingScorer(AsyncScorer):
    """Scores "\\boxed{7}" by the gold answer; fails once on the samples in ``fail_once``."""

    def __init__(self, fail_once: set[str], refuse: str | None = None) -> None:
        self.fail_once = set(fail_once)
        self.refuse = refuse
        self.calls: list[str] = []
        self.closed = 0

    def check(self, config: TaskConfig) -> None:
        if self.refuse:
            raise ValueError(self.refuse)

    async def score(self, sample, text: str, ctx: ScoreContext, /) -> Score:
        ctx.resource("conn", lambda: self)  # one per run, closed at its end
        self.calls.append(sample.id)
        if sample.id in self.fail_once:
            self.fail_once.discard(sample.id)
            return Score(extracted=None, value=0.0, error="sandbox broke", details={"stderr": "boom"})
        ok = sample.target.strip() == "7"
        return Score(extracted="7", value=float(ok), details={"seen": text})

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def scored_gsm8k(monkeypatch):
    base.get_benchmark("gsm8k")  # the built-ins are registered

    def install(scorer: AsyncScorer) -> None:
        bench = dataclasses.replace(base._REGISTRY["gsm8k"], scorer=scorer)
        monkeypatch.setitem(base._REGISTRY, "gsm8k", bench)

    return install


def _cfg(srv, tmp_path, **kw) -> TaskConfig:
    fields = dict(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        eval_batch_size=2,
        max_retries=0,
        work_dir=str(tmp_path / "out"),
    )
    fields.update(kw)
    return TaskConfig(**fields)


def _asked(srv) -> int:
    return sum(srv.stats()["prompts"].values())


def test_scorer_failure_is_an_error_and_resume_scores_it_again_without_asking(
    mock_server, tmp_path, scored_gsm8k
):
    scorer = CountingScorer(fail_once={"main/1"})
    scored_gsm8k(scorer)
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{7}")])
    first = run_task(_cfg(srv, tmp_path))
    assert _asked(srv) == 6 and len(scorer.calls) == 6 and scorer.closed == 1
    rep = first["result"]["gsm8k"]
    assert rep["counts"] == {"correct": 1, "wrong": 4, "unparsed": 0, "truncated": 0, "error": 1}
    assert first["error_counts"]["by_reason"] == {"scorer": 1}
    assert any("1 of 6 samples could not be scored (the scorer failed)" in w for w in first["warnings"])
    run_dir = Path(first["output_dir"])
    lines = [json.loads(x) for x in (run_dir / "predictions/mock-model/gsm8k.jsonl").read_text().splitlines()]
    failed = next(x for x in lines if x["id"] == "main/1")
    assert (
        failed["state"] == "error"
        and failed["error"] == "sandbox broke"
        and failed["error_reason"] == "scorer"
    )
    assert failed["output"] == "\\boxed{7}" and failed["details"] == {"stderr": "boom"}
    assert all(x["details"] == {"seen": "\\boxed{7}"} for x in lines if x["id"] != "main/1")

    # resume: the model is not asked again; only the failed sample is scored again
    srv.reset_stats()
    scorer.calls.clear()
    again = run_task(_cfg(srv, tmp_path, use_cache=str(run_dir)))
    assert _asked(srv) == 0
    assert scorer.calls == ["main/1"]
    assert again["result"]["gsm8k"]["counts"]["error"] == 0
    assert sum(again["result"]["gsm8k"]["counts"].values()) == 6

    # and a third run scores nothing at all: every verdict is cached with the run
    scorer.calls.clear()
    run_task(_cfg(srv, tmp_path, use_cache=str(run_dir)))
    assert scorer.calls == [] and _asked(srv) == 0


def test_a_scorer_that_cannot_work_stops_the_run_before_any_request(mock_server, tmp_path, scored_gsm8k):
    scored_gsm8k(CountingScorer(set(), refuse="no sandbox: install bubblewrap"))
    srv = mock_server()
    with pytest.raises(EvalError, match="gsm8k: no sandbox: install bubblewrap"):
        run_task(_cfg(srv, tmp_path))
    assert _asked(srv) == 0


def test_a_scorer_that_raises_makes_an_error_sample_not_a_crash(mock_server, tmp_path, scored_gsm8k):
    class Broken(AsyncScorer):
        async def score(self, sample, text, ctx, /) -> Score:
            raise RuntimeError("bug in the scorer")

    scored_gsm8k(Broken())
    srv = mock_server()
    from evalscope.errors import RunFailed

    with pytest.raises(RunFailed) as info:
        run_task(_cfg(srv, tmp_path))
    message = str(info.value)
    assert message.startswith("no sample could be scored: the scorer failed on all 6 answers (scorer x6)")
    assert "RuntimeError: bug in the scorer" in message
