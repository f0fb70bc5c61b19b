"""Settings of one service instance: keyword arguments (CLI flags, ``run_service``, ``create_app``),
else ``EVALSCOPE_<FIELD>`` environment variables, else the defaults (docs/deploy.md lists them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from evalscope.settings import EnvSettings, settings

#: the environment variables the bearer token is read from (first set wins): nothing shows in ``ps``
ENV_TOKEN = "EVALSCOPE_AUTH_TOKEN"
ENV_TOKEN_OLD = "EVALSCOPE_SERVICE_TOKEN"  # the earlier name, still read


def token_from_env() -> str | None:
    """The bearer token from ``$EVALSCOPE_AUTH_TOKEN`` (or ``$EVALSCOPE_SERVICE_TOKEN``), else None."""
    return settings().secret("auth_token")


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding white space and the final newline dropped); ValueError if
    the file cannot be read or holds no token."""
    try:
        token = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not token:
        raise ValueError(f"{str(path)!r} is empty")
    if any(c.isspace() for c in token):
        raise ValueError(f"{str(path)!r} must hold one token on one line (no white space inside)")
    return token


def _default_workers() -> int:
    from evalscope._cpus import usable_cpus

    return max(2, min(4, usable_cpus()))


class ServiceSettings(EnvSettings):
    """Everything the service needs; the defaults are the embedded, single-machine setup.

    A field not given is read from ``EVALSCOPE_<FIELD>`` (``EVALSCOPE_PORT``, ``EVALSCOPE_WORK_DIR``,
    ...), except those in ``env_excluded``.
    """

    model_config = SettingsConfigDict(extra="forbid")

    env_excluded: ClassVar[frozenset[str]] = frozenset(
        {
            "auth_token",  # after auth_token_file, from two names: evalscope.settings (the workers read it too)
            "dataset_dir",  # $EVALSCOPE_DATASET_DIR is the engines' variable (evalscope.settings): data_roots adds it
            "job_kinds",  # $EVALSCOPE_JOB_KINDS has its own format, read by evalscope.jobs.kinds in every process
            "data_dirs",  # a list of folders: flags or keyword arguments only
            "database_url",  # $EVALSCOPE_DATABASE_URL / $EVALSCOPE_BROKER_URL are shared with the workers:
            "broker_url",  # evalscope.settings reads them (the defaults below)
        }
    )

    host: str = "0.0.0.0"
    port: int = Field(9000, ge=0, le=65535)
    debug: bool = False
    work_dir: Path = Field(Path("outputs"), description="base folder: every job gets its own folder inside")
    max_concurrent_jobs: int = Field(default_factory=_default_workers, ge=1, le=256)
    database_url: str | None = Field(
        default_factory=lambda: settings().database_url,
        description="SQLAlchemy URL; default $EVALSCOPE_DATABASE_URL, else sqlite:///<work_dir>/service.db",
    )
    auth_token: str | None = Field(
        None,
        repr=False,
        description="bearer token every route but /health needs; default: the file "
        "auth_token_file, else $EVALSCOPE_AUTH_TOKEN (or $EVALSCOPE_SERVICE_TOKEN)",
    )
    auth_token_file: Path | None = Field(
        None, description="file holding the bearer token (keeps it out of the process list)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(  # NoDecode: the variable is "a,b", not JSON
        default_factory=list, description="origins allowed by CORS (comma-separated in the variable)"
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    data_dirs: list[Path] = Field(
        default_factory=list,
        description="extra folders a request may name as local data (dataset_path, local_path, ...)",
    )
    dataset_dir: Path | None = Field(
        None,
        description="the shared dataset folder (as $EVALSCOPE_DATASET_DIR): benchmarks find local copies "
        "there (gsm8k/test.jsonl) and requests may name files in it",
    )
    job_kinds: dict[str, str] = Field(
        default_factory=dict, description="extra job kinds name -> 'module:function' (tests, extensions)"
    )
    start_method: str | None = Field(None, description="multiprocessing start method (default forkserver)")
    executor: Literal["local", "celery"] = Field(
        "local",
        description="local: warm worker processes here; celery: jobs go to `evalscope worker`s via a broker",
    )
    broker_url: str | None = Field(
        default_factory=lambda: settings().broker_url,
        validate_default=True,
        description="Celery broker URL (redis://host:6379/0); required with executor "
        "celery; default $EVALSCOPE_BROKER_URL",
    )
    heartbeat_timeout: float = Field(
        30.0,
        gt=0,
        description="celery: a running job whose worker sent no "
        "heartbeat for this many seconds becomes interrupted",
    )
    max_upload_bytes: int = Field(
        16 * 1024**3, ge=1024, description="celery: largest job folder a worker may upload"
    )
    max_running_per_user: int | None = Field(
        None,
        ge=1,
        le=256,
        description="jobs one user may run at once (the rest wait their turn); default: no limit",
    )
    endpoint_isolation: Literal["perf_and_eval", "perf", "off"] = Field(
        "perf_and_eval",
        description="perf_and_eval: load tests of one model server (base URL + model) run one at a "
        "time and evaluations of it wait while it is under a load test; perf: only the first; off: neither",
    )

    @field_validator("auth_token_file")
    @classmethod
    def _token_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None:
            if info.data.get("auth_token") is not None:
                raise ValueError("give the token once: --auth-token or --auth-token-file, not both")
            read_token_file(value)  # fails here, naming the setting, rather than at start-up
        return value

    @model_validator(mode="after")
    def _token(self) -> ServiceSettings:
        # One order everywhere (CLI, run_service, create_app): the token given, its file, the environment.
        if self.auth_token is None:
            self.auth_token = (
                read_token_file(self.auth_token_file) if self.auth_token_file else token_from_env()
            )
        return self

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
        env = settings().dataset_dir
        if env:
            roots.append(env.expanduser().resolve())
        return roots

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.base_dir / 'service.db'}"
