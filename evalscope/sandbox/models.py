"""What a sandboxed run is given and what it gives back: :class:`Limits`, :class:`RunResult`, the errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalscope.limits import (
    MAX_SANDBOX_FILE_MB,
    MAX_SANDBOX_MEMORY_MB,
    MAX_SANDBOX_OUTPUT_BYTES,
    MAX_SANDBOX_PROCESSES,
    MAX_SECONDS,
)

#: the backends: ``bwrap`` isolates; ``unsafe_no_isolation`` is a plain subprocess with rlimits only
Backend = Literal["bwrap", "unsafe_no_isolation"]
BACKENDS: tuple[str, ...] = ("bwrap", "unsafe_no_isolation")
UNSAFE = "unsafe_no_isolation"

#: which limit a program hit
LimitName = Literal["time", "cpu", "memory", "processes", "file_size", "output"]


class Limits(BaseModel):
    """Per-run limits of one sandboxed program (every process it starts included, except where noted)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    #: wall-clock seconds from start to kill (the whole sandbox dies)
    wall_s: float = Field(default=10, gt=0, le=MAX_SECONDS)
    #: CPU seconds of each process (RLIMIT_CPU: SIGXCPU, then SIGKILL one second later)
    cpu_s: float = Field(default=10, gt=0, le=MAX_SECONDS)
    #: address space of each process in MiB (RLIMIT_AS: an allocation past it fails, MemoryError)
    memory_mb: int = Field(default=512, ge=64, le=MAX_SANDBOX_MEMORY_MB)
    #: processes and threads the program may have at once (RLIMIT_NPROC of a uid / user namespace of its own)
    processes: int = Field(default=64, ge=1, le=MAX_SANDBOX_PROCESSES)
    #: largest file it may write, MiB (RLIMIT_FSIZE)
    file_size_mb: int = Field(default=16, ge=0, le=MAX_SANDBOX_FILE_MB)
    #: stdout + stderr kept; past it the program is killed (limit "output")
    output_bytes: int = Field(default=1_000_000, ge=1, le=MAX_SANDBOX_OUTPUT_BYTES)
    #: size of the private work folder (a tmpfs, held in memory; /tmp is the same folder)
    disk_mb: int = Field(default=64, ge=1, le=MAX_SANDBOX_FILE_MB)


class RunResult(BaseModel):
    """One run's outcome.  ``limit`` set: the program hit that limit; ``exit_code`` None: it was killed
    (by the wall clock, the output bound or a signal)."""

    stdout: str
    stderr: str
    exit_code: int | None
    limit: LimitName | None = None
    duration_s: float
    #: the signal that ended the program, when one did (SIGXCPU 24, SIGKILL 9, ...)
    signal: int | None = None
    backend: Backend = "bwrap"

    @property
    def ok(self) -> bool:
        """Exited 0 within every limit."""
        return self.exit_code == 0 and self.limit is None


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (bubblewrap missing, user namespaces disabled, ...).

    The message says what to install and how to opt out; raised by :func:`check_available` before a
    run asks the model anything, and by a run itself.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the program): a code scorer records the sample as ``error``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
