"""Prometheus text exposition, formatted by hand (no client library needed)."""

from __future__ import annotations

from evalscope.jobs import JobManager, JobState

BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)


def _labels(**kv: str) -> str:
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in kv.items()
    )
    return "{" + inner + "}"


def render_metrics(manager: JobManager) -> str:
    """Jobs by (kind, state), a histogram of finished run times by kind, executor gauges."""
    lines = ["# HELP evalscope_jobs Jobs in the store by kind and state.", "# TYPE evalscope_jobs gauge"]
    counts = manager.store.counts()
    kinds = sorted({k for k, _ in counts} | set(manager.kinds))
    for kind in kinds:
        for state in JobState:
            lines.append(
                f"evalscope_jobs{_labels(kind=kind, state=state.value)} {counts.get((kind, state.value), 0)}"
            )
    lines += [
        "# HELP evalscope_job_duration_seconds Run time of jobs that finished (last attempt).",
        "# TYPE evalscope_job_duration_seconds histogram",
    ]
    by_kind: dict[str, list[float]] = {}
    for kind, _state, seconds in manager.store.durations():
        by_kind.setdefault(kind, []).append(seconds)
    for kind in sorted(by_kind):
        values = by_kind[kind]
        for le in BUCKETS:
            n = sum(v <= le for v in values)
            lines.append(f"evalscope_job_duration_seconds_bucket{_labels(kind=kind, le=str(le))} {n}")
        lines.append(f"evalscope_job_duration_seconds_bucket{_labels(kind=kind, le='+Inf')} {len(values)}")
        lines.append(f"evalscope_job_duration_seconds_sum{_labels(kind=kind)} {sum(values):.6f}")
        lines.append(f"evalscope_job_duration_seconds_count{_labels(kind=kind)} {len(values)}")
    stats = manager.executor.stats()
    for name, help_text in (
        ("workers", "Worker processes alive."),
        ("busy", "Workers running a job."),
        ("queued", "Jobs waiting for a worker."),
    ):
        lines += [
            f"# HELP evalscope_executor_{name} {help_text}",
            f"# TYPE evalscope_executor_{name} gauge",
            f"evalscope_executor_{name} {stats.get(name, 0)}",
        ]
    lines += [
        "# HELP evalscope_executor_spawn_failures_total Worker processes that could not be started "
        "(or died during start-up).",
        "# TYPE evalscope_executor_spawn_failures_total counter",
        f"evalscope_executor_spawn_failures_total {stats.get('spawn_failures', 0)}",
        "# HELP evalscope_jobs_unsaved_final Finished jobs whose final state the store has not taken yet.",
        "# TYPE evalscope_jobs_unsaved_final gauge",
        f"evalscope_jobs_unsaved_final {manager.unsaved_count()}",
    ]
    return "\n".join(lines) + "\n"
