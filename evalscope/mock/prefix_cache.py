"""The mock's prefix-cache model: prompts whose leading blocks were seen recently start sooner.

On with ``MockConfig.prefix_cache`` (``--prefix-cache``). A prompt (the text ``prompt_tokens`` counts)
is cut into blocks of ``prefix_block_tokens`` tokens (the mock's own tokenizer,
:mod:`evalscope.mock.tokenizer`; a partial last block is never cached, as in vLLM). Each block is
identified by a hash chained over every block before it, so a block matches only when the whole
prompt up to and including it is byte-identical to one seen before. The leading run of blocks
found in the cache is "cached"; the rest of the prompt is "uncached" and costs
``prefill_per_token`` seconds per token before the first token (``app.MockState.prefill``):

    time to first token = ttft + prefill_per_token * uncached_tokens

After the lookup every full block of the prompt is stored (most recently used), and the least
recently used blocks are dropped beyond ``prefix_cache_blocks`` blocks. A request is looked up when it
arrives (before its own delay), so two requests sent together with the same prefix: the second one
already finds it, as a server that batches their prefill would.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from evalscope.mock.tokenizer import split_tokens


@dataclass
class Lookup:
    """What the cache knew about one prompt."""

    prompt_tokens: int
    cached_tokens: int

    @property
    def uncached_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens


class PrefixCache:
    """An LRU of prompt blocks (chained hashes), with hit counters for ``/mock/stats``."""

    def __init__(self, capacity: int, block_tokens: int) -> None:
        self.capacity = capacity
        self.block_tokens = block_tokens
        self._blocks: OrderedDict[bytes, None] = OrderedDict()
        self.requests = 0
        self.hit_requests = 0  # requests with at least one cached block
        self.lookup_blocks = 0  # full blocks looked up
        self.hit_blocks = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.evicted_blocks = 0

    def _block_keys(self, text: str) -> tuple[list[bytes], int]:
        pieces = split_tokens(text)
        # whitespace glued to a piece belongs to the bytes of the block (byte-identical prefixes only)
        keys: list[bytes] = []
        h = hashlib.blake2b(digest_size=16)
        b = self.block_tokens
        for start in range(0, len(pieces) - b + 1, b):
            h.update("".join(pieces[start : start + b]).encode())
            keys.append(h.copy().digest())
        return keys, len(pieces)

    def lookup_and_store(self, text: str) -> Lookup:
        """Count the prompt's cached leading blocks, then store all its full blocks."""
        keys, n_tokens = self._block_keys(text)
        blocks = self._blocks
        hits = 0
        for key in keys:
            if key not in blocks:
                break
            hits += 1
        for key in keys:
            if key in blocks:
                blocks.move_to_end(key)
            else:
                blocks[key] = None
        while len(blocks) > self.capacity:
            blocks.popitem(last=False)
            self.evicted_blocks += 1
        cached = hits * self.block_tokens
        self.requests += 1
        self.hit_requests += hits > 0
        self.lookup_blocks += len(keys)
        self.hit_blocks += hits
        self.prompt_tokens += n_tokens
        self.cached_tokens += cached
        return Lookup(prompt_tokens=n_tokens, cached_tokens=cached)

    def snapshot(self) -> dict[str, Any]:
        """The ``prefix_cache`` part of ``GET /mock/stats``."""
        return {
            "capacity_blocks": self.capacity,
            "block_tokens": self.block_tokens,
            "size_blocks": len(self._blocks),
            "requests": self.requests,
            "hit_requests": self.hit_requests,
            "lookup_blocks": self.lookup_blocks,
            "hit_blocks": self.hit_blocks,
            "evicted_blocks": self.evicted_blocks,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "token_hit_rate": round(self.cached_tokens / self.prompt_tokens, 6)
            if self.prompt_tokens
            else None,
        }
