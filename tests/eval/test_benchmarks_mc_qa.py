"""hellaswag, winogrande, truthful_qa (MC1/MC2), mgsm and trivia_qa end to end against the mock server,
with scripted answers built from fixture rows in each benchmark's real file format: gold answers in
several styles score 1.0; a known mix of right, wrong, unparsable, truncated and failed answers gives
exactly the expected score and state counts; plus the real local copies through the CLI."""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path

import pytest

from evalscope.cli import main
from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import Sample, get_benchmark
from evalscope.eval.benchmarks.truthful_qa import PRIMER
from evalscope.eval.benchmarks.winogrande import record_to_sample as winogrande_row
from evalscope.eval.loading import load_benchmark
from evalscope.eval.scoring import score_multi_choice
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
FOLDERS = {
    "hellaswag": "hellaswag",
    "winogrande": "winogrande",
    "truthful_qa": "truthful_qa",
    "mgsm": "mgsm",
    "trivia_qa": "triviaqa",
}
SUBSETS = {"mgsm": ["en", "zh"]}  # the fixture holds two of the eleven languages
LENGTH = {"finish_reason": "length"}
FAIL = {"status": 500, "retry_after": 0}


def _config(name: str, url: str, tmp_path: Path, **args) -> TaskConfig:
    dargs = {"local_path": str(FIXTURES / FOLDERS[name]), **args}
    if name in SUBSETS:
        dargs.setdefault("subset_list", SUBSETS[name])
    return TaskConfig(
        model="mock-model",
        api_url=url,
        datasets=[name],
        dataset_args={name: dargs},
        eval_batch_size=4,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path),
    )


def _samples(name: str, **args) -> list[Sample]:
    cfg = _config(name, "http://127.0.0.1:1/v1", Path("."), **args)
    return load_benchmark(get_benchmark(name), cfg).samples


def _prompt(s: Sample) -> str:
    assert s.messages
    return s.messages[-1]["content"]  # the whole prompt: a unique match for its scripted answer


def _run(name, replies, mock_server, tmp_path, **args):
    """Run ``name`` on its fixture with ``replies``: one (reply, extra ScriptedAnswer fields) per sample."""
    samples = _samples(name, **args)
    assert len(samples) == len(replies)
    answers = [
        ScriptedAnswer(match=_prompt(s), reply=reply or "unused", **extra)
        for s, (reply, extra) in zip(samples, replies, strict=True)
    ]
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    result = run_task(_config(name, srv.url + "/v1", tmp_path, **args))
    out = Path(result["output_dir"]) / "predictions" / "mock-model" / f"{name}.jsonl"
    preds = {p["id"]: p for p in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert not any(p["output"] == "UNMATCHED" for p in preds.values())
    return samples, result["result"][name], [preds[s.id] for s in samples]


def _wrong_letter(s: Sample) -> str:
    return next(c for c in "ABCDEFGH"[: len(s.choices or [])] if c not in s.target)


LETTER_STYLES = [
    "ANSWER: {g}",
    "The ending fits best.\nThe answer is ({g}).",
    "<think>Maybe {w}? No, it is {g}.</think>\nANSWER: {g}",
    "**ANSWER:** {g}",
    "ANSWER: ({g})",
]
MULTI_STYLES = [
    "ANSWER: {comma}",
    "ANSWER: {run}",
    "<think>{w} is false.</think>The answer is {and}.",
    "ANSWER: ({slash})",
]
NUMBER_STYLES = [
    "\\boxed{{{g}}}",
    "<think>\\boxed{{999}}</think>So the total is {g}. \\boxed{{{g}}}",
    "The answer is {g}.",
    "Let me compute.\nANSWER: {g}",
    "答案是 {g}",
    "计算得 {g}",
]


def _gold_reply(name: str, s: Sample, i: int) -> str:
    g = s.target
    if name == "mgsm":
        return NUMBER_STYLES[i % len(NUMBER_STYLES)].format(g=g)
    if name == "trivia_qa":
        aliases = s.metadata["aliases"]
        alias = aliases[i % len(aliases)]
        return [f"ANSWER: {alias}", f"Thinking about it.\nANSWER: **{alias}**", f"{alias}."][i % 3]
    if s.metadata.get("type") == "mc2":
        style = MULTI_STYLES[i % len(MULTI_STYLES)]
        return style.format(
            comma=", ".join(g), run=g, slash="/".join(g), w=_wrong_letter(s), **{"and": " and ".join(g)}
        )
    return LETTER_STYLES[i % len(LETTER_STYLES)].format(g=g, w=_wrong_letter(s))


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_gold_answers_in_several_styles_score_one(name, mock_server, tmp_path):
    samples = _samples(name)
    replies = [(_gold_reply(name, s, i), {}) for i, s in enumerate(samples)]
    _, rep, preds = _run(name, replies, mock_server, tmp_path)
    assert rep["score"] == 1.0, [(p["output"], p["extracted"]) for p in preds if p["state"] != "correct"]
    assert rep["counts"]["correct"] == len(samples)


def _mix(name: str, samples: list[Sample]) -> list[tuple[str, dict, str]]:
    """(reply, extra, expected state) per fixture sample, in fixture order."""
    s = samples
    if name == "hellaswag":  # golds B A C D B A
        return [
            ("ANSWER: B", {}, "correct"),
            ("Walking dogs leave by the door.\nThe answer is (A).", {}, "correct"),
            ("ANSWER: A", {}, "wrong"),
            ("All of these could happen.", {}, "unparsed"),
            ("ANSWER: B", LENGTH, "truncated"),
            ("", FAIL, "error"),
        ]
    if name == "winogrande":  # golds A B B A B A
        return [
            ("ANSWER: A", {}, "correct"),
            ("ANSWER: A", {}, "wrong"),
            ("Beth had no money.\nANSWER: B", {}, "correct"),
            ("<think>rocks are not warm</think>ANSWER: A", {}, "correct"),
            ("Both could be right.", {}, "unparsed"),
            ("", FAIL, "error"),
        ]
    if name == "truthful_qa":  # mc1 x3, then mc2 x3 (golds of two, three and two letters)
        assert [x.metadata["type"] for x in s] == ["mc1"] * 3 + ["mc2"] * 3
        assert [len(x.target) for x in s[3:]] == [2, 3, 2]
        return [
            (f"ANSWER: {s[0].target}", {}, "correct"),
            (f"ANSWER: {_wrong_letter(s[1])}", {}, "wrong"),
            (f"ANSWER: {s[2].target}", LENGTH, "truncated"),
            (f"ANSWER: {', '.join(s[3].target)}", {}, "correct"),
            (f"ANSWER: {s[4].target[0]}", {}, "wrong"),  # one of three true options: 1/3
            (
                f"ANSWER: {', '.join(sorted(s[5].target + _wrong_letter(s[5])))}",
                {},
                "wrong",
            ),  # a false one: 0
        ]
    if name == "mgsm":  # en 12 15 20, zh 12 120 20
        return [
            ("3 * 4 = 12 pencils. \\boxed{12}", {}, "correct"),
            ("She pays for 3 shirts: \\boxed{30}", {}, "wrong"),
            ("", FAIL, "error"),
            ("5 + 7 = 12，答案是 12", {}, "correct"),
            ("我不知道。", {}, "unparsed"),
            ("40 / 2 = 20，答案：20", LENGTH, "truncated"),
        ]
    assert name == "trivia_qa"
    return [
        ("It is the fourth planet.\nANSWER: Planet Mars", {}, "correct"),
        ("Shakespeare", {}, "correct"),
        ("ANSWER: Ag", {}, "wrong"),
        ("Rome is very old.\nIt has a famous arena.", {}, "unparsed"),
        ("ANSWER: the Pacific!", {}, "correct"),
        ("", FAIL, "error"),
    ]


# name -> (overall score, per-subset scores); errors are not scored, truncated and unparsed score 0
EXPECTED = {
    "hellaswag": (2 / 5, {"default": 2 / 5}),
    "winogrande": (3 / 5, {"default": 3 / 5}),
    "truthful_qa": ((1 + 1 + 1 / 3) / 6, {"mc1": 1 / 3, "mc2": (1 + 1 / 3) / 3}),
    "mgsm": (2 / 5, {"en": 1 / 2, "zh": 1 / 3}),
    "trivia_qa": (3 / 5, {"default": 3 / 5}),
}


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_known_mix_gives_exact_score_and_states(name, mock_server, tmp_path):
    samples = _samples(name)
    mix = _mix(name, samples)
    _, rep, preds = _run(name, [(r, e) for r, e, _ in mix], mock_server, tmp_path)
    assert [p["state"] for p in preds] == [state for *_, state in mix]
    expected_counts = Counter({k: 0 for k in ("correct", "wrong", "unparsed", "truncated", "error")})
    expected_counts.update(state for *_, state in mix)
    assert rep["counts"] == dict(expected_counts)
    score, subsets = EXPECTED[name]
    assert rep["score"] == pytest.approx(score, abs=1e-4)
    assert {x["name"]: x["score"] for x in rep["subsets"]} == pytest.approx(subsets, abs=1e-4)


def test_mc2_scores_the_share_of_true_options_and_nothing_for_a_false_one():
    s = Sample(input="q", choices=["a", "b", "c", "d", "e"], target="ACE", metadata={"type": "mc2"})
    cases = {
        "ANSWER: A, C, E": (1.0, "ACE"),
        "ANSWER: EAC": (1.0, "ACE"),
        "The answer is A and E.": (2 / 3, "AE"),
        "ANSWER: C": (1 / 3, "C"),
        "ANSWER: A, B": (0.0, "AB"),
        "ANSWER: A, C because B is false": (2 / 3, "AC"),
        "<think>ANSWER: B, D</think>\n答案：A、C、E": (1.0, "ACE"),
    }
    for text, (value, extracted) in cases.items():
        got = score_multi_choice(s, text)
        assert (got.value, got.extracted) == (pytest.approx(value), extracted), text
    assert score_multi_choice(s, "They all sound plausible.").extracted is None


def test_truthful_qa_options_are_shuffled_per_sample_and_recorded():
    rows = json.loads((FIXTURES / "truthful_qa" / "data" / "v1" / "mc_task.json").read_text())
    samples = _samples("truthful_qa")
    again = _samples("truthful_qa")
    assert [s.choices for s in samples] == [s.choices for s in again]  # fixed, not run-to-run random
    orders = []
    for s in samples:
        row = rows[[r["question"] for r in rows].index(s.metadata["question"])]
        source = list(row[f"{s.metadata['type']}_targets"])
        perm = s.metadata["permutation"]
        assert sorted(perm) == list(range(len(source)))
        assert s.choices == [source[i] for i in perm]
        true = {t for t, v in row[f"{s.metadata['type']}_targets"].items() if v}
        assert {s.choices["ABCDEFGH".index(c)] for c in s.target} == true
        assert s.input == PRIMER.format(question=row["question"])
        assert s.metadata["release"] == "v1"
        orders.append(perm)
    assert any(p[0] != 0 for p in orders)  # the true answer is not always shown first
    mc1 = _prompt(samples[0])
    assert "'ANSWER: [LETTER]'" in mc1 and "Q: How does a telescope work?" in mc1
    assert "multiple answers may be correct" in _prompt(samples[3]) and "'ANSWER: [LETTERS]'" in _prompt(
        samples[3]
    )


def test_truthful_qa_jan_2025_release_from_its_folder():
    samples = _samples("truthful_qa", local_path=str(FIXTURES / "truthful_qa" / "data"))
    assert [(s.subset, s.metadata["release"]) for s in samples] == [("mc1", "2025-01"), ("mc2", "2025-01")]
    assert len(samples[0].choices or []) == 3


def test_winogrande_sentence_and_options_rebuilt_from_llmfoundry_rows():
    rows = [
        json.loads(line)
        for line in (FIXTURES / "winogrande" / "winogrande_dev_llmfoundry.jsonl").read_text().splitlines()
    ]
    got = [winogrande_row(r, "default") for r in rows]
    assert got[0].input == "The trophy would not fit in the suitcase because the _ was too big."
    assert (got[0].choices, got[0].target) == (["trophy", "suitcase"], "A")
    assert got[3].input.endswith("since the _'s surface was warm.") and got[3].choices == ["ice", "rock"]
    assert got[5].input.endswith("so (the _) was used in winter.") and got[5].choices == ["blanket", "sheet"]
    original = {
        "sentence": "Anna lent money to Beth because _ was broke.",
        "option1": "Anna",
        "option2": "Beth",
    }
    assert winogrande_row({**original, "answer": "2"}, "default").target == "B"
    with pytest.raises(ValueError, match="context_options"):
        winogrande_row({"context_options": ["same", "same"], "continuation": "x", "gold": 0}, "default")


def test_mgsm_reads_unquoted_tsv_and_few_shot_examples_from_train():
    en = _samples("mgsm", subset_list=["en"])
    assert en[1].input.startswith('"Buy one, get one" says the sign.') and en[1].target == "15"
    assert "Reasoning:" not in _prompt(en[0])  # 0-shot by default: the local copy has no exemplars
    shot = _samples("mgsm", subset_list=["en"], few_shot_num=2)
    prompt = _prompt(shot[0])
    assert prompt.startswith("Here are some examples of how to solve similar problems:")
    assert "Roger has 5 tennis balls" in prompt and "ANSWER: 11" in prompt
    assert "There were 9 computers" in prompt and "ANSWER: 29" in prompt
    assert prompt.endswith(
        "Tom has 3 boxes with 4 pencils each. How many pencils does he have?\n"
        "Please reason step by step, and put your final answer within \\boxed{}."
    )


# benchmark -> rows per subset in the real local copies (../shared/datasets/SOURCES.md)
REAL_COUNTS = {
    "hellaswag": {"default": 10042},
    "winogrande": {"default": 1267},
    "truthful_qa": {"mc1": 817, "mc2": 817},
    "mgsm": {lang: 250 for lang in ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")},
    "trivia_qa": {"default": 3000},
}


@pytest.mark.parametrize("name", sorted(REAL_COUNTS))
def test_real_copies_load_with_documented_counts(name, shared_datasets):
    cfg = TaskConfig(
        model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_dir=str(shared_datasets)
    )
    samples = load_benchmark(get_benchmark(name), cfg).samples
    assert dict(Counter(s.subset for s in samples)) == REAL_COUNTS[name]
    for s in samples:
        assert s.target
        if s.choices:
            assert set(s.target) <= set(string.ascii_uppercase[: len(s.choices)])


def test_real_copies_through_the_cli(shared_datasets, mock_server, tmp_path, capsys):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="ANSWER: A \\boxed{18}")])
    argv = ["eval", "--model", "mock-model", "--api-url", srv.url + "/v1", "--datasets", *REAL_COUNTS]
    argv += ["--dataset-dir", str(shared_datasets), "--limit", "3", "--eval-batch-size", "8"]
    assert main([*argv, "--work-dir", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    for name, subsets in REAL_COUNTS.items():
        counts = result[name]["counts"]
        assert sum(counts.values()) == 3 * len(subsets), name
        assert counts["error"] == 0 and counts["truncated"] == 0, name
    # MGSM's first question in every language is the duck-egg one (answer 18); trivia "A" is wrong
    assert result["mgsm"]["counts"]["correct"] >= len(REAL_COUNTS["mgsm"])
    assert result["trivia_qa"]["counts"]["wrong"] == 3


@pytest.mark.parametrize(("multiple", "subset"), [(True, "mc2"), (False, "mc1")])
def test_evalscope_extra_params_pick_the_truthful_qa_subset(multiple, subset):
    # EvalScope 1.14 clients choose MC2 with dataset_args.truthful_qa.extra_params.multiple_correct.
    from evalscope.eval import TaskConfig

    args = {"truthful_qa": {"extra_params": {"multiple_correct": multiple}}}
    cfg = TaskConfig(model="m", api_url="http://127.0.0.1:9/v1", datasets=["truthful_qa"], dataset_args=args)
    assert cfg.dataset_args["truthful_qa"].subset_list == [subset]
    with pytest.raises(ValueError, match="extra_params: other not supported yet"):
        TaskConfig(
            model="m",
            api_url="http://127.0.0.1:9/v1",
            datasets=["truthful_qa"],
            dataset_args={"truthful_qa": {"extra_params": {"other": 1}}},
        )
