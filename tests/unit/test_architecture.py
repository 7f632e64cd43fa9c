"""The architecture of docs/architecture.md, checked: no import cycle, small modules, no module
reaching into another's private names. (The layers themselves are import-linter's contract in
pyproject.toml, run by ``make lint``.)"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bus", "config", "workers")
#: The longest a module of bus/ may be.
MAX_LINES = 350
#: Private names of the standard library that bus uses as documented API.
STDLIB_PRIVATE = frozenset({"_getframe", "_SubParsersAction"})


def _cycles() -> list[tuple[str, str]]:
    """Each import ``a -> b`` for which ``b`` also leads back to ``a``."""
    graph = grimp.build_graph(*PACKAGES)  # every import, lazy and TYPE_CHECKING ones included
    return sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles() == []


def _modules() -> list[Path]:
    return sorted((ROOT / "bus").rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_of_bus_is_short(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGES):
            found += [f"import {alias.name}" for alias in node.names if alias.name.startswith("_")]
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr not in STDLIB_PRIVATE
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_of_bus_uses_another_modules_private_names(path: Path) -> None:
    assert _private_uses(path) == []
