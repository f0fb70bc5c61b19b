"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_datasets_dir() -> Path | None:
    env = os.environ.get("EVALSCOPE_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "datasets")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The real benchmark data in ../shared/datasets (or $EVALSCOPE_TEST_DATA), else skip."""
    path = _shared_datasets_dir()
    if path is None:
        pytest.skip(
            "real benchmark data not found: set EVALSCOPE_TEST_DATA or place it at ../shared/datasets"
        )
    return path


@pytest.fixture
def mock_server():
    """Factory: ``mock_server(**MockConfig fields)`` -> a started thread-mode MockServer, stopped at teardown."""
    from evalscope.mock import MockConfig, MockServer

    servers: list[MockServer] = []

    def start(**fields) -> MockServer:
        server = MockServer(MockConfig(**fields)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def dead_port():
    """A loopback port nothing listens on: bound (so no one else takes it) but never listening, so every
    connection to it is refused at once."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def evalscope_cli():
    """``evalscope_cli("perf", "--model", ...)``: the command line as a user runs it, in a subprocess
    (``python -m evalscope``), with its exit code and its stdout/stderr as text."""

    def run(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "evalscope", *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    return run


WORDS = [f"w{i}" for i in range(200)]


@pytest.fixture
def word_tokenizer(tmp_path):
    """A WordLevel tokenizer over ``w0..w199`` whose tokens the mock also counts one each."""
    from tokenizers import Tokenizer, decoders
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.add_special_tokens(["[UNK]"])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    d = tmp_path / "tok"
    d.mkdir()
    tok.save(str(d / "tokenizer.json"))
    return d


@pytest.fixture(scope="session")
def bwrap_ready() -> None:
    """Skip (with bwrap's own reason) where the code sandbox cannot run: no bwrap, no namespaces."""
    from evalscope.sandbox import SandboxUnavailable, check_available

    try:
        check_available("bwrap")
    except SandboxUnavailable as exc:
        pytest.skip(f"the bwrap sandbox cannot run here: {exc.message}")
