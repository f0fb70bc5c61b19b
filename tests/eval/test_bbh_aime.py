"""BBH, AIME 2024 and AIME 2025 end to end against the mock (rows in the real file formats, written
for these tests), their scorers on their own, and the real local copies through the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evalscope.cli import main
from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import get_benchmark
from evalscope.eval.benchmarks.base import Sample
from evalscope.eval.benchmarks.bbh import PROMPT, read_cot_prompt, score_bbh
from evalscope.eval.loading import DatasetFormatError, load_benchmark
from evalscope.eval.scoring import read_integer, score_integer
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
STATES = ("correct", "wrong", "unparsed", "truncated", "error")

OK: dict = {}
LENGTH = {"finish_reason": "length"}
FAIL = {"status": 500, "retry_after": 0}

# benchmark -> (fixture folder, [(substring of the question, reply, extra, state)], score, subset scores)
SCENARIOS = {
    "bbh": (
        "bbh",
        [
            (
                "three birds",
                "The robin is leftmost, then crow, then owl.\nSo the answer is (B).",
                OK,
                "correct",
            ),
            ("three fruits", "So the answer is A.", OK, "wrong"),
            ("three vehicles", "I am not sure which one is oldest.", OK, "unparsed"),
            (
                "not ( True ) and ( True )",
                "not True = False; False and True = False. So the answer is **False**.",
                OK,
                "correct",
            ),
            ("True or ( False and True )", "So the answer is maybe.", OK, "unparsed"),
            (
                "a violin, two drums",
                "violin (1), drums (2), flute (1): 1 + 2 + 1 = 4. So the answer is 4.",
                OK,
                "correct",
            ),
            ("three onions", "cabbage (1), onions (3). So the answer is 4.", LENGTH, "truncated"),
            ("Input: [ { (", "Stack: [ { (. So the answer is ) } ].", OK, "correct"),
            ("Input: < [ [", "", FAIL, "error"),
        ],
        0.5,
        {
            "logical_deduction_three_objects": 0.3333,
            "boolean_expressions": 0.5,
            "object_counting": 0.5,
            "dyck_languages": 1.0,
        },
    ),
    "aime24": (
        "aime24",
        [
            ("remainder when $5^{4}$", "5^4 = 625, and 625 mod 100 = 25. \\boxed{25}", OK, "correct"),
            ("24$-minute stop", "180 + 24 minutes.\nThe answer is 204 minutes.", OK, "correct"),
            ("plus $58$", "55 + 58 = 113, so \\boxed{\\frac{226}{2}}", OK, "correct"),
            ("Find $7 \\cdot 53$", "7 * 53 = \\boxed{370}", OK, "wrong"),
            ("lattice points", "I could not finish this one.", OK, "unparsed"),
            ("divisors of $2^{8}$", "The divisors are 1, 2, 4, ... \\boxed{9}", LENGTH, "truncated"),
            ("largest prime below", "", FAIL, "error"),
        ],
        0.5,
        {"default": 0.5},
    ),
    "aime25": (
        "aime25",
        [
            ("integer bases", "<think>maybe \\boxed{16}</think>The sum is \\boxed{70}.", OK, "correct"),
            ("Compute $24^2 + 12$", "576 + 12 = \\boxed{598}", OK, "wrong"),
            ("Find $2^{4}$", "\\boxed{}", OK, "unparsed"),
            ("Compute $9 \\cdot 13$", "", FAIL, "error"),
        ],
        0.3333,
        {"default": 0.3333},
    ),
}


def _cfg(name: str, srv, tmp_path: Path, **args) -> TaskConfig:
    if name == "bbh":  # the fixture holds four of the 27 tasks
        args.setdefault("subset_list", list(SCENARIOS["bbh"][3]))
    return TaskConfig(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=[name],
        dataset_args={name: {"local_path": str(FIXTURES / SCENARIOS[name][0]), **args}},
        eval_batch_size=4,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path),
    )


def _predictions(result: dict, name: str) -> list[dict]:
    path = Path(result["output_dir"]) / "predictions" / "mock-model" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_known_mix_gives_exact_score_and_states(name, mock_server, tmp_path):
    _, rows, score, subset_scores = SCENARIOS[name]
    answers = [ScriptedAnswer(match=m, reply=reply or "unused", **extra) for m, reply, extra, _ in rows]
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    result = run_task(_cfg(name, srv, tmp_path))
    rep = result["result"][name]

    expected = Counter(state for *_, state in rows)
    assert rep["counts"] == {s: expected.get(s, 0) for s in STATES}
    assert rep["score"] == pytest.approx(score, abs=1e-4)
    assert {s["name"]: s["score"] for s in rep["subsets"]} == pytest.approx(subset_scores, abs=1e-4)
    preds = _predictions(result, name)
    assert len(preds) == len(rows) and all(p["output"] != "UNMATCHED" for p in preds)
    for match, _reply, _extra, state in rows:
        (pred,) = [p for p in preds if match in p["messages"][-1]["content"].rsplit("\nQ: ", 1)[-1]]
        assert pred["state"] == state, (match, pred)
    prompts = srv.stats()["prompts"]
    for match, _, _extra, state in rows:
        assert sum(n for text, n in prompts.items() if match in text) == (2 if state == "error" else 1), match


# gold answers written the ways models write them; {g} is the gold as the data file has it
STYLES = {
    "bbh": [
        "Let's think.\nSo the answer is {g}.",
        "Step one, step two. So the answer is **{g}**",
        "<think>So the answer is nothing.</think>Thus: So the answer is {g}",
    ],
    "aime24": [
        "\\boxed{{{g}}}",
        "So the final answer is $\\boxed{{{g}}}$.",
        "ANSWER: {g}",
        "The answer is {i}.",
    ],
    "aime25": ["\\boxed{{{g}}}", "<think>\\boxed{{0}}</think>\\boxed{{{i}}}", "Final answer: {i}"],
}


def _gold_rows(name: str) -> list[tuple[str, str]]:
    """(the whole question, its gold) per fixture row: a question appears in no other prompt."""
    folder = FIXTURES / SCENARIOS[name][0]
    if name == "bbh":
        return [
            (row["input"], row["target"])
            for f in sorted((folder / "bbh").glob("*.json"))
            for row in json.loads(f.read_text(encoding="utf-8"))["examples"]
        ]
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(r["problem"], r["answer"]) for r in rows]


@pytest.mark.parametrize(("name", "style"), [(n, i) for n in STYLES for i in range(len(STYLES[n]))])
def test_gold_answers_in_every_style_score_one(name, style, mock_server, tmp_path):
    rows = _gold_rows(name)
    template = STYLES[name][style]
    answers = [
        ScriptedAnswer(match=m, reply=template.format(g=gold, i=int(gold) if gold.isdigit() else gold))
        for m, gold in rows
    ]
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    rep = run_task(_cfg(name, srv, tmp_path))["result"][name]
    assert rep["counts"]["correct"] == len(rows), rep["counts"]
    assert rep["score"] == 1.0


def test_bbh_prompt_holds_the_tasks_worked_examples(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="So the answer is (A).")])
    result = run_task(_cfg("bbh", srv, tmp_path, subset_list=["logical_deduction_three_objects"]))
    cot = (FIXTURES / "bbh" / "cot-prompts" / "logical_deduction_three_objects.txt").read_text(
        encoding="utf-8"
    )
    worked = cot.split("-----\n", 1)[1].strip()  # the authors' file without its canary and separator
    rows = json.loads(
        (FIXTURES / "bbh" / "bbh" / "logical_deduction_three_objects.json").read_text(encoding="utf-8")
    )["examples"]
    preds = _predictions(result, "bbh")
    assert len(preds) == 3
    for pred, row in zip(sorted(preds, key=lambda p: p["id"]), rows, strict=True):
        (msg,) = pred["messages"]
        assert msg["role"] == "user"
        assert msg["content"] == worked + "\n\n" + PROMPT.format(question=row["input"])
        assert msg["content"].count("\nA: Let's think step by step.") == 4  # three examples and the ask
        assert "canary" not in msg["content"] and "-----" not in msg["content"]
        assert pred["target"] == row["target"].strip("()")

    # 0-shot: the question and the answer format alone; 1-shot: the description and the first example
    zero = run_task(_cfg("bbh", srv, tmp_path, subset_list=["boolean_expressions"], few_shot_num=0))
    first = _predictions(zero, "bbh")[0]["messages"][0]["content"]
    assert first == PROMPT.format(question="not ( True ) and ( True ) is")
    one = run_task(_cfg("bbh", srv, tmp_path, subset_list=["boolean_expressions"], few_shot_num=1))
    text = _predictions(one, "bbh")[0]["messages"][0]["content"]
    assert text.startswith("Evaluate the result of a random Boolean expression.\n\nQ: not not ( False ) is\n")
    assert "False or not False" not in text and text.count("Q: ") == 2


def test_bbh_few_shot_beyond_the_authors_three_is_refused(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="So the answer is (A).")])
    cfg = _cfg("bbh", srv, tmp_path, subset_list=["boolean_expressions"], few_shot_num=4)
    with pytest.raises(DatasetFormatError, match="dataset_args.bbh.few_shot_num: 4 examples"):
        load_benchmark(get_benchmark("bbh"), cfg)


def test_bbh_without_its_prompt_files_names_the_field_and_the_way_out(tmp_path, mock_server):
    data = tmp_path / "only_data"
    data.mkdir()
    src = FIXTURES / "bbh" / "bbh" / "boolean_expressions.json"
    (data / "boolean_expressions.json").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="So the answer is True.")])
    cfg = TaskConfig(
        model="m",
        api_url=srv.url + "/v1",
        datasets=["bbh"],
        dataset_args={"bbh": {"local_path": str(data), "subset_list": ["boolean_expressions"]}},
    )
    with pytest.raises(Exception) as err:
        load_benchmark(get_benchmark("bbh"), cfg)
    msg = str(err.value)
    assert "dataset_args.bbh.local_path" in msg and "cot-prompts/boolean_expressions.txt" in msg
    assert "few_shot_num to 0" in msg
    cfg0 = cfg.model_copy(
        update={"dataset_args": {"bbh": cfg.dataset_args["bbh"].model_copy(update={"few_shot_num": 0})}}
    )
    assert len(load_benchmark(get_benchmark("bbh"), cfg0).samples) == 2


def test_read_cot_prompt_parses_the_authors_layout():
    shots = read_cot_prompt(FIXTURES / "bbh" / "cot-prompts" / "object_counting.txt", "object_counting")
    assert [s.target for s in shots] == ["2", "2", "3"]
    assert shots[0].input == "I have a trumpet and a banjo. How many musical instruments do I have?"
    assert shots[0].metadata["cot"].startswith("Let's think step by step.\ntrumpet (1)")
    assert {s.metadata["description"] for s in shots} == {
        "Questions that involve enumerating objects and asking the model to count them."
    }


def _bbh(task: str, target: str, question: str = "") -> Sample:
    return Sample(subset=task, target=target, input=question)


MC_Q = "Which?\nOptions:\n(A) Amy finished last\n(B) Eli finished last\n(C) Eve finished last"


@pytest.mark.parametrize(
    ("task", "target", "text", "state"),
    [
        ("logical_deduction_three_objects", "B", "So the answer is (B) Eli finished last.", "correct"),
        ("logical_deduction_three_objects", "B", "So the answer is B", "correct"),
        ("logical_deduction_three_objects", "B", "So the answer is Eli finished last.", "correct"),
        (
            "logical_deduction_three_objects",
            "B",
            "So the answer is (A).\nWait.\nSo the answer is (B).",
            "correct",
        ),
        ("logical_deduction_three_objects", "B", "So the answer is A fetus.", "unparsed"),
        ("logical_deduction_three_objects", "B", "(A) Amy finished last\n(B) Eli finished last", "unparsed"),
        ("logical_deduction_three_objects", "B", "So the answer is (C).", "wrong"),
        ("movie_recommendation", "Monsters, Inc", "So the answer is Monsters, Inc.", "correct"),
        ("movie_recommendation", "Monsters, Inc", "So the answer is (A).", "wrong"),
        ("sports_understanding", "yes", "So the answer is Yes.", "correct"),
        ("navigate", "No", "So the answer is no, we do not return.", "correct"),
        ("navigate", "No", "So the answer is yes or no.", "unparsed"),
        ("formal_fallacies", "invalid", "So the answer is valid.", "wrong"),
        ("formal_fallacies", "invalid", "So the answer is **invalid**.", "correct"),
        ("boolean_expressions", "True", "The answer is True.", "correct"),
        ("boolean_expressions", "True", "\\boxed{True}", "correct"),
        ("multistep_arithmetic_two", "-11520", "So the answer is -11,520.", "correct"),
        ("multistep_arithmetic_two", "24", "So the answer is 20 + 4 = 24.", "correct"),
        ("object_counting", "8", "So the answer is 8 objects.", "correct"),
        ("object_counting", "8", "So the answer is several.", "unparsed"),
        ("dyck_languages", "] ] >", "So the answer is ]]>.", "correct"),
        ("dyck_languages", ") >", "So the answer is ) > ]", "wrong"),
        ("dyck_languages", ") >", "So the answer is the closing sequence.", "unparsed"),
        ("word_sorting", "apple banana cherry", "So the answer is apple, banana, cherry.", "correct"),
        ("word_sorting", "apple banana cherry", "So the answer is banana apple cherry", "wrong"),
        ("causal_judgement", "Yes", "I think it is likely intentional.", "unparsed"),
    ],
)
def test_bbh_scorer_reads_each_tasks_answers(task, target, text, state):
    score = score_bbh(_bbh(task, target, MC_Q), text)
    got = "unparsed" if score.extracted is None else ("correct" if score.value == 1.0 else "wrong")
    assert got == state, score


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("204", 204),
        ("025", 25),
        ("1,024", 1024),
        ("$204$", 204),
        ("\\text{204 minutes}", 204),
        ("x = 204", 204),
        ("70 - 9 = 61", 61),
        ("204.0", 204),
        ("\\frac{1}{2}", None),
        ("204.5", None),
        ("3 or 4", None),
        ("", None),
    ],
)
def test_read_integer(answer, value):
    assert read_integer(answer) == value


@pytest.mark.parametrize(
    ("text", "extracted", "value"),
    [
        ("so \\boxed{25}", "25", 1.0),
        ("The answer is 025.", "25", 1.0),
        ("\\boxed{\\dfrac{50}{2}}", "25", 1.0),
        ("\\boxed{24}", "24", 0.0),
        ("\\boxed{24.5}", "24.5", 0.0),
        ("the result is 25", None, 0.0),  # no boxed answer, no answer marker: nothing committed
        ("\\boxed{}", None, 0.0),
        ("The answer is 61. The answer is 62.", None, 0.0),  # two final answers: nothing committed
        ("\\boxed{} and later 25", None, 0.0),  # an empty box does not fall through to a later number
    ],
)
def test_score_integer(text, extracted, value):
    score = score_integer(Sample(target="25"), text)
    assert (score.extracted, score.value) == (extracted, value)


def test_aime_with_repeats_reports_avg_pass_and_vote_at_k(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="integer bases", replies=["\\boxed{70}", "\\boxed{71}", "\\boxed{70}"]),
            ScriptedAnswer(match="$24^2 + 12$", replies=["\\boxed{598}", "\\boxed{598}", "\\boxed{0588}"]),
            ScriptedAnswer(match="Find $2^{4}$", reply="\\boxed{16}"),
            ScriptedAnswer(match="$9 \\cdot 13$", reply="no idea"),
        ],
        default_reply="UNMATCHED",
    )
    cfg = _cfg("aime25", srv, tmp_path).model_copy(update={"repeats": 3, "eval_batch_size": 1})
    rep = run_task(cfg)["result"]["aime25"]
    assert rep["counts"] == {"correct": 6, "wrong": 3, "unparsed": 3, "truncated": 0, "error": 0}
    # per problem: 2/3, 1/3, 1, 0 correct
    metrics = {m["name"]: m["score"] for m in rep["metrics"]}
    assert rep["score"] == pytest.approx(0.5, abs=1e-4)  # avg@3
    assert metrics["AverageAccuracy"] == rep["score"]
    assert metrics["mean_acc_pass@1"] == pytest.approx(0.5, abs=1e-4)
    assert metrics["mean_acc_pass@2"] == pytest.approx((1 + 2 / 3 + 1 + 0) / 4, abs=1e-4)
    assert metrics["mean_acc_pass@3"] == pytest.approx(0.75, abs=1e-4)
    assert metrics["mean_acc_vote@3"] == pytest.approx(0.5, abs=1e-4)  # 70 and 16 win their votes
    assert srv.stats()["total"] == 12


# ------------------------------------------------------------------ the real copies


def test_real_copies_load_with_documented_counts_and_order(shared_datasets):
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=["bbh", "aime24", "aime25"],
        dataset_dir=str(shared_datasets),
    )
    bbh = load_benchmark(get_benchmark("bbh"), cfg)
    per_task = Counter(s.subset for s in bbh.samples)
    assert len(per_task) == 27 and sum(per_task.values()) == 6511  # SOURCES.md
    assert per_task["causal_judgement"] == 187 and per_task["penguins_in_a_table"] == 146
    for s in bbh.samples:
        assert s.messages and s.messages[0]["content"].count("\nA: Let's think step by step.") == 4, s.id
    # every gold answer, written as the authors' examples write it, scores 1.0
    raw = {
        f.stem: json.loads(f.read_text(encoding="utf-8"))["examples"]
        for f in (shared_datasets / "bbh" / "bbh").glob("*.json")
    }
    by_task: dict[str, list[Sample]] = {}
    for s in bbh.samples:
        by_task.setdefault(s.subset, []).append(s)
    for task, samples in by_task.items():
        for s, row in zip(samples, raw[task], strict=True):
            assert score_bbh(s, f"Reasoning.\nSo the answer is {row['target']}.").value == 1.0, (task, row)

    a24 = load_benchmark(get_benchmark("aime24"), cfg).samples
    assert len(a24) == 30
    # rows ordered by the problem number as a string: the second row is AIME I problem 10
    assert [(s.metadata["contest"], s.metadata["problem"]) for s in a24[:3]] == [
        ("AIME I", 1),
        ("AIME I", 10),
        ("AIME I", 11),
    ]
    assert [s.target for s in a24[:3]] == ["204", "113", "371"]
    assert sorted((s.metadata["contest"], s.metadata["problem"]) for s in a24) == sorted(
        (c, n) for c in ("AIME I", "AIME II") for n in range(1, 16)
    )
    assert next(s for s in a24 if s.metadata["answer"] == "025").target == "25"
    a25 = load_benchmark(get_benchmark("aime25"), cfg).samples
    assert len(a25) == 30
    assert [s.target for s in a25[:3]] == ["70", "588", "16"]  # SOURCES.md: 2025 I problems 1-3
    assert (a25[15].metadata["contest"], a25[15].metadata["problem"]) == ("AIME II", 1)


def test_real_copies_through_the_cli(shared_datasets, mock_server, tmp_path, capsys):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="So the answer is (A). \\boxed{204}")])
    argv = [
        "eval",
        "--model",
        "mock-model",
        "--api-url",
        srv.url + "/v1",
        "--datasets",
        "bbh",
        "aime24",
        "aime25",
        "--dataset-dir",
        str(shared_datasets),
        "--limit",
        "3",
        "--eval-batch-size",
        "16",
        "--work-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    capsys.readouterr()
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    reports = run / "reports" / "mock-model"
    counts = {n: json.loads((reports / f"{n}.json").read_text(encoding="utf-8"))["counts"] for n in SCENARIOS}
    assert sum(counts["bbh"].values()) == 27 * 3
    assert sum(counts["aime24"].values()) == 3 and sum(counts["aime25"].values()) == 3
    assert counts["aime24"]["correct"] == 1  # AIME 2024 I problem 1 is 204
    assert all(c["error"] == 0 for c in counts.values())
    assert sum(srv.stats()["prompts"].values()) == 27 * 3 + 6
