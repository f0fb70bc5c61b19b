"""Path-valued config fields: one declared type, so every such field is checked and confined alike.

A config model declares a field that names a local file or folder with one of the types below
(``LocalPath``, ``OutputDir``, ``RunDir``, ``HubIdOrPath``, ``TextOrFile``). The type carries a
:class:`PathMarker`; validation rejects what no file system accepts (a null byte, over-long names),
and :func:`marked_values` walks a validated model (nested models and dicts of models too) and yields
every marked value with its dotted field name. The service confines each of them to its folders
(``evalscope.service.bodies``) without a list of field names, so a new field declared with these
types cannot escape, and a test checks that every path-like field carries a marker.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel

#: the longest path and path component most file systems accept (PATH_MAX, NAME_MAX), in bytes
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
# A hub dataset id: "name" or "owner/name" of plain characters, never "." or ".." (those are paths).
_HUB_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?")


def check_path_text(value: str) -> str:
    """``value`` when a file system could accept it as a path; else ValueError saying why."""
    if "\x00" in value:
        raise ValueError("a path cannot contain a null byte")
    raw = value.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_PATH_BYTES:
        raise ValueError(f"path too long ({len(raw)} bytes, at most {MAX_PATH_BYTES})")
    longest = max((len(p.encode("utf-8", "surrogateescape")) for p in re.split(r"[/\\]", value)), default=0)
    if longest > MAX_NAME_BYTES:
        raise ValueError(
            f"a file or folder name in the path is too long ({longest} bytes, at most {MAX_NAME_BYTES})"
        )
    return value


def looks_like_hub_id(value: str) -> bool:
    """True for ``name`` or ``owner/name`` (a dataset on a hub), False for anything path-like."""
    return bool(_HUB_ID.fullmatch(value)) and ".." not in value.split("/")


@dataclass(frozen=True)
class PathMarker:
    """Says that a string field names a local file or folder, and how.

    ``kind``: ``local`` (always a path), ``hub_or_local`` (a hub id such as ``owner/name``, else a
    path), ``text_or_file`` (inline text, or ``@path`` to read the text from a file).
    ``role``: ``data`` (read; must exist), ``output`` (a folder written to; the service's work dir
    only), ``run`` (the folder of a previous run, read and copied).
    ``expect``: what must exist there for ``data``: ``file``, ``dir`` or ``any``.
    """

    kind: Literal["local", "hub_or_local", "text_or_file"] = "local"
    role: Literal["data", "output", "run"] = "data"
    expect: Literal["file", "dir", "any"] = "any"

    def local_part(self, value: str) -> str | None:
        """The local path ``value`` names, or None when it names none (a hub id, inline text)."""
        if self.kind == "text_or_file":
            return value[1:] if value.startswith("@") else None
        if self.kind == "hub_or_local" and looks_like_hub_id(value):
            return None
        return value

    def with_path(self, value: str, path: str) -> str:
        """``value`` with its local part replaced by ``path`` (the checked absolute path)."""
        return "@" + path if self.kind == "text_or_file" else path

    def check(self, value: str) -> str:
        """Pydantic validator: the local part must be a path a file system accepts."""
        part = self.local_part(value)
        if part is not None:
            if self.kind == "text_or_file" and not part.strip():
                raise ValueError("'@' must be followed by the path of a file")
            check_path_text(part)
        return value


def _marked(marker: PathMarker) -> Any:
    return Annotated[str, AfterValidator(marker.check), marker]


#: a local file or folder that is read
LocalPath = _marked(PathMarker())
#: a local file that is read
LocalFile = _marked(PathMarker(expect="file"))
#: a local folder that is read
LocalDir = _marked(PathMarker(expect="dir"))
#: a folder that is written to (the service keeps it inside its work dir)
OutputDir = _marked(PathMarker(role="output", expect="dir"))
#: the folder of a previous run (it holds config.json)
RunDir = _marked(PathMarker(role="run", expect="dir"))
#: a hub dataset id (``owner/name``) or a local file or folder
HubIdOrPath = _marked(PathMarker(kind="hub_or_local"))
#: inline text, or ``@path`` of a local file holding it
TextOrFile = _marked(PathMarker(kind="text_or_file", expect="file"))


def _markers_of(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> list[PathMarker]:
    found = [m for m in metadata if isinstance(m, PathMarker)]
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *meta = typing.get_args(annotation)
        return found + _markers_of(base, meta)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found += _markers_of(arg)
    return found


def _walk(
    loc: str, annotation: Any, metadata: list[Any], value: Any
) -> Iterator[tuple[str, PathMarker, str]]:
    if value is None:
        return
    if isinstance(value, BaseModel):
        yield from marked_values(value, loc + ".")
        return
    if isinstance(value, str):
        markers = _markers_of(annotation, metadata)
        if markers:
            yield loc, markers[0], value
        return
    # containers: find the item annotation (inside Optional/Annotated) and walk the items
    inner = annotation
    while typing.get_origin(inner) in (Annotated, Union, types.UnionType):
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        inner = (
            args[0]
            if typing.get_origin(inner) is Annotated or len(args) == 1
            else next((a for a in args if typing.get_origin(a) in (dict, list, tuple)), args[0])
        )
    item_args = typing.get_args(inner)
    if isinstance(value, dict) and item_args:
        for key, item in value.items():
            yield from _walk(f"{loc}.{key}", item_args[-1], [], item)
    elif isinstance(value, list | tuple) and item_args:
        for i, item in enumerate(value):
            yield from _walk(f"{loc}.{i}", item_args[0], [], item)


def marked_values(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, PathMarker, str]]:
    """Every string value of ``model`` whose field carries a :class:`PathMarker`, as
    ``(dotted field name, marker, value)``; nested models, dicts and lists are walked too."""
    for name, info in type(model).model_fields.items():
        yield from _walk(prefix + name, info.annotation, list(info.metadata), getattr(model, name, None))


def field_markers(model_cls: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, PathMarker | None]]:
    """Every leaf field of ``model_cls`` (nested model classes expanded, dict keys as ``*``) with its
    marker or None; for tests that make sure no path-like field lacks one."""
    for name, info in model_cls.model_fields.items():
        yield from _fields(prefix + name, info.annotation, list(info.metadata))


def _fields(loc: str, annotation: Any, metadata: list[Any]) -> Iterator[tuple[str, PathMarker | None]]:
    markers = _markers_of(annotation, metadata)
    nested = [a for a in _leaves(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    for cls in nested:
        yield from field_markers(cls, loc + ".")
    containers = [a for a in _leaves(annotation) if typing.get_origin(a) in (dict, list, tuple)]
    for c in containers:
        args = typing.get_args(c)
        if args:
            item = args[-1] if typing.get_origin(c) is dict else args[0]
            yield from _fields(f"{loc}.*", item, [])
    if not nested and not containers:
        yield loc, (markers[0] if markers else None)


def _leaves(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [leaf for a in typing.get_args(annotation) for leaf in _leaves(a)]
    return [annotation]
