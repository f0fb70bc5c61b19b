"""Settings read from the environment: every ``EVALSCOPE_*`` variable is a field of one pydantic-settings
model, read in one place.

:class:`EnvSettings` is the base of every such model (the ``EVALSCOPE_`` prefix, fields a model keeps
out of the environment, errors that name the variable). :class:`Settings` holds the variables of the
engines and of every process (datasets, perf's HTTP client, job kinds, the broker's secret key, ...);
the service's own are fields of ``evalscope.service.settings.ServiceSettings``. docs/deploy.md has the
table of all of them.

:func:`settings` reads the environment at each call, never once per process: the service sets
``EVALSCOPE_DATASET_DIR`` for the workers it starts, and tests change variables between runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "EVALSCOPE_"


def _truthy(value: Any) -> Any:
    # A switch is on for 1/true/yes/on (any case); anything else set (0, false, no) is off, never an error.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return value


#: an on/off environment variable (``EVALSCOPE_OFFLINE=1``)
Switch = Annotated[bool, BeforeValidator(_truthy)]


class _EnvSource(EnvSettingsSource):
    """The environment, less the fields a model keeps out of it (``env_excluded``)."""

    def __init__(self, settings_cls: type[BaseSettings], excluded: frozenset[str]) -> None:
        super().__init__(settings_cls)
        self._excluded = excluded

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in self._excluded:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class EnvSettings(BaseSettings):
    """Base of the settings models: ``EVALSCOPE_<FIELD>`` variables; keyword arguments win over them.

    Empty variables count as unset. No ``.env`` file is read (a deployment sets the environment).
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, validate_by_name=True, validate_by_alias=True
    )

    #: fields never read from the environment (each subclass says why next to its list)
    env_excluded: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvSource(settings_cls, cls.env_excluded)

    @classmethod
    def env_names(cls) -> dict[str, tuple[str, ...]]:
        """Field -> the environment variables it is read from (first set wins)."""
        out: dict[str, tuple[str, ...]] = {}
        for name, info in cls.model_fields.items():
            if name in cls.env_excluded:
                continue
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                out[name] = tuple(str(a) for a in alias.choices)
            elif isinstance(alias, str):
                out[name] = (alias,)
            else:
                out[name] = (PREFIX + name.upper(),)
        return out


def env_error(cls: type[EnvSettings], exc: ValidationError) -> ValueError:
    """A ValueError naming the variable: ``EVALSCOPE_PERF_HTTP: Input should be 'raw' or 'aiohttp'``."""
    from evalscope.fieldnames import field_errors

    field, reason = field_errors(exc)[0]
    head = field.partition(".")[0]
    names = cls.env_names().get(head)
    return ValueError(f"{names[0] if names else head}: {reason}")


class Settings(EnvSettings):
    """The variables of the engines and of every process (service, workers, CLIs)."""

    # datasets (evalscope.datasets.hub)
    dataset_dir: Path | None = Field(
        default=None,
        description="shared dataset folder: `DIR/<benchmark>/...`, "
        "`DIR/<repo id>/...`; the service's --dataset-dir sets it for its workers",
    )
    cache: Path | None = Field(
        default=None, description="download cache (default ~/.cache/evalscope/datasets)"
    )
    offline: Switch = Field(
        default=False, description="never download datasets (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE count too)"
    )
    hf_hub_offline: Switch = Field(default=False, validation_alias="HF_HUB_OFFLINE")
    hf_datasets_offline: Switch = Field(default=False, validation_alias="HF_DATASETS_OFFLINE")
    modelscope_endpoint: str = Field(default="https://www.modelscope.cn", description="ModelScope hub URL")
    hf_endpoint: str = Field(
        default="https://huggingface.co", validation_alias="HF_ENDPOINT", description="Hugging Face hub URL"
    )
    # perf
    perf_http: Literal["raw", "aiohttp"] = Field(
        default="raw",
        description="perf's HTTP client: raw (the measured one) or aiohttp (the reference path)",
    )
    no_uvloop: Switch = Field(
        default=False, description="perf runs on asyncio's loop even with uvloop installed"
    )
    # jobs, service and workers
    job_kinds: str = Field(
        default="", description="extra job kinds: name=module:function,... (every process)"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="passphrase sealing API keys in Celery messages "
        "(the same on the service and its workers)",
    )
    auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("EVALSCOPE_AUTH_TOKEN", "EVALSCOPE_SERVICE_TOKEN"),
        description="the service's bearer token (after --auth-token / --auth-token-file); the workers' "
        "upload mode sends it. EVALSCOPE_SERVICE_TOKEN is the earlier name, still read",
    )
    service_url: str | None = Field(
        default=None,
        description="the service `evalscope remote` talks to (its --server), e.g. http://host:9000",
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker of `evalscope worker` (and the service's --executor celery)"
    )
    database_url: str | None = Field(
        default=None, description="job store of `evalscope worker` (and the service)"
    )
    # the code sandbox (evalscope.sandbox)
    bwrap: str = Field(
        default="bwrap",
        description="bubblewrap binary of the code sandbox: a name looked up on PATH, or a path",
    )
    sandbox_python: str | None = Field(
        default=None,
        description="Python interpreter that runs sandboxed code (default: this process's base interpreter)",
    )
    # the mock server
    mock_api_key: SecretStr | None = Field(
        default=None, description="key `evalscope mock-server` requires (as --api-key)"
    )

    @property
    def cache_dir(self) -> Path:
        """The download cache."""
        return self.cache.expanduser() if self.cache else Path.home() / ".cache" / "evalscope" / "datasets"

    @property
    def is_offline(self) -> bool:
        """True when any of the offline switches is on."""
        return self.offline or self.hf_hub_offline or self.hf_datasets_offline

    def secret(self, name: Literal["secret_key", "auth_token", "mock_api_key"]) -> str | None:
        """The value of a secret field, or None when unset (the bearer token without surrounding white
        space, and None when blank)."""
        value: SecretStr | None = getattr(self, name)
        text = value.get_secret_value() if value is not None else ""
        return (text.strip() if name == "auth_token" else text) or None


def settings() -> Settings:
    """The environment's :class:`Settings` now; ValueError naming the variable when one is invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise env_error(Settings, exc) from None
