"""Kept for importers: the rule for secrets lives in :mod:`evalscope.secrets` (one home)."""

from evalscope.secrets import (
    REDACTED,
    ScrubFilter,
    config_secret_values,
    is_secret_name,
    merge_secrets,
    redact_config,
    redact_text,
    redact_url,
    scrub,
    secret_values,
    split_secrets,
)

__all__ = ["REDACTED", "ScrubFilter", "config_secret_values", "is_secret_name", "merge_secrets", "redact_config",
           "redact_text", "redact_url", "scrub", "secret_values", "split_secrets"]
