"""Conversation sources: ShareGPT files (one-turn and multi-turn), custom multi-turn JSONL, synthetic.

EvalScope's dataset names and behaviour (``evalscope/perf/plugin/datasets/share_gpt.py``,
``multi_turn.py``, ``custom.py`` of EvalScope 1.14.1):

- ``share_gpt_en`` / ``share_gpt_zh`` (one turn): each conversation becomes one request carrying its
  whole user/assistant history from the file and ending with a user message (a trailing assistant
  message is dropped); the length filter applies to that last user message.
- ``share_gpt_en_multi_turn`` / ``share_gpt_zh_multi_turn``: a session per conversation, one turn
  per non-empty user message (the file's assistant replies are discarded: the model's real replies
  take their place), at most ``--max-turns`` turns; the length filter applies to the first user
  message.
- ``custom_multi_turn``: one conversation per JSONL line, a JSON array of ``{"role", "content"}``
  messages (or an object with ``messages``); the assistant messages only mark where a turn ends,
  every other message is part of the next turn.
- ``random_multi_turn``: ``--min-turns``..``--max-turns`` turns (uniform), each user message of
  ``--min-prompt-length``..``--max-prompt-length`` tokens (uniform) of the tokenizer.

The language of ``share_gpt_en`` vs ``share_gpt_zh`` is the file's: EvalScope reads
``common_en_70k.jsonl`` or ``common_zh_70k.jsonl`` of the hub dataset ``swift/sharegpt`` and does not
look at the text. A given ``--dataset-path`` is read as it is. Both file shapes are read: swift's
JSONL (``conversation: [{"human", "assistant"}]``) and the original ShareGPT JSON or JSONL
(``conversations: [{"from": "human"|"gpt", "value"}]``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalscope.datasets.rows import RowReadError, read_jsonl
from evalscope.fieldnames import field_name
from evalscope.perf.arguments import MULTI_TURN_DATASETS, PerfArguments
from evalscope.perf.prompts import PromptSourceError

if TYPE_CHECKING:
    from evalscope.perf.prompts import Tokenizer

SHAREGPT_REPO = "swift/sharegpt"
SHAREGPT_FILES = {"en": "common_en_70k.jsonl", "zh": "common_zh_70k.jsonl"}
SHARE_GPT_DATASETS = ("share_gpt_en", "share_gpt_zh")
__all__ = ["MULTI_TURN_DATASETS", "SHARE_GPT_DATASETS", "load_conversations", "sharegpt_one_turn"]
#: how many distinct conversations a run holds at most (sessions cycle through them)
MAX_CONVERSATIONS = 100_000
#: synthetic turns generated at most (each costs a few tokenizer round trips)
MAX_RANDOM_TURNS = 20_000

_USER_ROLES = ("human", "user")
_ASSISTANT_ROLES = ("gpt", "assistant", "chatgpt", "bing", "bard", "model")

#: one message: (role, content)
Message = tuple[str, str]
#: one turn: the messages appended to the history before the request (usually one user message)
Turn = tuple[Message, ...]
#: one conversation: its turns in order
Conversation = tuple[Turn, ...]


#: a source that cannot produce conversations: the prompt sources' error, naming the setting to fix
ConversationError = PromptSourceError


def _lang(dataset: str) -> str:
    return "zh" if dataset.startswith("share_gpt_zh") else "en"


def sharegpt_path(args: PerfArguments) -> Path:
    """The ShareGPT file of ``args``: ``--dataset-path`` (a file, or a folder holding EvalScope's file or
    exactly one ``.json``/``.jsonl``), else EvalScope's file through the dataset folder, cache or hub."""
    name = SHAREGPT_FILES[_lang(args.dataset)]
    if args.dataset_path:
        p = Path(args.dataset_path)
        if p.is_dir():
            if (p / name).is_file():
                return p / name
            found = sorted(f for f in p.iterdir() if f.suffix in (".json", ".jsonl") and f.is_file())
            if len(found) != 1:
                raise ConversationError(
                    "dataset_path", f"{p} holds no {name} and not exactly one .json/.jsonl file"
                )
            return found[0]
        if not p.is_file():
            raise ConversationError("dataset_path", f"{p} does not exist")
        return p
    from evalscope.datasets import DatasetNotFoundError, fetch

    try:
        return fetch(SHAREGPT_REPO, name, dir_names=("sharegpt", "share_gpt"))
    except DatasetNotFoundError as exc:
        raise ConversationError(
            "dataset_path",
            f"{args.dataset} needs {SHAREGPT_REPO} {name}; download failed or offline ({exc}). "
            f"Set {field_name('dataset_path')} to a local ShareGPT file",
        ) from None


def _records(path: Path) -> list[Any]:
    """The records of a JSON array file or a JSON Lines file."""
    try:
        if path.suffix == ".json":
            with path.open(encoding="utf-8") as f:
                head = f.read(1)
                while head.isspace():
                    head = f.read(1)
            if head == "[":
                data = json.loads(path.read_text(encoding="utf-8"))
                return data if isinstance(data, list) else []
        return read_jsonl(path)
    except RowReadError as exc:
        raise ConversationError("dataset_path", str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConversationError("dataset_path", f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise ConversationError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None


def sharegpt_messages(record: Any) -> list[Message]:
    """One ShareGPT record as (role, text) messages, ``user``/``assistant`` only, empty texts dropped
    (swift's ``conversation`` or the original ``conversations`` shape)."""
    out: list[Message] = []
    if not isinstance(record, dict):
        return out
    swift = record.get("conversation")
    if isinstance(swift, list):
        for pair in swift:
            if not isinstance(pair, dict):
                continue
            human = str(pair.get("human") or "").strip()
            if not human:  # EvalScope skips the pair, reply included
                continue
            out.append(("user", human))
            reply = str(pair.get("assistant") or "").strip()
            if reply:
                out.append(("assistant", reply))
        return out
    turns = record.get("conversations")
    if isinstance(turns, list):
        for t in turns:
            if not isinstance(t, dict):
                continue
            who = str(t.get("from") or t.get("role") or "").lower()
            text = str(t.get("value") if t.get("value") is not None else t.get("content") or "").strip()
            if not text:
                continue
            if who in _USER_ROLES:
                out.append(("user", text))
            elif who in _ASSISTANT_ROLES and out:  # a reply before any question has nothing to answer
                out.append(("assistant", text))
    return out


def _length_ok(text: str, args: PerfArguments, tokenizer: Tokenizer | None) -> bool:
    if not args.min_prompt_length and args.max_prompt_length >= 131072:
        return True
    n = tokenizer.count(text) if tokenizer is not None else len(text)
    return args.min_prompt_length <= n <= args.max_prompt_length


def _none_left(args: PerfArguments, tokenizer: Tokenizer | None, what: str) -> ConversationError:
    if args.min_prompt_length or args.max_prompt_length < 131072:
        field = "min_prompt_length" if args.min_prompt_length else "max_prompt_length"
        unit = "tokens" if tokenizer else "characters"
        return ConversationError(
            field,
            f"no {what} is within the length limits ({field_name('min_prompt_length')} "
            f"{args.min_prompt_length}, {field_name('max_prompt_length')} {args.max_prompt_length} {unit})",
        )
    return ConversationError("dataset_path", f"the dataset has no {what}")


def sharegpt_one_turn(args: PerfArguments, tokenizer: Tokenizer | None = None) -> list[tuple[Message, ...]]:
    """``share_gpt_en`` / ``share_gpt_zh``: one message list per conversation (its history, ending with
    a user message), filtered on the length of that last user message."""
    out: list[tuple[Message, ...]] = []
    cap = min(MAX_CONVERSATIONS, max(args.number) + args.warmup_num)
    for record in _records(sharegpt_path(args)):
        msgs = sharegpt_messages(record)
        while msgs and msgs[-1][0] == "assistant":
            msgs.pop()
        if msgs and _length_ok(msgs[-1][1], args, tokenizer):
            out.append(tuple(msgs))
            if len(out) >= cap:
                break
    if not out:
        raise _none_left(args, tokenizer, "conversation")
    return out


def load_conversations(args: PerfArguments, tokenizer: Tokenizer | None = None) -> list[Conversation]:
    """The conversations of a multi-turn run (before cycling to ``--number`` sessions).

    Raises :class:`ConversationError` naming the flag when none can be produced.
    """
    if args.dataset == "random_multi_turn":
        return _random_conversations(args, tokenizer)
    cap = min(MAX_CONVERSATIONS, max(args.number) + args.warmup_num)
    if args.dataset == "custom_multi_turn":
        convs = _custom_conversations(args, tokenizer, cap)
    else:
        convs = []
        for record in _records(sharegpt_path(args)):
            humans = [text for role, text in sharegpt_messages(record) if role == "user"]
            if args.max_turns is not None:
                humans = humans[: args.max_turns]
            if humans and _length_ok(humans[0], args, tokenizer):
                convs.append(tuple((("user", h),) for h in humans))
                if len(convs) >= cap:
                    break
    if not convs:
        raise _none_left(args, tokenizer, "conversation")
    return _templated(convs, args)


def _templated(convs: list[Conversation], args: PerfArguments) -> list[Conversation]:
    """``--query-template`` with ``{prompt}`` applied to every user message (as for one-turn prompts)."""
    from evalscope.perf.arguments import load_prompt_arg

    template = load_prompt_arg(args.query_template)
    if not template or "{prompt}" not in template:
        return convs
    return [
        tuple(tuple((r, template.replace("{prompt}", c) if r == "user" else c) for r, c in t) for t in conv)
        for conv in convs
    ]


def _content(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return None


def _custom_conversations(args: PerfArguments, tokenizer: Tokenizer | None, cap: int) -> list[Conversation]:
    path = Path(args.dataset_path or "")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConversationError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConversationError("dataset_path", f"{path} is not UTF-8 text ({exc.reason})") from None
    convs: list[Conversation] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConversationError(
                "dataset_path", f"{path} line {lineno}: not valid JSON ({exc.msg})"
            ) from None
        messages = row.get("messages") if isinstance(row, dict) else row
        if not isinstance(messages, list) or not messages:
            raise ConversationError(
                "dataset_path",
                f"{path} line {lineno}: expected a JSON array of messages (or an object with 'messages')",
            )
        turns: list[Turn] = []
        current: list[Message] = []
        for m in messages:
            content = _content(m.get("content")) if isinstance(m, dict) else None
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or content is None:
                raise ConversationError(
                    "dataset_path", f"{path} line {lineno}: every message needs a 'role' and a text 'content'"
                )
            if m["role"] == "assistant":  # a turn boundary; the model's real reply takes its place
                if current:
                    turns.append(tuple(current))
                    current = []
            else:
                current.append((m["role"], content))
        if current:
            turns.append(tuple(current))
        if args.max_turns is not None:
            turns = turns[: args.max_turns]
        if not turns:
            continue
        first_user = next((c for r, c in turns[0] if r == "user"), None)
        if first_user is None or _length_ok(first_user, args, tokenizer):
            convs.append(tuple(turns))
            if len(convs) >= cap:
                break
    return convs


def _random_conversations(args: PerfArguments, tokenizer: Tokenizer | None) -> list[Conversation]:
    if tokenizer is None:
        raise ConversationError("tokenizer_path", "dataset 'random_multi_turn' needs a tokenizer")
    max_turns = args.max_turns or args.min_turns
    rng = random.Random(args.seed if args.seed is not None else 0)
    lo = max(1, args.min_prompt_length)
    hi = max(lo, min(args.max_prompt_length, 1 << 20))
    want = max(args.number) + args.warmup_num
    n_convs = max(1, min(want, 1024, MAX_RANDOM_TURNS // max_turns))
    convs: list[Conversation] = []
    for _ in range(n_convs):
        n_turns = rng.randint(args.min_turns, max_turns)
        turns = []
        for _ in range(n_turns):
            text, _n = tokenizer.random_text(rng.randint(lo, hi), rng)
            turns.append((("user", text),))
        convs.append(tuple(turns))
    return _templated(convs, args)
