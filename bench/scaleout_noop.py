"""A job kind that does nothing (bench/scaleout_jobs.py measures the executor's own latency with it)."""


def run(config, ctx):
    return {"ok": True}
