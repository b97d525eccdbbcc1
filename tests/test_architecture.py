"""The house rules, checked on the source: layers, imports, public surfaces, one home for defaults."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from newsdesk.service.config import Settings

from tests.conftest import ROOT

PACKAGES = {"index": "newsdesk.index", "service": "newsdesk.service", "prompts": "newsdesk.prompts"}


def modules() -> dict[str, Path]:
    """Every module of the project: dotted name -> file."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """``(module imported, names taken from it)`` for every import in the module, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def project_imports(name: str) -> set[str]:
    """The project modules ``name`` imports (a name imported from a package counts as its submodule if it is one)."""
    result = set()
    for target, names in imports(name, MODULES[name]):
        for imported in names or [""]:
            candidate = f"{target}.{imported}" if imported else target
            if candidate in MODULES:
                result.add(candidate)
            elif target in MODULES:
                result.add(target)
    return result


def test_index_never_imports_service() -> None:
    offenders = {name: sorted(i for i in project_imports(name) if i.startswith("newsdesk.service"))
                 for name in MODULES if name.startswith("newsdesk.index")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_imports_a_private_name_of_another() -> None:
    private = [(name, target, n) for name, path in MODULES.items() for target, names in imports(name, path)
               for n in names if n.startswith("_") and not n.startswith("__") and target.startswith("newsdesk")]
    assert private == []


def test_no_import_cycles() -> None:
    graph = {name: project_imports(name) - {name} for name in MODULES}
    # A package's __init__ re-exporting its own submodules is not a cycle of logic.
    graph = {name: {t for t in targets if not (name.startswith(t + ".") and MODULES[t].name == "__init__.py")}
             for name, targets in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("layer, forbidden", [
    ("newsdesk.service.domain", ("newsdesk.service.",)),
    ("newsdesk.service.errors", ("newsdesk.service.",)),
    ("newsdesk.service.query", ("newsdesk.service.runtime", "newsdesk.service.http", "newsdesk.service.cli", "newsdesk.service.evaluation")),
    ("newsdesk.service.runtime", ("newsdesk.service.http", "newsdesk.service.cli", "newsdesk.service.evaluation")),
])
def test_lower_layers_never_import_upper_ones(layer: str, forbidden: tuple[str, ...]) -> None:
    offenders = {name: sorted(i for i in project_imports(name) if i.startswith(forbidden) and not i.startswith(name))
                 for name in MODULES if name == layer or name.startswith(layer + ".")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_package_declares_its_public_surface() -> None:
    missing = [name for name, path in MODULES.items() if path.name == "__init__.py" and name.count(".") >= 2
               and "__all__" not in path.read_text(encoding="utf-8")]
    assert missing == []


def _literal_defaults(path: Path) -> list[tuple[int, str, object]]:
    """``(line, parameter, value)`` for every function parameter whose default is a number or string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if isinstance(default, ast.Constant) and isinstance(default.value, (int, float, str)) \
                        and not isinstance(default.value, bool):
                    found.append((default.lineno, arg.arg, default.value))
    return found


def test_every_setting_default_lives_only_in_the_settings() -> None:
    """No component restates a setting's default as its own parameter default (they drifted once)."""
    settings = [(set(f.name.split("_")), repr(f.default)) for f in dataclasses.fields(Settings) if f.default != ""]
    restated = []
    for name, path in MODULES.items():
        if name == "newsdesk.service.config":
            continue
        for line, parameter, value in _literal_defaults(path):
            words = set(parameter.split("_"))
            if any(repr(value) == default and words & setting for setting, default in settings):
                restated.append(f"{path.relative_to(ROOT)}:{line} {parameter}={value!r}")
    assert restated == []
