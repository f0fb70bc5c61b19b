"""Prompt sources for ``--dataset``: each yields chat message lists or plain prompts to send.

A source returns a list of :class:`PromptItem`; the run cycles through it when ``--number`` is
larger. Length filters count characters, or tokens when ``--tokenizer-path`` is given.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalscope.datasets.rows import RowReadError, read_jsonl
from evalscope.fieldnames import field_name
from evalscope.perf.arguments import PerfArguments, load_prompt_arg

OPENQA_REPO = "AI-ModelScope/HC3-Chinese"
OPENQA_FILE = "open_qa.jsonl"
#: speed_benchmark's fixed input lengths (tokens) and the filler that is about one token each
SPEED_LENGTHS = (1, 6144, 14336, 30720)
SPEED_FILLER = "熵"


class PromptSourceError(ValueError):
    """A prompt source that cannot produce prompts; the message names the setting to fix (``field``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field_name(field)}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # crosses process boundaries (workers)
        return type(self), (self.field, self.reason)


@dataclass(frozen=True)
class PromptItem:
    """One request's input: ``messages`` for chat APIs or ``prompt`` text (plus its known token count)."""

    messages: tuple[tuple[str, str], ...] | None = None
    prompt: str | None = None
    input_tokens: int | None = None
    #: exactly this many output tokens (max_tokens = min_tokens, ignore_eos): trace replay
    output_tokens: int | None = None
    #: a whole request body (JSON text) sent as it is: EvalScope's workload_trace rows
    body: str | None = None

    def as_messages(self) -> list[dict[str, Any]]:
        if self.messages is not None:
            return [{"role": r, "content": c} for r, c in self.messages]
        return [{"role": "user", "content": self.prompt or ""}]

    def as_text(self) -> str:
        if self.prompt is not None:
            return self.prompt
        return "\n".join(c for _, c in self.messages or ())


class Tokenizer:
    """A local Hugging Face tokenizer (``tokenizer.json``) read with the ``tokenizers`` library."""

    def __init__(self, path: str) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        p = Path(path)
        file = p / "tokenizer.json" if p.is_dir() else p
        if not file.is_file():
            raise PromptSourceError("tokenizer_path", f"no tokenizer.json at {path}")
        try:
            self._tok = HFTokenizer.from_file(str(file))
        except Exception as exc:  # the library raises a bare Exception on a bad file
            raise PromptSourceError("tokenizer_path", f"cannot read {file}: {exc}") from None
        special = set(self._tok.get_added_tokens_decoder().keys())
        self.usable_ids = [i for i in range(self._tok.get_vocab_size()) if i not in special]
        if not self.usable_ids:
            raise PromptSourceError("tokenizer_path", f"{file} has no ordinary tokens")

    def count(self, text: str) -> int:
        """Tokens in ``text`` (no special tokens added)."""
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_batch(self, texts: list[str]) -> list[int]:
        """Token counts of many texts at once (the library parallelises this)."""
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=True)

    def random_ids(self, n: int, rng: random.Random) -> list[int]:
        """``n`` random ordinary token ids."""
        return [rng.choice(self.usable_ids) for _ in range(n)]

    def random_text(self, n: int, rng: random.Random, prefix: list[int] | None = None) -> tuple[str, int]:
        """Text of exactly ``n`` tokens (``prefix`` ids first) when the tokenizer allows it.

        Decoding random ids and encoding the text again can merge or split tokens, so the tail
        after the prefix is re-read and topped up or trimmed until the count matches (a few rounds
        at most); returns the text and its real count.
        """
        prefix = list(prefix or [])
        if n <= 0:
            return "", 0
        ids = prefix + self.random_ids(max(0, n - len(prefix)), rng)
        text = self.decode(ids)
        count = self.count(text)
        for _ in range(16):
            if count == n:
                break
            ids = self.encode(text)
            if count > n:
                ids = ids[: max(n, len(prefix))]
            else:
                ids += self.random_ids(n - count, rng)
            text = self.decode(ids)
            count = self.count(text)
        return text, count


def _read_jsonl(path: Path, field: str) -> list[dict[str, Any]]:
    try:
        return read_jsonl(path)
    except RowReadError as exc:
        raise PromptSourceError(field, str(exc)) from None
    except OSError as exc:
        raise PromptSourceError(field, f"cannot read {path}: {exc.strerror or exc}") from None


def _openqa_path(args: PerfArguments) -> Path:
    if args.dataset_path:
        p = Path(args.dataset_path)
        if p.is_dir():
            p = p / OPENQA_FILE
        if not p.is_file():
            raise PromptSourceError("dataset_path", f"{p} does not exist")
        return p
    try:
        from evalscope.datasets import DatasetNotFoundError, fetch
    except ImportError:  # pragma: no cover - the datasets layer ships with the package
        raise PromptSourceError("dataset_path", f"pass a local copy of {OPENQA_FILE}") from None
    try:
        return fetch(OPENQA_REPO, OPENQA_FILE, dir_names=("openqa", "HC3-Chinese"))
    except DatasetNotFoundError as exc:
        raise PromptSourceError(
            "dataset_path",
            f"openqa needs HC3-Chinese {OPENQA_FILE}; download failed or offline ({exc}). "
            f"Set {field_name('dataset_path')} to a local copy of {OPENQA_FILE}, or put it in the dataset "
            f"folder as openqa/{OPENQA_FILE}",
        ) from None


def _texts_for(args: PerfArguments) -> list[PromptItem]:
    if args.dataset == "openqa":
        rows = _read_jsonl(_openqa_path(args), "dataset_path")
        return [PromptItem(prompt=str(r["question"])) for r in rows if r.get("question")]
    if args.dataset == "line_by_line":
        path = Path(args.dataset_path or "")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PromptSourceError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
        return [PromptItem(prompt=line) for line in (s.strip() for s in lines) if line]
    if args.dataset == "custom":
        items = []
        for i, row in enumerate(_read_jsonl(Path(args.dataset_path or ""), "dataset_path"), 1):
            if isinstance(row.get("messages"), list):
                msgs = tuple(
                    (str(m.get("role", "user")), _content(m.get("content"))) for m in row["messages"]
                )
                items.append(PromptItem(messages=msgs))
            elif isinstance(row.get("prompt"), str):
                items.append(PromptItem(prompt=row["prompt"]))
            elif isinstance(row.get("question"), str):
                items.append(PromptItem(prompt=row["question"]))
            else:
                raise PromptSourceError("dataset_path", f"line {i} has neither 'prompt' nor 'messages'")
        return items
    if args.dataset == "embedding":
        return _embedding_texts(Path(args.dataset_path or ""))
    if args.dataset == "rerank":
        return _rerank_pairs(Path(args.dataset_path or ""))
    raise AssertionError(args.dataset)


#: the fields EvalScope's ``rerank`` dataset reads the documents from, in order
RERANK_DOC_FIELDS = ("documents", "passages", "texts")


def rerank_item(query: str, documents: list[str]) -> PromptItem:
    """A rerank request's input as messages: the query first, then one message per document (the
    shape EvalScope's rerank API plugin reads, and what the rerank adapter turns into its body)."""
    return PromptItem(messages=(("query", query), *(("document", d) for d in documents)))


def _rerank_pairs(path: Path) -> list[PromptItem]:
    """EvalScope's ``rerank`` dataset: a ``.json`` list, or ``.jsonl``/``.txt`` lines, of objects with
    ``query`` and ``documents`` (or ``passages`` / ``texts``: strings, or objects with ``text``)."""
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PromptSourceError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PromptSourceError("dataset_path", f"{path} is not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise PromptSourceError("dataset_path", f"{path} must hold a JSON list of query and documents")
        rows: list[Any] = data
    else:
        rows = _read_jsonl(path, "dataset_path")
    items = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row["query"]:
            continue
        docs = next((row[k] for k in RERANK_DOC_FIELDS if row.get(k)), None)
        if isinstance(docs, str):
            docs = [docs]
        if not isinstance(docs, list):
            continue
        found = [d.get("text") if isinstance(d, dict) else d for d in docs]
        texts = [t for t in found if isinstance(t, str)]
        if texts:
            items.append(rerank_item(row["query"], texts))
    return items


#: the fields EvalScope's ``embedding`` dataset reads a text from, in order
EMBEDDING_FIELDS = ("text", "input", "sentence", "content")


def _embedding_texts(path: Path) -> list[PromptItem]:
    """EvalScope's ``embedding`` dataset: a ``.txt`` file (one text a line) or JSON Lines / a JSON list
    of strings or of objects with a ``text``/``input``/``sentence``/``content`` field."""
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PromptSourceError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PromptSourceError("dataset_path", f"{path} is not valid JSON: {exc}") from None
        rows: list[Any] = data if isinstance(data, list) else []
    elif path.suffix == ".jsonl":
        rows = _read_jsonl(path, "dataset_path")
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PromptSourceError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
        return [PromptItem(prompt=line) for line in (s.strip() for s in lines) if line]
    items = []
    for row in rows:
        text = row if isinstance(row, str) else None
        if isinstance(row, dict):
            text = next((row[k] for k in EMBEDDING_FIELDS if isinstance(row.get(k), str) and row[k]), None)
        if text and text.strip():
            items.append(PromptItem(prompt=text.strip()))
    return items


def _text_arg(args: PerfArguments, name: str) -> str | None:
    """``prompt``/``query_template``: inline text, or the text of the ``@file`` it names."""
    try:
        return load_prompt_arg(getattr(args, name))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PromptSourceError(name, f"cannot read {getattr(args, name)[1:]}: {reason}") from None


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _apply_template(items: list[PromptItem], template: str | None) -> list[PromptItem]:
    if not template or "{prompt}" not in template:
        return items
    out = []
    for it in items:
        if it.messages is not None:
            msgs = tuple((r, template.replace("{prompt}", c) if r == "user" else c) for r, c in it.messages)
            out.append(PromptItem(messages=msgs))
        else:
            out.append(PromptItem(prompt=template.replace("{prompt}", it.prompt or "")))
    return out


def load_prompts(args: PerfArguments, tokenizer: Tokenizer | None = None) -> list[PromptItem]:
    """The prompts for ``args`` (before cycling to ``--number``), filtered by length.

    Raises :class:`PromptSourceError` naming the flag when no prompt can be produced.
    """
    rng = random.Random(args.seed if args.seed is not None else 0)
    prompt = _text_arg(args, "prompt")
    if prompt is not None:
        items = [PromptItem(prompt=prompt)]
    elif args.dataset in ("random", "random_embedding"):
        if tokenizer is None:
            raise PromptSourceError("tokenizer_path", f"dataset {args.dataset!r} needs a tokenizer")
        # EvalScope's prefix groups: prefix_count distinct prefixes of prefix_length tokens, prompt j
        # gets prefix j % prefix_count, then its own drawn length (the prompt is prefix + that)
        prefixes = [tokenizer.random_ids(args.prefix_length, rng) for _ in range(args.prefix_count)]
        lo = max(1, args.min_prompt_length)
        hi = max(lo, min(args.max_prompt_length, 1 << 20))
        items = []
        n_unique = min(max(args.number), 1024)
        for j in range(n_unique):
            target = rng.randint(lo, hi) if hi > lo else lo
            prefix = prefixes[j % len(prefixes)]
            text, count = tokenizer.random_text(len(prefix) + target, rng, prefix)
            items.append(PromptItem(prompt=text, input_tokens=count))
        return items
    elif args.dataset == "random_rerank":
        if tokenizer is None:
            raise PromptSourceError("tokenizer_path", "dataset 'random_rerank' needs a tokenizer")
        return _random_rerank(args, tokenizer, rng)
    elif args.dataset == "speed_benchmark":
        return [
            PromptItem(prompt=SPEED_FILLER * max(1, n - 1) if n > 1 else SPEED_FILLER) for n in SPEED_LENGTHS
        ]
    elif args.dataset in ("share_gpt_en", "share_gpt_zh"):
        # EvalScope filters on the last user message, not the whole history (done in the reader)
        from evalscope.perf.conversations import sharegpt_one_turn

        items = [PromptItem(messages=m) for m in sharegpt_one_turn(args, tokenizer)]
        return _apply_template(items, _text_arg(args, "query_template"))
    elif args.multi_turn:
        raise PromptSourceError("multi_turn", "sessions come from load_conversations, not load_prompts")
    else:
        items = _texts_for(args)
    items = _apply_template(items, _text_arg(args, "query_template"))
    if args.min_prompt_length or args.max_prompt_length < 131072:
        texts = [it.as_text() for it in items]
        lengths = tokenizer.count_batch(texts) if tokenizer else [len(t) for t in texts]
        items = [
            it
            for it, n in zip(items, lengths, strict=True)
            if args.min_prompt_length <= n <= args.max_prompt_length
        ]
    if not items:
        if args.min_prompt_length or args.max_prompt_length < 131072:
            field = "min_prompt_length" if args.min_prompt_length else "max_prompt_length"
            unit = "tokens" if tokenizer else "characters"
            raise PromptSourceError(
                field,
                f"no prompt of the dataset is within the length limits "
                f"({field_name('min_prompt_length')} {args.min_prompt_length}, "
                f"{field_name('max_prompt_length')} {args.max_prompt_length} {unit})",
            )
        raise PromptSourceError("dataset_path", "the dataset has no prompts")
    return items


def _random_rerank(args: PerfArguments, tokenizer: Tokenizer, rng: random.Random) -> list[PromptItem]:
    """EvalScope's ``random_rerank``: a query of ``min..max_prompt_length`` tokens and
    ``extra_args.num_documents`` (10) documents of ``document_length_ratio`` (5) times its length each."""
    n_docs = int(args.extra_args.get("num_documents", 10))
    ratio = float(args.extra_args.get("document_length_ratio", 5))
    lo = max(1, args.min_prompt_length)
    hi = max(lo, min(args.max_prompt_length, 1 << 20))
    # distinct queries, cycled over --number; bounded so building them stays short before the clock starts
    n_unique = max(1, min(max(args.number), 1024, 4096 // n_docs))
    items = []
    for _ in range(n_unique):
        q_len = rng.randint(lo, hi) if hi > lo else lo
        d_len = min(max(1, int(q_len * ratio)), 1 << 20)
        query, _ = tokenizer.random_text(q_len, rng)
        docs = [tokenizer.random_text(d_len, rng)[0] for _ in range(n_docs)]
        items.append(rerank_item(query, docs))
    return items


#: prompt files up to this size are read and filtered at submission (``check_prompts``)
CHECK_MAX_BYTES = 16 * 1024 * 1024


def check_prompts(args: PerfArguments) -> list[tuple[str, str]]:
    """Problems with the prompts of a run, found before it is queued, as ``(field, reason)``.

    A local prompt file (``line_by_line``, ``custom``, ``openqa`` with ``dataset_path``) of up to
    :data:`CHECK_MAX_BYTES` is read and length-filtered as the run will, so a file without prompts or
    filters that leave none are refused at once. Bigger files, token-counted filters (a tokenizer would
    be loaded) and hub data are left to the run.
    """
    if args.prompt is not None or args.tokenizer_path or not args.dataset_path:
        return []
    if args.dataset not in ("line_by_line", "custom", "openqa"):
        return []
    path = Path(args.dataset_path)
    if args.dataset == "openqa" and path.is_dir():
        path = path / OPENQA_FILE
    try:
        if path.stat().st_size > CHECK_MAX_BYTES:
            return []
        load_prompts(args)
    except PromptSourceError as exc:
        return [(exc.field, exc.reason)]
    except OSError as exc:
        return [("dataset_path", f"cannot read {path}: {exc.strerror or exc}")]
    return []
