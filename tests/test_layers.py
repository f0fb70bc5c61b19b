"""The package's layers: a module imports only its own layer or a lower one (docs/architecture.md).

Every module under ``evalscope/`` is parsed (never imported) and every import it can make is
collected: module-level and function-level ``import`` / ``from ... import`` (``TYPE_CHECKING`` ones
too: a type is a dependency), ``importlib.import_module("...")`` and ``__import__("...")`` with a
literal name, ``"package.module:function"`` targets that a worker imports, and names reached through
a package's lazy-export table (``from evalscope.eval import run_task`` is an import of the module
the table points to).

Layers, low to high:

0. base: ``evalscope/{__init__,_lazy,_cpus,errors,fsio,limits,paths,fieldnames,secrets,
   upstream_fields,rundir,settings,gates,slo}.py``
1. ``evalscope/client/``, ``evalscope/datasets/``, ``evalscope/sandbox/``
2. engines: ``evalscope/eval/``, ``evalscope/perf/`` (they never import each other)
3. ``evalscope/report/``, ``evalscope/remote/`` (the service's typed client; they never import each other)
4. ``evalscope/jobs/`` (and no FastAPI there)
5. ``evalscope/service/``
6. entry modules: ``evalscope/cli.py``, ``evalscope/__main__.py``, ``evalscope/*/cli.py``,
   ``evalscope/eval/api.py``, ``evalscope/perf/api.py``

``evalscope/mock/`` is a side package: it imports base and client only, and only entry modules import it.
A package's ``__init__`` may list its own entry module in its lazy-export table (``evalscope.eval``
exports ``run_task`` from ``evalscope.eval.api``): the export is resolved when it is used, by the user.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BASE_MODULES = {
    f"evalscope.{m}"
    for m in (
        "_lazy",
        "_cpus",
        "errors",
        "fsio",
        "limits",
        "paths",
        "fieldnames",
        "secrets",
        "upstream_fields",
        "rundir",
        "settings",
        "gates",
        "slo",
    )
} | {"evalscope"}
PACKAGE_LAYERS = {
    "client": 1,
    "datasets": 1,
    "sandbox": 1,
    "eval": 2,
    "perf": 2,
    "report": 3,
    "jobs": 4,
    "service": 5,
}
#: remote/ (the service's typed client) sits above the engines (it validates TaskConfig / PerfArguments
#: before sending them), beside report/ and below jobs/ and service/: a CI machine needs neither.
PACKAGE_LAYERS["remote"] = 3
ENTRY_MODULES = {"evalscope.cli", "evalscope.__main__", "evalscope.eval.api", "evalscope.perf.api"}
ENTRY = 6
MOCK = "mock"
#: Same rank, yet never importing each other.
SIBLINGS = {frozenset({"eval", "perf"}), frozenset({"report", "remote"})}
#: Third-party packages a layer must not import, with the reason.
FORBIDDEN_THIRD_PARTY = {"jobs": ("fastapi", "starlette")}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported evalscope module (or a third-party top-level name)
    line: int
    how: str  # import / lazy export / import_module / "module:function"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / "evalscope").rglob("*.py"))}


def is_entry(name: str) -> bool:
    return name in ENTRY_MODULES or (name.count(".") == 2 and name.endswith(".cli"))


def group(name: str) -> str:
    """``base``, ``entry``, or the sub-package's name (``eval``, ``jobs``, ``mock`` ...)."""
    if is_entry(name):
        return "entry"
    if name in BASE_MODULES:
        return "base"
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or parts[1] in PACKAGE_LAYERS or parts[1] == MOCK else "unlisted"


def rank(name: str) -> int:
    g = group(name)
    return {"base": 0, "entry": ENTRY, MOCK: 1}.get(g, PACKAGE_LAYERS.get(g, 0))


def lazy_table(tree: ast.Module) -> dict[str, str]:
    """``name -> module`` from a ``lazy_exports(__name__, {...})`` call (``**dict.fromkeys(...)`` included)."""
    table: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "lazy_exports"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Dict)
        ):
            continue
        for key, value in zip(node.args[1].keys, node.args[1].values, strict=True):
            if (
                key is None and isinstance(value, ast.Call) and len(value.args) == 2
            ):  # **dict.fromkeys(names, mod)
                names, mod = value.args
                if isinstance(names, ast.Tuple | ast.List) and isinstance(mod, ast.Constant):
                    table.update(
                        {str(n.value): str(mod.value) for n in names.elts if isinstance(n, ast.Constant)}
                    )
            elif isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                table[str(key.value)] = str(value.value)
    return table


def _absolute(source: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    parts = source.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def collect(mods: dict[str, Path]) -> list[Import]:
    trees = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in mods.items()}
    tables = {name: lazy_table(tree) for name, tree in trees.items() if mods[name].name == "__init__.py"}

    def resolve(package: str, attr: str) -> str:
        """What ``from package import attr`` imports: a submodule, a lazily exported module, or the package."""
        if f"{package}.{attr}" in mods:
            return f"{package}.{attr}"
        return tables.get(package, {}).get(attr, package)

    found: list[Import] = []
    for source, tree in trees.items():
        is_package = mods[source].name == "__init__.py"

        def add(target: str, line: int, how: str, _source: str = source) -> None:
            found.append(Import(_source, target, line, how))

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node.lineno, "import")
            elif isinstance(node, ast.ImportFrom):
                package = _absolute(source, is_package, node.level, node.module)
                for alias in node.names:
                    add(
                        resolve(package, alias.name) if package.startswith("evalscope") else package,
                        node.lineno,
                        "import",
                    )
            elif (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                func = node.func
                fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if fname in ("import_module", "__import__"):
                    add(node.args[0].value, node.lineno, fname)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                mod, sep, attr = text.partition(":")
                if sep and mod in mods and attr.isidentifier():
                    add(mod, node.lineno, '"module:function"')
        for attr, target in tables.get(source, {}).items():
            if not is_entry(target) or not target.startswith(source + "."):
                add(target, 0, f"lazy export {attr}")
    return found


def violation(imp: Import, mods: dict[str, Path]) -> str | None:
    """Why this import breaks the layering, or None."""
    src_group = group(imp.source)
    top = imp.target.split(".")[0]
    if top != "evalscope":
        banned = FORBIDDEN_THIRD_PARTY.get(src_group, ())
        return f"{src_group}/ must not import {top}" if top in banned else None
    target = imp.target
    dst_group = group(target)
    if src_group == dst_group or target == imp.source:
        return None
    if src_group == MOCK:
        return None if dst_group in ("base", "client") else "mock/ imports base and client only"
    if dst_group == MOCK:
        return None if src_group == "entry" else "only entry modules import mock/"
    if frozenset({src_group, dst_group}) in SIBLINGS:
        return f"{src_group}/ and {dst_group}/ never import each other"
    if rank(target) > rank(imp.source):
        return f"layer {rank(imp.source)} ({src_group}) imports layer {rank(target)} ({dst_group})"
    return None


def test_every_module_has_a_layer():
    unlisted = [name for name in modules() if group(name) == "unlisted"]
    assert not unlisted, (
        f"top-level modules in no layer (add them to BASE_MODULES or ENTRY_MODULES): {unlisted}"
    )


def test_no_import_goes_up_a_layer():
    mods = modules()
    problems = set()
    for imp in collect(mods):
        why = violation(imp, mods)
        if why:
            where = mods[imp.source].relative_to(ROOT).as_posix() + (f":{imp.line}" if imp.line else "")
            problems.add(f"{where}: {imp.source} -> {imp.target} ({imp.how}): {why}")
    assert not problems, "imports that go up a layer:\n" + "\n".join(sorted(problems))


# The checker itself, on small made-up packages: each rule catches what it should.
@pytest.mark.parametrize(
    "source, target, bad",
    [
        ("evalscope.eval.runner", "evalscope.report.page", True),  # engine -> report
        ("evalscope.eval.runner", "evalscope.perf.metrics", True),  # engine -> other engine
        ("evalscope.jobs.engines", "evalscope.report.page", False),  # jobs -> report
        ("evalscope.jobs.celery.routes", "evalscope.service.errors", True),
        ("evalscope.jobs.celery.routes", "fastapi", True),  # no FastAPI in jobs/
        ("evalscope.service.app", "fastapi", False),
        ("evalscope.service.app", "evalscope.jobs.manager", False),
        ("evalscope.service.app", "evalscope.eval.api", True),  # service -> entry
        ("evalscope.eval.api", "evalscope.report.page", False),  # entry -> anything
        ("evalscope.perf.cli", "evalscope.report.perf", False),
        ("evalscope.paths", "evalscope.client.urls", True),  # base -> client
        ("evalscope.client.urls", "evalscope.datasets.hub", False),  # same layer
        ("evalscope.mock.server", "evalscope.client.sse", False),
        ("evalscope.mock.server", "evalscope.perf.http", True),
        ("evalscope.perf.runner", "evalscope.mock.server", True),
        ("evalscope.cli", "evalscope.mock.cli", False),
    ],
)
def test_rules(source, target, bad):
    mods = {
        name: Path(name.replace(".", "/") + ".py")
        for name in (source, target)
        if name.startswith("evalscope")
    }
    assert (violation(Import(source, target, 1, "import"), mods) is not None) is bad


def test_collect_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "evalscope"
    (pkg / "eval").mkdir(parents=True)
    (pkg / "report").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "report" / "__init__.py").write_text("")
    (pkg / "report" / "page.py").write_text("")
    (pkg / "eval" / "api.py").write_text("")
    (pkg / "eval" / "__init__.py").write_text(
        "from evalscope._lazy import lazy_exports\n"
        "__getattr__ = lazy_exports(__name__, {**dict.fromkeys(('run_task',), 'evalscope.eval.api'),\n"
        "                                      'x': 'evalscope.report.page'})\n"
    )
    (pkg / "eval" / "runner.py").write_text(
        "import importlib\n"
        "def f():\n"
        "    from ..report import page\n"
        "    importlib.import_module('evalscope.report.page')\n"
        "    return 'evalscope.report.page:render'\n"
    )
    mods = modules(tmp_path)
    bad = sorted((i.source, i.target, i.how) for i in collect(mods) if violation(i, mods))
    assert bad == [
        ("evalscope.eval", "evalscope.report.page", "lazy export x"),
        ("evalscope.eval.runner", "evalscope.report.page", '"module:function"'),
        ("evalscope.eval.runner", "evalscope.report.page", "import"),
        ("evalscope.eval.runner", "evalscope.report.page", "import_module"),
    ]
