"""How many CPUs this process may use: the one count every "how many processes?" default reads.

``os.cpu_count()`` is the machine's count; under ``taskset``, a cpuset or a container CPU limit the
process may use far fewer, and sizing worker pools from the machine's count over-spawns processes
that then fight for the same cores (which distorts perf measurements most of all).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cpus(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """CPUs this process may run on: its affinity mask, lowered to a cgroup CPU quota when one is set.

    Always at least 1.  The paths are parameters for tests only.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity API (macOS, Windows)
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        count = min(count, quota)
    return max(1, count)


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int | None:
    """Whole CPUs allowed by the tightest CFS quota on this process's cgroup or any parent (at least 1).

    Reads cgroup v2 ``cpu.max`` and v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``; None when no
    quota is set or the files cannot be read (not Linux, no cgroup filesystem).  A fraction rounds
    down: 1.5 CPUs of quota keep one busy process, not two half-starved ones.
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    limits: list[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and not controllers:  # v2 unified hierarchy
            limits += _walk(cgroup_root, path, _read_v2)
        elif "cpu" in controllers.split(","):  # v1 cpu controller, mounted as cpu or cpu,cpuacct
            for mount in (cgroup_root / controllers, cgroup_root / "cpu"):
                if mount.is_dir():
                    limits += _walk(mount, path, _read_v1)
                    break
    return max(1, math.floor(min(limits))) if limits else None


def _walk(base: Path, path: str, read) -> list[float]:
    """Quotas found on ``path`` and its parents below ``base``.

    In a container without a cgroup namespace ``path`` names the host's hierarchy, absent from the
    container's mount: the walk then reaches the mount's root, which is the container's own cgroup.
    """
    found = []
    rel = Path(path.strip("/"))
    for sub in (rel, *rel.parents):
        quota = read(base / sub)
        if quota is not None:
            found.append(quota)
    return found


def _read_v2(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _read_v1(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
