"""Upper bounds of the numeric settings (eval ``TaskConfig``, perf ``PerfArguments``): one home.

Every number a caller sends has a finite, documented range (docs/eval.md, docs/perf.md), so no
value can make the service allocate without limit, run without end or overflow a float; NaN and
Infinity are refused by the models (``allow_inf_nan=False``).
"""

from __future__ import annotations

#: requests in one perf sweep point (memory before the first request does not grow with it)
MAX_NUMBER = 10_000_000
#: concurrent requests of one sweep point
MAX_PARALLEL = 100_000
#: sweep points in one run
MAX_SWEEP_POINTS = 100
#: perf warm-up requests
MAX_WARMUP = 100_000
#: requests per second (perf open loop)
MAX_RATE = 1_000_000.0
#: any timeout, duration or pause, in seconds (one day)
MAX_SECONDS = 86_400.0
#: client processes of one perf run
MAX_WORKERS = 1024
#: tokens a request may ask for (max_tokens, min_tokens)
MAX_TOKENS = 1_048_576
#: prompt lengths (characters or tokens) and prefix length
MAX_PROMPT_LENGTH = 16_777_216
#: sampling temperature
MAX_TEMPERATURE = 100.0
#: top_k
MAX_TOP_K = 1_000_000
#: seeds: what a signed 64-bit integer holds (perf and eval; numpy needs them non-negative)
MAX_SEED = 2**63 - 1
#: eval samples per benchmark (limit as a count) and few-shot examples
MAX_LIMIT = 10_000_000
MAX_FEW_SHOT = 100
#: answers asked per eval question (``repeats``; pass@k needs k answers, and k times the requests)
MAX_REPEATS = 1024
#: SLO thresholds in milliseconds (one day)
MAX_SLO_MS = MAX_SECONDS * 1000
#: an SLO search (perf --search): requests per round at one load, rounds at one load, the whole
#: search's request budget (its time budget is at most MAX_SECONDS)
MIN_SEARCH_REQUESTS = 10
MAX_SEARCH_REQUESTS = 1_000_000
MAX_SEARCH_ROUNDS = 100
MAX_SEARCH_BUDGET = 100_000_000
#: verdict labels of a judge's ``score_mapping`` (judge_model_args)
MAX_JUDGE_LABELS = 26
#: turns of one multi-turn perf session (--min-turns, --max-turns)
MAX_TURNS = 10_000
#: the mock's KV-cache size in tokens (``kv_cache_tokens``: what /metrics reports usage against)
MAX_KV_CACHE_TOKENS = 2**40
#: seconds between two scrapes of a server's /metrics during a perf run (``server_metrics_interval``)
MIN_SCRAPE_INTERVAL = 0.05
MAX_SCRAPE_INTERVAL = 3600.0
#: the mock server's /v1/embeddings vector length (a test server: a few thousand floats are plenty)
MAX_EMBEDDING_DIM = 8192
#: documents per query of the random_rerank perf dataset (``extra_args.num_documents``)
MAX_RERANK_DOCUMENTS = 10_000
#: prefix-cache blocks the mock keeps (``prefix_cache_blocks``) and tokens per block
MAX_PREFIX_CACHE_BLOCKS = 10_000_000
#: trace replay speed-up (``trace_speedup``) and distinct prefix groups (``prefix_count``)
MAX_TRACE_SPEEDUP = 1_000_000.0
MAX_PREFIX_COUNT = 1_000_000
#: the code sandbox's per-run limits (evalscope.sandbox.Limits): memory, processes, file and disk sizes
MAX_SANDBOX_MEMORY_MB = 65_536
MAX_SANDBOX_PROCESSES = 4096
MAX_SANDBOX_FILE_MB = 65_536
#: captured stdout + stderr of one sandboxed run (held in memory)
MAX_SANDBOX_OUTPUT_BYTES = 256 * 1024 * 1024
#: code programs an eval runs at once in the sandbox (``sandbox_pool_size``)
MAX_SANDBOX_POOL = 1024
