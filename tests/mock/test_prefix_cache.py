"""The mock's prefix-cache model: leading blocks seen recently cost no prefill, shown in /mock/stats."""

from __future__ import annotations

import httpx

from evalscope.mock.prefix_cache import PrefixCache


def _words(start: int, n: int) -> str:
    return " ".join(f"t{i}" for i in range(start, start + n))


def test_off_by_default_and_no_stats_key(mock_server):
    srv = mock_server()
    httpx.post(
        f"{srv.url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert "prefix_cache" not in srv.stats()


def test_cached_blocks_counted_and_shown_in_stats(mock_server):
    srv = mock_server(prefix_cache=True, prefix_block_tokens=4)
    shared = _words(0, 8)  # two full blocks
    for tail in ("a b c", "d e f"):
        r = httpx.post(
            f"{srv.url}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": f"{shared} {tail}"}]},
        )
        assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == 11
    cache = srv.stats()["prefix_cache"]
    # first: 2 full blocks looked up, none cached; second: both leading blocks found (the tails differ
    # inside the third, partial block, which is never cached)
    assert cache["requests"] == 2 and cache["hit_requests"] == 1
    assert cache["lookup_blocks"] == 4 and cache["hit_blocks"] == 2
    assert cache["prompt_tokens"] == 22 and cache["cached_tokens"] == 8
    srv.reset_stats()
    assert srv.stats()["prefix_cache"]["requests"] == 0


def test_a_block_matches_only_after_the_same_prefix():
    cache = PrefixCache(capacity=100, block_tokens=2)
    cache.lookup_and_store("a b c d")
    assert cache.lookup_and_store("a b c d").cached_tokens == 4
    assert cache.lookup_and_store("x y c d").cached_tokens == 0  # same second block, other first block
    assert cache.lookup_and_store("a b z z").cached_tokens == 2


def test_least_recently_used_blocks_are_evicted():
    cache = PrefixCache(capacity=2, block_tokens=1)
    cache.lookup_and_store("a b")
    cache.lookup_and_store("c d")  # evicts a, a.b
    assert cache.lookup_and_store("a b").cached_tokens == 0
    assert cache.snapshot()["evicted_blocks"] >= 2


def test_prefill_per_token_delays_the_first_token_by_uncached_tokens(mock_server):
    srv = mock_server(prefix_cache=True, prefix_block_tokens=10, prefill_per_token=0.004, record_timings=True)
    body = {"model": "m", "messages": [{"role": "user", "content": _words(0, 100)}], "stream": True}
    for rid in ("cold", "warm"):
        with httpx.stream(
            "POST", f"{srv.url}/v1/chat/completions", json=body, headers={"X-Request-Id": rid}
        ) as r:
            r.read()
    t = srv.timings()
    cold = t["cold"]["first_chunk"] - t["cold"]["received"]
    warm = t["warm"]["first_chunk"] - t["warm"]["received"]
    # cold: 100 uncached tokens (0.4 s); warm: all 10 blocks cached (no prefill)
    assert cold >= 0.4 and warm < cold / 2
