"""Multi-turn sessions: each of ``parallel`` senders runs one conversation at a time, turn by turn.

A turn's body is the history so far (the conversation's earlier turns and the model's *real* replies,
as the client received them) plus the turn's own messages; it is built and serialised when the turn
is due, since it depends on the previous reply. Before every turn but the first the sender waits the
think time (``--think-time``: fixed, or uniform between two values). A failed turn ends its session
(there is no reply to carry on with), as in EvalScope. ``--number`` counts sessions and
``--parallel`` concurrent sessions (EvalScope's meaning); ``--duration`` stops new turns.

Records carry ``session`` (the session's id in the sweep point, 0..number-1) and ``turn`` (from 1);
``prompt_index`` is the conversation's index in the source. Request indices stay unique over the
shards of a point: a shard's k-th request gets ``k * shards + shard``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

from evalscope.client.jsonfast import dumps
from evalscope.perf.loadgen import LoadClient, ShardPlan
from evalscope.perf.records import RequestRecord


class _Sender:
    """What the senders of one shard share: the conversations, the body recipe, the request counter."""

    def __init__(self, client: LoadClient, plan: ShardPlan) -> None:
        self.client = client
        self.plan = plan
        self.convs = plan.sessions or []
        self.adapter = client.adapter
        self.request = plan.request
        indices = plan.indices
        # request index k * step + start: unique over the shards (each has its own start, same step)
        self.step = indices.step if isinstance(indices, range) else 1
        self.start = indices.start if isinstance(indices, range) else 0
        self.count = 0
        seed = plan.seed if plan.seed is not None else 0
        self.rng = random.Random(seed * 1_000_003 + plan.shard_id)
        self.think = plan.think_time

    def think_time(self) -> float:
        t = self.think
        if not t:
            return 0.0
        return t[0] if len(t) == 1 or t[0] == t[1] else self.rng.uniform(t[0], t[1])

    def body(self, history: list[dict[str, Any]]) -> bytes:
        # model_copy skips validation: the template was validated once when the plan was made
        return dumps(self.adapter.body(self.request.model_copy(update={"messages": history})))

    async def session(
        self, sid: int, conv_index: int, deadline: float | None, out: list[RequestRecord] | None
    ) -> None:
        """Run session ``sid`` on conversation ``conv_index``; its records go to ``out`` (None: unrecorded)."""
        perf_counter = time.perf_counter
        send = self.client.send
        history: list[dict[str, Any]] = []
        for turn, messages in enumerate(self.convs[conv_index], 1):
            if turn > 1 and self.think:
                await asyncio.sleep(self.think_time())
            if deadline is not None and perf_counter() >= deadline:
                break
            history.extend({"role": role, "content": content} for role, content in messages)
            body = self.body(history)
            index = self.count * self.step + self.start
            self.count += 1
            rec = await send(index, perf_counter(), body, conv_index)
            rec.session = sid
            rec.turn = turn
            if out is not None:
                out.append(rec)
            if not rec.ok:
                break  # nothing to carry on with: the session ends here
            history.append({"role": "assistant", "content": rec.text})


async def run_sessions(client: LoadClient, plan: ShardPlan, t0: float, records: list[RequestRecord]) -> None:
    """Run the plan's sessions (ids ``plan.indices``) with ``plan.parallel`` senders from ``t0``."""
    sender = _Sender(client, plan)
    n_conv = len(sender.convs)
    deadline = t0 + plan.duration if plan.duration else None
    it: Iterator[int] = iter(plan.indices)

    async def closed() -> None:
        for sid in it:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            await sender.session(sid, sid % n_conv, deadline, records)
            client.sessions_done += 1

    await asyncio.gather(*(closed() for _ in range(min(plan.parallel, len(plan.indices)))))


async def warm_up_sessions(client: LoadClient, n: int, parallel: int) -> None:
    """``n`` whole sessions, unrecorded, on the conversations after the measured ones (as EvalScope
    takes its warm-up conversations from the same stream)."""
    sender = _Sender(client, client.plan)
    n_conv = len(sender.convs)
    first = len(client.plan.indices)
    it = iter(range(n))

    async def one() -> None:
        for i in it:
            await sender.session(-1 - i, (first + i) % n_conv, None, None)

    await asyncio.gather(*(one() for _ in range(min(parallel, n))))
    client.done = 0
    client.sessions_done = 0
