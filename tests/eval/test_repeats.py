"""``repeats: k`` (issue 14, item 2): pass@k against hand-computed values, a k = 4 run against the mock
whose answers cycle per repeat giving exactly the expected avg@4, pass@n, maj@4 and standard errors,
and resume per (sample, repeat) counted in the mock's requests."""

from __future__ import annotations

import json
import math
import re
import statistics
from fractions import Fraction
from pathlib import Path

import pytest

from evalscope.cli import main
from evalscope.eval import TaskConfig, run_task
from evalscope.eval.repeats import pass_at_k, pass_ks, repeat_seed
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"


# ---------------------------------------------------------------- the estimator


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (5, 0, 1, Fraction(0)),  # nothing correct
        (5, 0, 5, Fraction(0)),
        (5, 5, 1, Fraction(1)),  # all correct
        (5, 5, 5, Fraction(1)),
        (5, 2, 1, Fraction(2, 5)),  # pass@1 = c / n
        (5, 2, 2, 1 - Fraction(3, 10)),  # C(3,2)=3, C(5,2)=10
        (5, 2, 3, 1 - Fraction(1, 10)),  # C(3,3)=1, C(5,3)=10
        (5, 2, 4, Fraction(1)),  # k > n - c: every 4 of 5 holds a correct one
        (4, 1, 2, 1 - Fraction(3, 6)),
        (4, 1, 3, 1 - Fraction(1, 4)),
        (10, 3, 5, 1 - Fraction(21, 252)),  # C(7,5)=21, C(10,5)=252
        (1, 0, 1, Fraction(0)),
        (1, 1, 1, Fraction(1)),
        (200, 1, 100, 1 - Fraction(math.comb(199, 100), math.comb(200, 100))),  # = 1/2
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-12)


def test_pass_at_k_matches_chen_et_al_product_form():
    # the numerically stable form of the paper's code: 1 - prod_{i=n-c+1}^{n} (1 - k / i)
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                if n - c < k:
                    want = 1.0
                else:
                    want = 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))
                assert pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12), (n, c, k)


@pytest.mark.parametrize("n, c, k", [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_refuses_impossible_counts(n, c, k):
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(n, c, k)


def test_reported_ks_and_seeds():
    assert pass_ks(1) == [1] and pass_ks(4) == [1, 2, 3, 4] and pass_ks(16) == list(range(1, 17))
    assert pass_ks(100) == [1, 2, 4, 8, 16, 32, 64, 100] and pass_ks(64) == [1, 2, 4, 8, 16, 32, 64]
    seeds = {repeat_seed(42, f"main/{i}", r) for i in range(50) for r in range(1, 9)}
    assert len(seeds) == 400 and all(0 <= s < 2**31 for s in seeds)  # distinct, 32-bit safe
    assert repeat_seed(42, "main/0", 1) == repeat_seed(42, "main/0", 1) != repeat_seed(43, "main/0", 1)
    assert repeat_seed(None, "main/0", 1) is None


# ---------------------------------------------------------------- a k = 4 run against the mock

# Each question's row answers its repeats in turn (the mock's ``replies``); gold answers: 7, 1200, 30, 28.
SCRIPT = [
    ScriptedAnswer(match="Tom has 3", replies=["\\boxed{7}"] * 4),  # c=4
    ScriptedAnswer(match="Mia buys 600", replies=["\\boxed{5}", "\\boxed{1200}", "\\boxed{5}", "\\boxed{9}"]),
    # a 2-2 tie between 31 (given first) and 30: maj@4 takes 31, wrong
    ScriptedAnswer(match="Lena reads", replies=["\\boxed{31}", "\\boxed{30}", "\\boxed{30}", "\\boxed{31}"]),
    # repeat 0 fails (no answer: counts nowhere); then unparsed, correct, unparsed: only 28 votes
    ScriptedAnswer(
        match="Sam walks",
        status=500,
        fail_times=1,
        replies=["I cannot tell.", "\\boxed{28}", "I cannot tell."],
    ),
]

# per question (Tom, Mia, Lena, Sam), by hand from the script above
AVG = [1.0, 0.25, 0.5, 1 / 3]  # Sam: 1 correct of 3 answered
PASS = {
    1: [1.0, 1 / 4, 2 / 4, 1 / 3],
    2: [1.0, 1 - 3 / 6, 1 - 1 / 6, 1 - 1 / 3],  # Mia C(3,2)/C(4,2); Lena C(2,2)/C(4,2); Sam C(2,2)/C(3,2)
    3: [1.0, 1 - 1 / 4, 1.0, 1.0],  # Mia C(3,3)/C(4,3); Lena and Sam: n - c < 3
    4: [1.0, 1.0, 1.0],  # Sam has 3 answers: not counted in pass@4
}
VOTE = [1.0, 0.0, 0.0, 1.0]  # Mia: 5 twice (wrong); Lena: tie -> 31 (wrong); Sam: 28


def _mean_se(values: list[float]) -> tuple[float, float]:
    return round(statistics.fmean(values), 4), round(statistics.stdev(values) / math.sqrt(len(values)), 4)


def _asked(srv) -> dict[str, int]:
    """Requests the mock answered per question, by the question's first name."""
    out: dict[str, int] = {}
    for prompt, n in srv.stats()["prompts"].items():
        who = next(w for w in ("Tom", "Mia", "Lena", "Sam") if w in prompt)
        out[who] = out.get(who, 0) + n
    return out


def _cfg(srv, tmp_path, **kw) -> TaskConfig:
    base = dict(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(FIXTURES / "gsm8k"), "few_shot_num": 0}},
        limit=4,
        repeats=4,
        eval_batch_size=1,  # one sender: each row's replies go to its repeats in order
        max_retries=0,
        timeout=30,
        generation_config={"temperature": 0.7, "max_tokens": 64},
        work_dir=str(tmp_path / "out"),
    )
    base.update(kw)
    return TaskConfig(**base)


def _metrics(report: dict) -> dict[str, dict]:
    return {m["name"]: m for m in report["metrics"]}


def _check_k4_report(rep: dict) -> None:
    assert rep["repeats"] == 4
    assert rep["counts"] == {"correct": 8, "wrong": 5, "unparsed": 2, "truncated": 0, "error": 1}
    assert rep["num_scored"] == 15 and rep["coverage"] == 0.9375
    assert (rep["score"], rep["stderr"]) == _mean_se(AVG)  # avg@4 and its SE across questions
    m = _metrics(rep)
    assert list(m) == [
        "AverageAccuracy",
        "mean_acc_pass@1",
        "mean_acc_pass@2",
        "mean_acc_pass@3",
        "mean_acc_pass@4",
        "mean_acc_vote@4",
    ]
    assert m["AverageAccuracy"]["num"] == 16 and m["AverageAccuracy"]["score"] == rep["score"]
    for n, values in PASS.items():
        got = m[f"mean_acc_pass@{n}"]
        assert (got["score"], got["stderr"]) == _mean_se(values), n
        assert got["num"] == len(values)
        # one subset here: its row holds the same numbers
        sub = got["categories"][0]["subsets"][0]
        assert (sub["name"], sub["num"], sub["score"], sub["stderr"]) == (
            "main",
            len(values),
            got["score"],
            got["stderr"],
        )
    vote = m["mean_acc_vote@4"]
    assert (vote["num"], vote["score"], vote["stderr"]) == (4, *_mean_se(VOTE))


def test_repeats_4_gives_the_expected_metrics_and_lines(mock_server, tmp_path):
    srv = mock_server(answers=SCRIPT)
    result = run_task(_cfg(srv, tmp_path))
    rep = result["result"]["gsm8k"]
    _check_k4_report(rep)
    # by hand, the numbers the docs quote for this script
    assert rep["score"] == 0.5208 and _metrics(rep)["mean_acc_pass@4"]["score"] == 1.0
    assert srv.stats()["total"] == 16

    out = Path(result["output_dir"])
    lines = [json.loads(x) for x in (out / "predictions/mock-model/gsm8k.jsonl").read_text().splitlines()]
    assert [(x["id"], x["repeat"]) for x in lines] == [(f"main/{i}", r) for i in range(4) for r in range(4)]
    assert list(lines[1])[:4] == ["id", "repeat", "seed", "subset"]  # the added keys, after the id
    assert "seed" not in lines[0]  # repeat 0 asks as a k = 1 run does (no seed set)
    assert [x["seed"] for x in lines[1:4]] == [repeat_seed(42, "main/0", r) for r in (1, 2, 3)]
    assert [x["extracted"] for x in lines[8:12]] == ["31", "30", "30", "31"]
    assert [x["state"] for x in lines[12:]] == ["error", "unparsed", "correct", "unparsed"]
    assert json.loads((out / "reports/mock-model/gsm8k.json").read_text()) == rep

    # report.html: the repeat metrics in their own table and in the page's JSON island
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="repeats-table"' in html and "mean_acc_vote@4" in html
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    rows = {r["metric"]: r for r in data["repeat_rows"]}
    assert list(rows) == [m["name"] for m in rep["metrics"][1:]]
    assert (rows["mean_acc_pass@2"]["score"], rows["mean_acc_pass@2"]["stderr"]) == _mean_se(PASS[2])
    assert "main/3 #2" in html  # the sample browser names each repeat


def test_generation_seed_is_the_base_of_the_repeat_seeds(mock_server, tmp_path):
    srv = mock_server(answers=SCRIPT)
    cfg = _cfg(srv, tmp_path, limit=1, repeats=3, generation_config={"temperature": 1.0, "seed": 7})
    out = Path(run_task(cfg)["output_dir"])
    lines = [json.loads(x) for x in (out / "predictions/mock-model/gsm8k.jsonl").read_text().splitlines()]
    assert [x["seed"] for x in lines] == [7, repeat_seed(7, "main/0", 1), repeat_seed(7, "main/0", 2)]


def test_k1_files_keep_todays_keys(mock_server, tmp_path):
    srv = mock_server(answers=SCRIPT)
    result = run_task(_cfg(srv, tmp_path, repeats=1))
    rep = result["result"]["gsm8k"]
    assert "repeats" not in rep and [m["name"] for m in rep["metrics"]] == ["AverageAccuracy"]
    assert "stderr" not in rep["metrics"][0]
    out = Path(result["output_dir"])
    for line in (out / "predictions/mock-model/gsm8k.jsonl").read_text().splitlines():
        assert "repeat" not in json.loads(line) and "seed" not in json.loads(line)


# ---------------------------------------------------------------- resume per (sample, repeat)


def test_raising_k_asks_only_the_new_repeats(mock_server, tmp_path):
    srv = mock_server(answers=SCRIPT)
    first = run_task(_cfg(srv, tmp_path, repeats=2))
    assert srv.stats()["total"] == 8
    rep2 = first["result"]["gsm8k"]
    assert rep2["repeats"] == 2 and [m["name"] for m in rep2["metrics"]][1:] == [
        "mean_acc_pass@1",
        "mean_acc_pass@2",
        "mean_acc_vote@2",
    ]
    # k 2 -> 4 in the same folder: only repeats 2 and 3 are asked, and Sam's failed repeat 0 again (a
    # failed request is not an answer); the mock's replies go on in turn from where they were.
    before = _asked(srv)
    again = run_task(_cfg(srv, tmp_path, repeats=4, use_cache=first["output_dir"]))
    assert srv.stats()["total"] == 8 + 9
    after = _asked(srv)
    assert {w: after[w] - before[w] for w in after} == {"Tom": 2, "Mia": 2, "Lena": 2, "Sam": 3}
    rep = again["result"]["gsm8k"]
    # Sam now: repeat 0 "28" (its row's second reply), 1-3 "I cannot tell." (replies 1, 3 and 1 again)
    assert rep["repeats"] == 4
    assert rep["counts"] == {"correct": 8, "wrong": 5, "unparsed": 3, "truncated": 0, "error": 0}

    # k 4 -> 1: nothing asked; repeat 0 of each question is the k = 1 answer, written with today's keys
    srv.reset_stats()
    one = run_task(_cfg(srv, tmp_path, repeats=1, use_cache=first["output_dir"]))
    assert srv.stats()["total"] == 0
    assert one["result"]["gsm8k"]["counts"]["correct"] + one["result"]["gsm8k"]["counts"]["wrong"] == 4
    out = Path(one["output_dir"])
    lines = [json.loads(x) for x in (out / "predictions/mock-model/gsm8k.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and all("repeat" not in x for x in lines)


def test_resume_after_a_crash_asks_only_the_missing_pairs(mock_server, tmp_path):
    srv = mock_server(answers=SCRIPT)
    first = run_task(_cfg(srv, tmp_path))
    out = Path(first["output_dir"])
    pred = out / "predictions/mock-model/gsm8k.jsonl"
    lines = pred.read_text(encoding="utf-8").splitlines()
    # what a crash leaves: the answers finished so far, then a torn line; no report yet
    pred.write_text("\n".join(lines[:9]) + "\n" + lines[9][:40], encoding="utf-8")
    for f in (out / "reports").rglob("*.json"):
        f.unlink()

    fresh = mock_server(answers=SCRIPT)  # its replies start again at each row's first
    resumed = run_task(_cfg(fresh, tmp_path), run_dir=out, resume=True)
    # missing: Lena repeats 1-3 (the torn line was repeat 1) and all four of Sam's
    assert fresh.stats()["total"] == 7
    assert _asked(fresh) == {"Lena": 3, "Sam": 4}
    rep = resumed["result"]["gsm8k"]
    assert rep["counts"]["error"] + rep["num_scored"] == 16
    kept = [json.loads(x) for x in pred.read_text().splitlines()]
    assert [(x["id"], x["repeat"]) for x in kept] == [(f"main/{i}", r) for i in range(4) for r in range(4)]
    assert [x["output"] for x in kept[:9]] == [json.loads(x)["output"] for x in lines[:9]]


# ---------------------------------------------------------------- the CLI flag


def test_cli_repeats_flag_and_summary(mock_server, tmp_path, capsys):
    srv = mock_server(answers=SCRIPT)
    args = [
        "eval",
        "--model",
        "mock-model",
        "--api-url",
        srv.url + "/v1",
        "--datasets",
        "gsm8k",
        "--dataset-args",
        json.dumps({"gsm8k": {"local_path": str(FIXTURES / "gsm8k"), "few_shot_num": 0}}),
        "--limit",
        "4",
        "--max-retries",
        "0",
        "--work-dir",
        str(tmp_path / "out"),
        "--generation-config",
        "temperature=0.7",
    ]
    assert main([*args, "--repeats", "4"]) == 0
    text = capsys.readouterr().out
    for name in ("AverageAccuracy (avg@4)", "mean_acc_pass@1", "mean_acc_pass@4", "mean_acc_vote@4"):
        assert name in text
    assert "0.5208" in text
    assert main([*args, "--repeats", "0"]) == 2
    err = capsys.readouterr().err
    assert "--repeats" in err and "greater than or equal to 1" in err
    assert main([*args, "--repeats", "1025"]) == 2
    assert "--repeats" in capsys.readouterr().err


def test_repeats_beside_a_benchmarks_own_metrics(mock_server, tmp_path):
    # IFEval adds its own metrics after the main one; the repeat metrics come after those
    from evalscope.eval import BenchmarkReport

    srv = mock_server()
    cfg = _cfg(
        srv,
        tmp_path,
        datasets=["ifeval"],
        dataset_args={"ifeval": {"local_path": str(FIXTURES / "ifeval")}},
        limit=2,
        repeats=2,
    )
    rep = run_task(cfg)["result"]["ifeval"]
    names = [m["name"] for m in rep["metrics"]]
    assert names[-3:] == ["mean_acc_pass@1", "mean_acc_pass@2", "mean_acc_vote@2"] and len(names) > 4
    typed = BenchmarkReport.model_validate(rep)
    assert [m.name for m in typed.repeat_metrics] == names[-3:]
    assert sum(rep["counts"].values()) == 2 * typed.repeat_metrics[0].num
