"""evalscope.datasets: the fetch order (local dir -> dataset dir -> cache -> hub), downloads over real
HTTP from a loopback stand-in for the hub, the offline error, and the row readers."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest

from evalscope.datasets import DatasetNotFoundError, fetch, read_rows
from evalscope.datasets.rows import RowReadError


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALSCOPE_DATASET_DIR", raising=False)
    monkeypatch.delenv("EVALSCOPE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path


def _gsm8k_parquet() -> dict[str, bytes]:
    """gsm8k's fixture rows as the Parquet files the hubs serve (``main/<split>-00000-of-00001.parquet``)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = {}
    for split in ("test", "train"):
        rows = read_rows(
            Path(__file__).resolve().parent.parent / "fixtures" / "eval" / "gsm8k" / f"{split}.jsonl"
        )
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buf)
        out[f"main/{split}-00000-of-00001.parquet"] = buf.getvalue()
    return out


@pytest.fixture
def hub(monkeypatch):
    """A loopback HTTP server answering both hubs' file URLs; records the paths asked."""
    seen: list[str] = []
    files = {
        **_gsm8k_parquet(),
        "data/open_qa.jsonl": b'{"question": "q1"}\n{"question": "q2"}\n',
        "test.jsonl": (
            Path(__file__).resolve().parent.parent / "fixtures" / "eval" / "math500" / "test.jsonl"
        ).read_bytes(),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            parsed = urllib.parse.urlparse(self.path)
            if parsed.path.startswith("/api/v1/datasets/"):
                name = urllib.parse.parse_qs(parsed.query)["FilePath"][0]
            else:
                name = urllib.parse.unquote(parsed.path.split("/resolve/main/", 1)[-1])
            body = files.get(name)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("EVALSCOPE_MODELSCOPE_ENDPOINT", url)
    monkeypatch.setenv("HF_ENDPOINT", url)
    yield seen
    server.shutdown()


def test_download_then_cache(isolated, hub):
    path = fetch("AI-ModelScope/HC3-Chinese", "data/open_qa.jsonl")
    assert path == isolated / "cache" / "modelscope" / "AI-ModelScope/HC3-Chinese" / "data/open_qa.jsonl"
    assert [r["question"] for r in read_rows(path)] == ["q1", "q2"]
    assert len(hub) == 1 and "FilePath=data/open_qa.jsonl" in hub[0]
    assert fetch("AI-ModelScope/HC3-Chinese", "data/open_qa.jsonl") == path
    assert len(hub) == 1  # second call served from the cache
    hf = fetch("Hello-SimpleAI/HC3-Chinese", "data/open_qa.jsonl", source="huggingface")
    assert hf.is_file() and "/datasets/Hello-SimpleAI/HC3-Chinese/resolve/main/data/open_qa.jsonl" in hub[-1]


def test_local_dir_then_dataset_dir_win_over_cache_and_hub(isolated, hub, monkeypatch):
    local = isolated / "mine"
    (local / "data").mkdir(parents=True)
    (local / "data" / "open_qa.jsonl").write_text('{"question": "local"}\n')
    assert fetch("x/y", "data/open_qa.jsonl", local_dir=local) == local / "data" / "open_qa.jsonl"
    ds = isolated / "dsdir"
    (ds / "x/y/data").mkdir(parents=True)
    (ds / "x/y/data/open_qa.jsonl").write_text('{"question": "dsdir"}\n')
    monkeypatch.setenv("EVALSCOPE_DATASET_DIR", str(ds))
    assert fetch("x/y", "data/open_qa.jsonl") == ds / "x/y/data/open_qa.jsonl"
    assert hub == []


def test_offline_and_failed_download_say_where_to_put_the_file(isolated, hub, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as info:
        fetch("AI-ModelScope/missing", "data/none.jsonl")
    msg = str(info.value)
    assert "data/none.jsonl" in msg and "download from modelscope failed" in msg and "put a copy at" in msg
    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    asked = len(hub)
    with pytest.raises(DatasetNotFoundError, match="offline"):
        fetch("AI-ModelScope/HC3-Chinese", "data/open_qa.jsonl", local_dir=isolated / "nowhere")
    assert len(hub) == asked  # nothing went to the network
    with pytest.raises(ValueError, match="source"):
        fetch("a/b", "c.jsonl", source="github")


def test_read_rows_formats(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"q": 1}\n\n{"q": 2}\n', encoding="utf-8")
    assert read_rows(tmp_path / "a.jsonl") == [{"q": 1}, {"q": 2}]
    (tmp_path / "b.json").write_text('{"data": [{"q": 3}]}', encoding="utf-8")
    assert read_rows(tmp_path / "b.json") == [{"q": 3}]
    (tmp_path / "c.csv").write_bytes('\ufeffid,question\r\n1,"a, b"\r\n'.encode())
    assert read_rows(tmp_path / "c.csv") == [{"id": "1", "question": "a, b"}]
    (tmp_path / "d.csv").write_text("x,y,B\n", encoding="utf-8")
    assert read_rows(tmp_path / "d.csv", fieldnames=["q", "a", "answer"]) == [
        {"q": "x", "a": "y", "answer": "B"}
    ]
    (tmp_path / "e.jsonl").write_text('{"q": 1}\n{broken\n', encoding="utf-8")
    with pytest.raises(RowReadError, match=r"e\.jsonl:2"):
        read_rows(tmp_path / "e.jsonl")
    with pytest.raises(RowReadError, match="unsupported"):
        read_rows(tmp_path / "f.xlsx")


def test_local_path_missing_subset_message(tmp_path):
    from evalscope.eval import TaskConfig
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark

    (tmp_path / "other_val.csv").write_text("question,A,B,answer\nq,x,y,A\n", encoding="utf-8")
    cfg = TaskConfig(
        model="m",
        api_url="http://x/v1",
        datasets=["general_mcq"],
        dataset_args={"general_mcq": {"local_path": str(tmp_path), "subset_list": ["mine"]}},
    )
    with pytest.raises(DatasetNotFoundError, match="mine_val"):
        load_benchmark(get_benchmark("general_mcq"), cfg)
    # without subset_list the subsets are the *_val files found
    cfg = TaskConfig(
        model="m",
        api_url="http://x/v1",
        datasets=["general_mcq"],
        dataset_args={"general_mcq": {"local_path": str(tmp_path)}},
    )
    lb = load_benchmark(get_benchmark("general_mcq"), cfg)
    assert lb.subsets == ["other"] and lb.samples[0].choices == ["x", "y"] and lb.samples[0].target == "A"


def test_bad_row_names_file_and_row(tmp_path):
    from evalscope.eval import TaskConfig
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import DatasetFormatError, load_benchmark

    (tmp_path / "test.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n{"question": "q2"}\n')
    cfg = TaskConfig(
        model="m",
        api_url="http://x/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(tmp_path), "few_shot_num": 0}},
    )
    with pytest.raises(DatasetFormatError, match=r"test\.jsonl: row 2: .*'answer'"):
        load_benchmark(get_benchmark("gsm8k"), cfg)


def test_few_shot_split_missing(tmp_path, monkeypatch):
    from evalscope.eval import TaskConfig
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark

    monkeypatch.setenv("EVALSCOPE_OFFLINE", "1")
    monkeypatch.setenv("EVALSCOPE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "test.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n')
    cfg = TaskConfig(
        model="m",
        api_url="http://x/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(tmp_path)}},
    )
    with pytest.raises(DatasetNotFoundError, match="few_shot_num"):
        load_benchmark(get_benchmark("gsm8k"), cfg)


def test_parquet_without_pyarrow_is_explained(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    p = tmp_path / "x.parquet"
    p.write_bytes(b"PAR1")
    with pytest.raises(RowReadError, match="pyarrow"):
        read_rows(p)


def test_benchmark_without_local_copy_downloads_from_the_hub(isolated, hub):
    from evalscope.eval import TaskConfig
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark

    cfg = TaskConfig(model="m", api_url="http://x/v1", datasets=["math_500"])
    lb = load_benchmark(get_benchmark("math_500"), cfg)
    assert len(lb.samples) == 6 and {s.subset for s in lb.samples} == {
        "Level 1",
        "Level 2",
        "Level 3",
        "Level 5",
    }
    assert any("datasets/AI-ModelScope/MATH-500/repo" in p and "FilePath=test.jsonl" in p for p in hub)
    assert lb.files["*/test"].startswith(str(isolated / "cache" / "modelscope" / "AI-ModelScope/MATH-500"))
    asked = len(hub)
    load_benchmark(get_benchmark("math_500"), cfg)
    assert len(hub) == asked  # the second load reads the cache


def test_parquet_benchmark_downloads_from_the_hub_and_loads(isolated, hub):
    """gsm8k has no local copy: its test and few-shot train splits come from the hub as Parquet."""
    from evalscope.eval import TaskConfig
    from evalscope.eval.benchmarks import get_benchmark
    from evalscope.eval.loading import load_benchmark

    expected = read_rows(
        Path(__file__).resolve().parent.parent / "fixtures" / "eval" / "gsm8k" / "test.jsonl"
    )
    cfg = TaskConfig(model="m", api_url="http://x/v1", datasets=["gsm8k"])
    lb = load_benchmark(get_benchmark("gsm8k"), cfg)
    assert len(lb.samples) == len(expected)
    assert lb.samples[0].input and lb.samples[0].target
    assert any("main/test-00000-of-00001.parquet" in p for p in hub)
    assert any("main/train-00000-of-00001.parquet" in p for p in hub)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".tsv"])
def test_a_file_not_in_utf8_is_a_clear_error(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(
        '{"question": "café"}\n'.encode("latin-1") if "json" in suffix else "q\ncafé\n".encode("latin-1")
    )
    with pytest.raises(RowReadError, match=r"not UTF-8 text \(byte 0xe9 at offset \d+\)") as info:
        read_rows(path)
    assert str(path) in str(info.value)
