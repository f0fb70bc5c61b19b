"""The one rule for secrets: what is secret, how it is redacted, and how it is scrubbed from text.

Everything that persists or returns data goes through this module: the job store and each job's
``config.json`` (:mod:`evalscope.jobs.manager`), the eval run's ``config.json``
(``TaskConfig.redacted``), perf's ``benchmark_args.json`` (``PerfArguments.public_dict``), the HTML
reports, the service's error answers and the logs of jobs and runs. It imports nothing from the
package, so every layer can use it.

What is secret in a config (a JSON-like tree of dicts and lists):

* every value under a key whose *name* looks like a credential (:func:`is_secret_name`): ``api_key``,
  ``Authorization``, ``X-Api-Key``, ``Cookie``, ``X-Auth-Signature``, ``X-My-Password``, a
  ``session_id``... in any dict (headers, ``extra_args``, a judge model's settings);
* credentials inside URLs, wherever a URL appears: the ``user:password@`` part and query parameters
  named like credentials (``?key=``, ``&api_key=``, ``&token=``, ``&sig=``).

Placeholders that are not secrets (``""``, ``"EMPTY"``, ``None``) are kept, and so are numbers and
booleans (``"use_session": true``): only strings carry credentials.

A config is *split* into a public part (stored, written, returned: secrets replaced by ``***``) and a
secret part (kept in memory, handed to the worker); :func:`merge_secrets` puts them back together.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

REDACTED = "***"
#: Values that are placeholders, not secrets: kept as they are so configs stay readable.
_NOT_SECRET = {"", "EMPTY"}
#: Shorter strings are never scrubbed from text (they would turn every "a" or "id" into ***).
MIN_SCRUB_LENGTH = 4

# A name is split into lower-case words ("X-Api-Key" -> x, api, key; "apiKey" -> api, key).
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# A word that starts with one of these is a credential word ("Authorization", "passwd", "cookies").
_SECRET_PREFIXES = (
    "auth",
    "secret",
    "passw",
    "passphrase",
    "credential",
    "cookie",
    "signature",
    "session",
    "bearer",
    "apikey",
    "accesskey",
    "privatekey",
    "jwt",
    "csrf",
    "xsrf",
)
# Whole words that are credential words ("key", "token"; not "tokens" or "tokenizer").
_SECRET_WORDS = {"key", "token", "pwd", "pass", "sig", "otp", "sid", "pat"}
# Compound words ending like this are too ("accesstoken", "secretkey", "xapikey").
_SECRET_SUFFIXES = ("key", "token", "secret", "password", "passwd", "pwd")

# A URL inside free text (logs, error messages): scheme://... up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# "Bearer sk-...", "Basic dXNlcjpw...": the credential after the scheme is scrubbed on its own too.
_COOKIE_VALUE = re.compile(r"(?:^|;)\s*[^=;\s]+=([^;]*)")
_AUTH_SCHEME = re.compile(r"^(?:bearer|basic|token|digest|apikey)\s+(\S+)$", re.IGNORECASE)


def is_secret_name(name: object) -> bool:
    """Whether a config key, header name or URL query parameter names a credential.

    >>> [is_secret_name(n) for n in ("api_key", "X-Auth-Signature", "Cookie", "max_tokens", "model")]
    [True, True, True, False, False]
    """
    for word in _WORD_SPLIT.split(str(name)):
        w = word.lower()
        if not w:
            continue
        if (
            w in _SECRET_WORDS
            or w.startswith(_SECRET_PREFIXES)
            or (len(w) > 3 and w.endswith(_SECRET_SUFFIXES))
        ):
            return True
    return False


def _is_secret_value(value: object) -> bool:
    return isinstance(value, str) and value not in _NOT_SECRET and value != REDACTED


def redact_url(url: str) -> str:
    """``url`` with its credentials replaced by ``***``: the password of ``user:password@`` (the user
    name when it stands alone: often a token) and query parameters named like credentials."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port: then the loose pattern below
    except ValueError:
        return _redact_url_loose(url)
    netloc = parts.netloc
    if "@" in netloc and host is not None:
        user, password = parts.username, parts.password
        hostport = netloc.rpartition("@")[2]
        if password:
            netloc = f"{quote(unquote(user or ''), safe='')}:{REDACTED}@{hostport}"
        elif user:
            netloc = f"{REDACTED}@{hostport}"
    query = parts.query
    if query:
        query = "&".join(_redact_query_item(item) for item in query.split("&"))
    fragment = parts.fragment
    if fragment and "=" in fragment:  # OAuth implicit flow: #access_token=...
        fragment = "&".join(_redact_query_item(item) for item in fragment.split("&"))
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_query_item(item: str) -> str:
    name, sep, value = item.partition("=")
    if sep and value and is_secret_name(unquote(name)) and unquote(value) not in _NOT_SECRET:
        return f"{name}={REDACTED}"
    return item


def _redact_url_loose(url: str) -> str:
    # A URL urlsplit rejects (a bad port...) may still carry credentials: cut them out by pattern.
    url = re.sub(r"(://[^/@\s:]*):[^/@\s]*@", rf"\1:{REDACTED}@", url)
    return re.sub(
        r"([?&#][^=&#\s]+)=([^&#\s]*)",
        lambda m: f"{m.group(1)}={REDACTED}" if is_secret_name(unquote(m.group(1)[1:])) else m.group(0),
        url,
    )


def _url_credentials(url: str) -> list[str]:
    """The secret pieces of a URL, as they may appear in text (raw and percent-decoded)."""
    out: list[str] = []
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return out
    if password:
        out += [password, unquote(password)]
        # what a client sends for user:password@ (Authorization: Basic ...)
        out.append(base64.b64encode(f"{unquote(user or '')}:{unquote(password)}".encode()).decode())
    elif user:
        out += [user, unquote(user)]
    for text in (parts.query, parts.fragment):
        for name, value in parse_qsl(text, keep_blank_values=True):
            if is_secret_name(name) and value not in _NOT_SECRET:
                out += [value, quote(value, safe=""), quote(value)]
    return out


# -- configs: split, merge, redact ----------------------------------------------------------------
def _split(value: Any, secret: bool) -> tuple[Any, Any]:
    """(public, secret mirror or None) of one node; ``secret``: the node sits under a secret name."""
    if isinstance(value, dict):
        public: dict[Any, Any] = {}
        hidden: dict[Any, Any] = {}
        for k, v in value.items():
            pub, sec = _split(v, secret or is_secret_name(k))
            public[k] = pub
            if sec is not None:
                hidden[k] = sec
        return public, (hidden or None)
    if isinstance(value, list | tuple):
        items = []
        hidden = {}
        for i, v in enumerate(value):
            pub, sec = _split(v, secret)
            items.append(pub)
            if sec is not None:
                hidden[str(i)] = sec  # str: the mirror goes through JSON (Celery messages)
        return items, (hidden or None)
    if secret and _is_secret_value(value):
        return REDACTED, value
    if isinstance(value, str) and "://" in value:
        redacted = _redact_urls_in(value)
        if redacted != value:
            return redacted, value
    return value, None


def split_secrets(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(public, secrets)``.

    ``public`` is ``config`` with every secret replaced (``***``, or the URL with its credentials
    redacted); ``secrets`` mirrors the tree of ``config`` holding only the real values that were
    replaced (e.g. ``{"api_key": "sk-...", "headers": {"Cookie": "..."}}``), JSON-ready.
    """
    public, secrets = _split(dict(config or {}), False)
    return public, secrets or {}


def redact_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it may be stored, written or returned: every secret redacted."""
    return split_secrets(config)[0]


def _restores(public: Any, real: Any) -> bool:
    # A secret only fills the place it was taken from: "***", or the same URL with credentials redacted.
    if public == REDACTED:
        return True
    return (
        isinstance(public, str)
        and isinstance(real, str)
        and "://" in real
        and _redact_urls_in(real) == public
    )


def _merge(public: Any, secrets: Any) -> Any:
    if isinstance(public, dict):
        given = secrets if isinstance(secrets, dict) else {}
        out: dict[Any, Any] = {}
        for k, v in public.items():
            if k in given:
                out[k] = _merge(v, given[k])
            elif v == REDACTED:
                continue  # its secret is gone (a restart): the field falls back to its default
            else:
                out[k] = _merge(v, None)
        return out
    if isinstance(public, list):
        given = secrets if isinstance(secrets, dict) else {}
        return [
            _merge(v, given.get(str(i)))
            for i, v in enumerate(public)
            if not (v == REDACTED and str(i) not in given)
        ]
    if secrets is not None and not isinstance(secrets, dict) and _restores(public, secrets):
        return secrets
    return public


def merge_secrets(public: dict[str, Any], secrets: dict[str, Any] | None) -> dict[str, Any]:
    """Inverse of :func:`split_secrets`.

    A redacted value whose secret is gone (after a restart) is dropped, so the field takes its
    default (``api_key`` -> none; a header is not sent) instead of sending ``***`` to the model.
    """
    return _merge(dict(public or {}), secrets or {})


# -- free text: logs, error messages, tracebacks --------------------------------------------------
def _leaves(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _leaves(node=v)
    elif isinstance(node, list | tuple):
        for v in node:
            yield from _leaves(v)
    elif node is not None and node != "":
        yield str(node)


def secret_values(secrets: dict[str, Any] | None) -> list[str]:
    """Every secret string held in ``secrets`` (a :func:`split_secrets` mirror), for scrubbing text.

    A URL contributes its credentials (they may be logged without the URL); ``Bearer sk-...``
    contributes ``sk-...`` as well.
    """
    out: list[str] = []
    for value in _leaves(secrets or {}):
        if "://" in value:
            for url in _URL_IN_TEXT.findall(value):
                out.extend(_url_credentials(url))
            continue
        out.append(value)
        m = _AUTH_SCHEME.match(value.strip())
        if m:
            out.append(m.group(1))
        # "sid=abc; theme=x" (a Cookie): each value may show up alone
        out.extend(v.strip() for v in _COOKIE_VALUE.findall(value))
    # Longest first so a key that contains another is scrubbed whole.
    return sorted({v for v in out if len(v) >= MIN_SCRUB_LENGTH and v != REDACTED}, key=len, reverse=True)


def config_secret_values(config: dict[str, Any]) -> list[str]:
    """The strings to scrub from text written while running ``config`` (an engine run alone)."""
    return secret_values(split_secrets(config)[1])


def scrub(text: str | None, values: Iterable[str] = ()) -> str | None:
    """``text`` with each of ``values`` replaced by ``***`` and the credentials of any URL in it redacted."""
    if not text:
        return text
    for value in values:
        if value:
            text = text.replace(value, REDACTED)
    return _redact_urls_in(text) if "://" in text else text


def _redact_urls_in(text: str) -> str:
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def redact_text(text: str | None) -> str | None:
    """``text`` with the credentials of any URL in it redacted (no known secret values needed)."""
    return scrub(text, ())


class ScrubFilter(logging.Filter):
    """A logging filter that removes secret values (and URL credentials) from every record: message,
    arguments and traceback. Put it on a handler: it then sees the records of every logger."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        super().__init__()
        self.values = list(values)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), self.values)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.values)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.values)
        return True


# -- secrets the service keeps: encrypted at rest, or only as a hash ---------------------------------
#: the variable holding the passphrase that encrypts stored secrets (and seals Celery messages)
SECRET_KEY_ENV = "EVALSCOPE_SECRET_KEY"


class SecretKeyError(ValueError):
    """A secret cannot be encrypted or decrypted here: no passphrase, another passphrase, or the
    ``cryptography`` package missing. The message names what to set or install."""


def _fernet(passphrase: str) -> Any:
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise SecretKeyError(
            "storing secrets needs the 'cryptography' package: pip install cryptography"
        ) from None
    import hashlib

    # Fernet (AES-128-CBC + HMAC-SHA256) wants 32 url-safe base64 bytes; any passphrase maps to one.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))


def encrypt_secret(value: str, passphrase: str | None) -> str:
    """``value`` encrypted under ``passphrase`` (a Fernet token); SecretKeyError without one."""
    if not passphrase:
        raise SecretKeyError(f"{SECRET_KEY_ENV} is not set: secrets are only stored encrypted with it")
    return str(_fernet(passphrase).encrypt(value.encode("utf-8")).decode("ascii"))


def decrypt_secret(token: str, passphrase: str | None) -> str:
    """Inverse of :func:`encrypt_secret`; SecretKeyError naming the variable when it cannot."""
    if not passphrase:
        raise SecretKeyError(f"{SECRET_KEY_ENV} is not set: the stored secret cannot be read")
    from cryptography.fernet import InvalidToken

    try:
        return str(_fernet(passphrase).decrypt(token.encode("ascii")).decode("utf-8"))
    except InvalidToken:
        raise SecretKeyError(
            f"{SECRET_KEY_ENV} is not the one the secret was stored with: it cannot be read"
        ) from None


def new_token(prefix: str = "evs_") -> str:
    """A new bearer token: 256 random bits, url-safe, with a recognisable prefix."""
    import os

    return prefix + base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def hash_token(token: str) -> str:
    """How a bearer token is stored: SHA-256 (hex). The tokens are 256 random bits, so a fast hash
    is enough (nothing to brute-force); the token itself is shown once and never kept."""
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()
