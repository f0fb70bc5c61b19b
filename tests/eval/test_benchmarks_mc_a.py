"""mmlu_pro, mmlu_redux, cmmlu and gpqa_diamond end to end against the mock server.

Fixture rows are made up in each benchmark's real file layout (GPQA's authors ask that its questions
not be shown, so its fixture only borrows the CSV header). For each benchmark: gold answers written
in several styles all score 1.0; a known mix of right, wrong, unparsable, truncated and failed answers
gives exactly the expected score and state counts; the prompts hold the expected few-shot examples.
Then the real local copies through the CLI, and every benchmark over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from evalscope.eval import TaskConfig, run_task
from evalscope.eval.benchmarks import get_benchmark
from evalscope.eval.benchmarks.gpqa import permutation_for
from evalscope.eval.loading import load_benchmark
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"

OK: dict = {}
LENGTH = {"finish_reason": "length"}
FAIL = {"status": 500, "retry_after": 0}

# benchmark -> (fixture folder, subset_list or None)
DATA = {
    "mmlu_pro": ("mmlu_pro", ["math", "computer science"]),
    "mmlu_redux": ("mmlu_redux", ["anatomy", "moral_scenarios", "econometrics"]),
    "cmmlu": ("cmmlu", ["agronomy", "chinese_history"]),
    "gpqa_diamond": ("gpqa", None),
}

# benchmark -> ([(substring of the question, reply, extra ScriptedAnswer fields, state)], score, subsets)
SCENARIOS = {
    "mmlu_pro": (
        [
            ("Compute 6 * 7.", "Six sevens.", OK, "unparsed"),
            ("derivative of x^2", "2x at 5 is 10.\nThe answer is (A).", OK, "wrong"),
            # options "2, 3, N/A, 4, 5, N/A": N/A dropped, gold "4" is C (D in the raw row)
            ("prime numbers are below 10", "2, 3, 5 and 7: four.\nThe answer is (C).", OK, "correct"),
            ("square root of 81", "The answer is (J).", LENGTH, "truncated"),
            ("resolves domain names", "DNS does.\nANSWER: C", OK, "correct"),
            (
                "O(1) average lookup",
                "<think>The answer is (A)?</think>Hash tables. The answer is (B).",
                OK,
                "correct",
            ),
            ("complexity of binary search", "", FAIL, "error"),
        ],
        0.5,
        {"math": 0.25, "computer science": 1.0},
    ),
    "mmlu_redux": (
        [
            ("longest in the human body", "ANSWER: A", OK, "correct"),
            ("chambers does the human heart", "Four.\nANSWER: C", OK, "correct"),  # corrected gold: C, not A
            ("bone of the arm", "ANSWER: C", OK, "correct"),  # two golds (A, C): either counts
            ("largest organ of the human body", "Skin.\nANSWER: B", OK, "correct"),  # option B now reads Skin
            ("Where is the tibia located", "ANSWER: A", OK, "wrong"),
            ("returned my neighbor", "Hard to say.", OK, "unparsed"),
            ("I fed the stray cat", "ANSWER: A", OK, "wrong"),  # MMLU's original gold, corrected to D
            ("I lied to my boss", "", FAIL, "error"),
            ("checks a time series for a unit root", "ANSWER: A", LENGTH, "truncated"),
            ("What does OLS minimise", "Squared residuals.\nANSWER: B", OK, "correct"),
        ],
        0.5556,
        {"anatomy": 0.8, "moral_scenarios": 0.0, "econometrics": 0.5},
    ),
    "cmmlu": (
        [
            ("玉米原产于哪个大洲", "玉米原产于美洲。\n答案：B", OK, "correct"),
            ("植物进行光合作用的主要器官是", "答案：A", OK, "wrong"),
            ("轮作的主要目的之一是", "我不知道。", OK, "unparsed"),
            ("汉朝的开国皇帝是", "答案：A", OK, "correct"),
            ("丝绸之路开辟于哪个朝代", "", FAIL, "error"),
            ("《本草纲目》的作者是", "答案：C", LENGTH, "truncated"),
        ],
        0.4,
        {"agronomy": 0.3333, "chinese_history": 0.5},
    ),
    # gold letters C, D, A, D, B come from the per-record shuffle (checked in test_gpqa_*)
    "gpqa_diamond": (
        [
            ("falls freely for 2 s", "d = g t^2 / 2 = 20 m.\nAnswer: C", OK, "correct"),
            ("most of the Earth's atmosphere", "Answer: D", OK, "correct"),
            ("most of a eukaryotic cell's DNA", "Answer: B", OK, "wrong"),
            ("neutral aqueous solution", "It depends on the temperature.", OK, "unparsed"),
            ("SI unit of electric charge", "", FAIL, "error"),
        ],
        0.5,
        {"default": 0.5},
    ),
}

# Gold answers as models write them: every one of these must score 1.0.
STYLES = (
    "Let me work through it.\nThe answer is ({g}).",
    "ANSWER: {g}",
    "<think>Could it be ANSWER: {other}? No.</think>\nThe answer is {g}",
    "答案：{g}",
    "So the final answer is \\boxed{{{g}}}.",
    "Answer: {g}",
)


def _config(name: str, url: str, tmp_path: Path, **args) -> TaskConfig:
    folder, subsets = DATA[name]
    dataset_args = {"local_path": str(FIXTURES / folder), **args}
    if subsets:
        dataset_args.setdefault("subset_list", subsets)
    return TaskConfig(
        model="mock-model",
        api_url=url,
        datasets=[name],
        dataset_args={name: dataset_args},
        eval_batch_size=4,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path),
    )


def _samples(name: str, **args):
    return load_benchmark(
        get_benchmark(name), _config(name, "http://127.0.0.1:1/v1", Path("."), **args)
    ).samples


def _predictions(result: dict, name: str) -> list[dict]:
    path = Path(result["output_dir"]) / "predictions" / "mock-model" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_known_mix_gives_exact_score_and_states(name, mock_server, tmp_path):
    rows, score, subset_scores = SCENARIOS[name]
    answers = [ScriptedAnswer(match=m, reply=reply or "unused", **extra) for m, reply, extra, _ in rows]
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    result = run_task(_config(name, srv.url + "/v1", tmp_path))
    rep = result["result"][name]

    expected = {s: 0 for s in ("correct", "wrong", "unparsed", "truncated", "error")}
    for *_, state in rows:
        expected[state] += 1
    assert rep["counts"] == expected
    assert rep["score"] == pytest.approx(score, abs=1e-4)
    assert {s["name"]: s["score"] for s in rep["subsets"]} == pytest.approx(subset_scores, abs=1e-4)
    preds = _predictions(result, name)
    assert len(preds) == len(rows) and all(p["output"] != "UNMATCHED" for p in preds)
    for match, _, _, state in rows:
        (pred,) = [p for p in preds if match in p["messages"][-1]["content"].rsplit("Question:", 1)[-1]]
        assert pred["state"] == state, match
    prompts = srv.stats()["prompts"]
    for match, _, _, state in rows:  # failed requests retried once (max_retries=1), the rest asked once
        assert sum(n for text, n in prompts.items() if match in text) == (2 if state == "error" else 1), match


@pytest.mark.parametrize("name", sorted(DATA))
def test_gold_answers_in_many_styles_all_score_one(name, mock_server, tmp_path):
    samples = _samples(name)
    answers = []
    for i, s in enumerate(samples):
        gold = s.target.split(",")[i % len(s.target.split(","))]  # a multi-answer row: either gold
        other = next(x for x in "ABCD" if x not in s.target)
        reply = STYLES[i % len(STYLES)].format(g=gold, other=other)
        answers.append(ScriptedAnswer(match=s.input, reply=reply))
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    rep = run_task(_config(name, srv.url + "/v1", tmp_path))["result"][name]
    assert rep["counts"]["correct"] == len(samples) > 0
    assert rep["score"] == 1.0


def test_mmlu_pro_prompt_is_the_authors_with_same_category_cot_examples():
    (zero,) = [s for s in _samples("mmlu_pro", few_shot_num=0) if "prime numbers" in s.input]
    assert zero.messages == [
        {
            "role": "user",
            "content": "The following are multiple choice questions (with answers) about math. Think step by "
            'step and then output the answer in the format of "The answer is (X)" at the end.\n\n'
            "Question: How many prime numbers are below 10?\nOptions: A. 2\nB. 3\nC. 4\nD. 5\n"
            "Answer: Let's think step by step.\n\n",
        }
    ]
    assert zero.target == "C" and zero.metadata["question_id"] == 3

    samples = _samples("mmlu_pro")  # the default: 5 shots
    validation = [
        json.loads(x) for x in (FIXTURES / "mmlu_pro" / "validation.jsonl").read_text().splitlines()
    ]
    for s in samples:
        text = s.messages[0]["content"]
        own = [r for r in validation if r["category"] == s.subset]
        others = [r for r in validation if r["category"] != s.subset]
        assert text.startswith(
            f"The following are multiple choice questions (with answers) about {s.subset}."
        )
        assert text.count("Question: ") == 6 and text.endswith("Answer: Let's think step by step.\n\n")
        positions = [text.index(f"Question: {r['question']}\nOptions: A. {r['options'][0]}\n") for r in own]
        assert positions == sorted(positions)  # in validation order, before the question asked
        for r in own:  # the worked CoT, its "A: " prefix removed, as the authors' script does
            assert f"\nAnswer: {r['cot_content'][3:]}\n\n" in text
        assert not any(r["question"] in text for r in others)


def test_cmmlu_prompt_has_five_solved_dev_examples_of_its_subject():
    samples = _samples("cmmlu")
    (corn,) = [s for s in samples if "玉米" in s.input]
    text = corn.messages[0]["content"]
    assert text.startswith(
        "以下是一些示例问题：\n\n问题：水稻属于哪一类作物\n选项：\nA) 粮食作物\nB) 油料作物\n"
    )
    assert text.count("\n答案：") == 5 and text.count("\n问题：") == 6
    for q, a in [
        ("水稻属于哪一类作物", "A"),
        ("下列哪种肥料属于氮肥", "B"),
        ("温室栽培主要调节的环境因素是", "A"),
    ]:
        block = text.split(f"问题：{q}\n", 1)[1].split("\n\n", 1)[0]
        assert block.endswith(f"答案：{a}")
    assert "秦朝" not in text  # the other subject's examples stay out
    assert text.endswith(
        "其中 [LETTER] 是 A,B,C,D 中的一个。请在回答前进行一步步思考。\n\n问题：玉米原产于哪个大洲\n"
        "选项：\nA) 亚洲\nB) 美洲\nC) 欧洲\nD) 非洲\n"
    )
    (zero,) = [s for s in _samples("cmmlu", few_shot_num=0) if "玉米" in s.input]
    assert zero.messages[0]["content"].startswith("回答下面的单项选择题")


def test_mmlu_redux_applies_the_annotations_and_reads_every_file_layout():
    samples = _samples("mmlu_redux")
    # ;-separated, reordered columns, a Mac Roman byte, extra empty columns: all 10 rows read
    assert [s.subset for s in samples] == ["anatomy"] * 5 + ["moral_scenarios"] * 3 + ["econometrics"] * 2

    def find(text: str):
        (hit,) = [s for s in samples if text in s.input]
        return hit.target, hit.metadata["error_type"]

    assert find("longest in the human body") == ("A", "ok")
    assert find("chambers does the human heart") == ("C", "wrong_groundtruth")  # fixed by index "2"
    assert find("bone of the arm") == ("A,C", "multiple_correct_answers")  # "0 or 2"
    assert find("largest organ") == ("B", "no_correct_answer")
    assert find("Where is the tibia") == ("B", "bad_question_clarity")  # kept: no fix given
    assert find("What does OLS minimise") == ("B", "ok")
    organ = next(s for s in samples if "largest organ" in s.input)
    assert organ.choices == [
        "Liver",
        "Skin",
        "Lung",
        "Heart",
    ]  # the annotators' text replaces the gold option
    assert "\nB) Skin\n" in organ.messages[0]["content"]
    moral = [s for s in samples if s.subset == "moral_scenarios"]
    assert "neighbor\u2019s lost wallet" in moral[0].input  # the Mac Roman byte 0xD5 read as ’
    assert [s.target for s in moral] == ["C", "D", "B"]  # row 2: fixed by letter "D"
    assert moral[1].metadata["error_type"] == "wrong_groundtruth"  # "wrong_groundtruth " normalised
    assert moral[1].metadata["original_answer"] == "A"


def test_gpqa_options_shuffled_per_record_id_and_recorded():
    samples = _samples("gpqa_diamond")
    assert [s.target for s in samples] == ["C", "D", "A", "D", "B"]
    first = samples[0]
    # a fixed permutation: the same on every run and machine (it depends on the record id only)
    assert first.metadata["record_id"] == "recFIXTURE000001"
    assert first.metadata["permutation"] == permutation_for("recFIXTURE000001") == [3, 1, 0, 2]
    assert first.choices == ["5 m", "10 m", "20 m", "40 m"]
    for s in samples:  # choices[i] is option permutation[i] of [correct, incorrect 1..3]; gold is the 0
        assert sorted(s.metadata["permutation"]) == [0, 1, 2, 3]
        assert s.target == "ABCD"[s.metadata["permutation"].index(0)]
    assert samples[4].choices[1] == "coulomb"  # whitespace (and a trailing U+2028) stripped
    assert first.messages == [
        {
            "role": "user",
            "content": "Answer the following multiple choice question. The last line of your response should "
            "be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. "
            "Think step by step before answering.\n\nA ball is dropped from rest and falls freely for 2 s.\n"
            "Taking g = 10 m/s^2, how far does it fall?\n\nA) 5 m\nB) 10 m\nC) 20 m\nD) 40 m",
        }
    ]


def test_gpqa_shuffle_does_not_depend_on_row_order(tmp_path):
    lines = (FIXTURES / "gpqa" / "gpqa_diamond.csv").read_text(encoding="utf-8")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(lines, newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([rows[0], *reversed(rows[1:])])
    (tmp_path / "gpqa_diamond.csv").write_text(out.getvalue(), encoding="utf-8")
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=["gpqa_diamond"],
        dataset_args={"gpqa_diamond": {"local_path": str(tmp_path)}},
    )
    reversed_samples = load_benchmark(get_benchmark("gpqa_diamond"), cfg).samples
    original = {s.metadata["record_id"]: (s.choices, s.target) for s in _samples("gpqa_diamond")}
    assert {s.metadata["record_id"]: (s.choices, s.target) for s in reversed_samples} == original


# (benchmark, samples with --limit 3: 3 per subset)
REAL = {"mmlu_pro": 14 * 3, "mmlu_redux": 57 * 3, "cmmlu": 67 * 3, "gpqa_diamond": 3}


def test_real_local_copies_through_the_cli(shared_datasets, mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="<think>hmm</think>The answer is (A).")])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "evalscope",
            "eval",
            "--model",
            "mock-model",
            "--api-url",
            srv.url + "/v1",
            "--datasets",
            *REAL,
            "--dataset-dir",
            str(shared_datasets),
            "--limit",
            "3",
            "--eval-batch-size",
            "16",
            "--work-dir",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for name, n in REAL.items():
        rep = result["result"][name]
        assert sum(rep["counts"].values()) == n, name
        assert rep["counts"]["error"] == rep["counts"]["unparsed"] == 0, name
        assert len(rep["subsets"]) == len(get_benchmark(name).subsets), name
        assert rep["counts"]["correct"] == round(rep["score"] * n), name
    assert sum(srv.stats()["prompts"].values()) == sum(REAL.values())


# rows of the full local copies (shared/datasets/SOURCES.md): total, subsets
FULL = {"mmlu_pro": (12032, 14), "mmlu_redux": (5700, 57), "cmmlu": (11582, 67), "gpqa_diamond": (198, 1)}


@pytest.mark.parametrize("name", sorted(FULL))
def test_real_local_copies_load_in_full(name, shared_datasets):
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=[name],
        dataset_args={name: {"few_shot_num": 0}},
        dataset_dir=str(shared_datasets),
    )
    samples = load_benchmark(get_benchmark(name), cfg).samples
    total, n_subsets = FULL[name]
    assert len(samples) == total and len({s.subset for s in samples}) == n_subsets
    assert len({s.id for s in samples}) == total
    for s in samples:
        assert s.choices and all(t in "ABCDEFGHIJ"[: len(s.choices)] for t in s.target.split(","))


def test_real_mmlu_pro_validation_gives_five_cot_examples_per_category(shared_datasets):
    cfg = TaskConfig(
        model="m",
        api_url="http://127.0.0.1:1/v1",
        datasets=["mmlu_pro"],
        limit=1,
        dataset_dir=str(shared_datasets),
    )
    samples = load_benchmark(get_benchmark("mmlu_pro"), cfg).samples
    assert len(samples) == 14
    for s in samples:
        text = s.messages[0]["content"]
        # the instruction names "The answer is (X)"; each of the 5 worked examples ends with one
        assert text.count("Question: ") == 6 and text.count("The answer is (") == 1 + 5, s.subset
        assert f"questions (with answers) about {s.subset}." in text


def test_every_benchmark_over_http(mock_server, tmp_path):
    from evalscope.service.background import BackgroundService

    answers = []
    for name in DATA:
        for s in _samples(name):
            answers.append(ScriptedAnswer(match=s.input, reply=f"ANSWER: {s.target.split(',')[0]}"))
    srv = mock_server(answers=answers, default_reply="UNMATCHED")
    body = {
        "model": "mock-model",
        "api_url": srv.url + "/v1",
        "datasets": list(DATA),
        "dataset_args": {
            name: {"local_path": str(FIXTURES / folder), **({"subset_list": subsets} if subsets else {})}
            for name, (folder, subsets) in DATA.items()
        },
        "eval_batch_size": 4,
    }
    with BackgroundService(
        work_dir=tmp_path / "outputs", data_dirs=[FIXTURES], start_timeout=30, stop_timeout=15
    ) as svc:
        r = httpx.post(svc.url + "/api/v1/eval", json=body, timeout=120)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    expected = {"mmlu_pro": 7, "mmlu_redux": 10, "cmmlu": 6, "gpqa_diamond": 5}
    for name, n in expected.items():
        assert result[name]["counts"]["correct"] == n and result[name]["score"] == 1.0, name
