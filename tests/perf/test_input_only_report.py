"""An embeddings run's console summary and report.html show inputs/s, input tokens/s and inputs per
request, and leave out the TTFT/TPOT/output columns such a run cannot have."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from rich.console import Console

from evalscope.perf.api import run_perf
from evalscope.perf.console import print_result
from evalscope.report.page import fmt_num

TEXTS = ["alpha beta", "gamma, delta epsilon", "zeta"]


def test_embedding_run_console_and_report(mock_server, tmp_path: Path):
    data = tmp_path / "texts.txt"
    data.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    srv = mock_server(ttft=0.005)
    out = run_perf(
        {
            "model": "e5",
            "url": srv.url,
            "api": "embedding",
            "dataset": "embedding",
            "dataset_path": str(data),
            "number": [6, 9],
            "parallel": [1, 3],
            "outputs_dir": str(tmp_path / "o"),
            "sleep_interval": 0,
        },
        show_progress=False,
        show_summary=False,
    )
    point = out["results"]["parallel_3_number_9"]
    m = point["metrics"]
    assert m["Input throughput (inputs/s)"] is not None and m["Average inputs per request"] == 1

    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_result(console, "parallel_3_number_9", m, point["percentiles"])
    console.file.close()
    text = console.export_text()
    row = next(line for line in text.splitlines() if "Input throughput (inputs/s)" in line)
    assert f"{m['Input throughput (inputs/s)']:.4f}" in row
    assert "Input token throughput (tok/s)" in text and "Average inputs per request" in text
    assert "time to first token" not in text and "TTFT" not in text and "TPOT" not in text
    assert "Output token throughput" not in text and "Latency (s)" in text

    html = (Path(out["output_dir"]) / "report.html").read_text(encoding="utf-8")
    header = re.search(r'<table id="summary-table">.*?</thead>', html, re.S).group(0)
    assert "Inputs/s" in header and "Input tok/s" in header and "Avg inputs/req" in header
    assert "TTFT" not in header and "TPOT" not in header and "Output tok/s" not in header
    cell = re.search(
        r'<tr data-key="parallel_3_number_9">.*?data-metric="Input throughput \(inputs/s\)">([^<]*)<',
        html,
        re.S,
    )
    assert cell is not None and cell.group(1) == fmt_num(m["Input throughput (inputs/s)"])
    # the report's percentile tables drop the all-null columns; its data island keeps the files' keys
    details = html[html.index("Percentiles per sweep point") :]
    assert "TTFT (s)" not in details.split("</details>")[0]
    island = json.loads(re.search(r'<script[^>]*id="report-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert island["points"][0]["summary"]["Average time to first token (s)"] is None
