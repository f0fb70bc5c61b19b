"""Settings of one service instance (CLI flags, ``run_service`` keyword arguments, ``create_app``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ENV_TOKEN = "EVALSCOPE_SERVICE_TOKEN"


def _default_workers() -> int:
    from evalscope._cpus import usable_cpus

    return max(2, min(4, usable_cpus()))


class ServiceSettings(BaseModel):
    """Everything the service needs; the defaults are the embedded, single-machine setup."""

    model_config = ConfigDict(extra="forbid")

    host: str = "0.0.0.0"
    port: int = Field(9000, ge=0, le=65535)
    debug: bool = False
    work_dir: Path = Field(Path("outputs"), description="base folder: every job gets its own folder inside")
    max_concurrent_jobs: int = Field(default_factory=_default_workers, ge=1, le=256)
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<work_dir>/service.db")
    auth_token: str | None = Field(default_factory=lambda: os.environ.get(ENV_TOKEN) or None)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    data_dirs: list[Path] = Field(
        default_factory=list,
        description="extra folders a request may name as local data (dataset_path, local_path, ...)",
    )
    dataset_dir: Path | None = Field(
        None, description="the shared dataset folder (as $EVALSCOPE_DATASET_DIR): benchmarks find local copies "
                          "there (gsm8k/test.jsonl) and requests may name files in it")
    job_kinds: dict[str, str] = Field(
        default_factory=dict, description="extra job kinds name -> 'module:function' (tests, extensions)"
    )
    start_method: str | None = Field(None, description="multiprocessing start method (default forkserver)")
    executor: Literal["local", "celery"] = Field(
        "local", description="local: warm worker processes here; celery: jobs go to `evalscope worker`s via a broker")
    broker_url: str | None = Field(None, validate_default=True,
                                   description="Celery broker URL (redis://host:6379/0); required with executor celery")
    heartbeat_timeout: float = Field(30.0, gt=0, description="celery: a running job whose worker sent no "
                                     "heartbeat for this many seconds becomes interrupted")
    max_upload_bytes: int = Field(16 * 1024**3, ge=1024, description="celery: largest job folder a worker may upload")

    @field_validator("broker_url")
    @classmethod
    def _need_broker(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("executor") == "celery" and not value:
            raise ValueError("required with --executor celery")
        return value

    @field_validator("dataset_dir")
    @classmethod
    def _dataset_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).expanduser().is_dir():
            raise ValueError(f"{value} is not a folder")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def base_dir(self) -> Path:
        return Path(self.work_dir).expanduser().resolve()

    @property
    def data_roots(self) -> list[Path]:
        """Folders a request may name as local data: ``data_dirs``, ``dataset_dir`` and
        ``$EVALSCOPE_DATASET_DIR``."""
        roots = [Path(p).expanduser().resolve() for p in self.data_dirs]
        if self.dataset_dir is not None:
            roots.append(Path(self.dataset_dir).expanduser().resolve())
        env = os.environ.get("EVALSCOPE_DATASET_DIR")
        if env:
            roots.append(Path(env).expanduser().resolve())
        return roots

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.base_dir / 'service.db'}"
