"""The architecture of docs/architecture.md, checked: no import cycle, small modules, no module
reaching into another's private names. (The layers themselves are import-linter's contract in
pyproject.toml, run by ``make lint``.)"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bus", "config", "workers")
#: The longest a module of bus/ may be.
MAX_LINES = 300
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


# -- the layout of issue 16: folders that show the layers --------------------------------------

#: The most modules the root of bus/ may hold: its public surface (facades, clients, message,
#: errors, names); everything else lives in the package of its concept.
MAX_ROOT_MODULES = 12
#: Folders whose modules implement one contract each, in parallel: ``contracts/log.py``,
#: ``memory/log.py`` and ``redis/log.py`` are one concept, so they may share a name.
PARALLEL_PARTS = ("bus/store",)


def _packages() -> list[str]:
    return sorted(path.name for path in (ROOT / "bus").iterdir() if (path / "__init__.py").exists())


def _contract_names() -> list[str]:
    """Every package or module the import-linter layers name."""
    layers: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]["contracts"][0]["layers"]
    return [name.strip() for layer in layers for name in layer.split(":")]


def test_the_root_of_bus_holds_only_the_public_surface() -> None:
    root = sorted(path.name for path in (ROOT / "bus").glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_no_two_modules_of_bus_share_a_name_for_different_things() -> None:
    seen: dict[str, list[str]] = {}
    for path in _modules():
        if path.name in ("__init__.py", "__main__.py"):
            continue
        relative = path.relative_to(ROOT)
        part_of = next((p for p in PARALLEL_PARTS if str(relative).startswith(p + "/")), None)
        if part_of is not None and relative.parent != Path(part_of):
            key = f"{part_of}/*/{path.name}"  # the same contract part in each implementation
        else:
            key = path.name
        seen.setdefault(key, []).append(str(relative))
    shared = {name: paths for name, paths in seen.items() if len(paths) > 1 and "*" not in name}
    # a name shared across parallel parts must not also name another module elsewhere
    for key, paths in seen.items():
        if "*" in key and key.rsplit("/", 1)[1] in seen:
            shared[key] = paths + seen[key.rsplit("/", 1)[1]]
    assert shared == {}


def test_no_two_classes_of_bus_share_a_name() -> None:
    where: dict[str, list[str]] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}


def test_the_layer_contract_names_every_package_and_root_module_of_bus() -> None:
    named = set(_contract_names())
    packages = {
        f"bus.{path.name}" for path in (ROOT / "bus").iterdir() if (path / "__init__.py").exists()
    }
    modules = {
        f"bus.{path.stem}" for path in (ROOT / "bus").glob("*.py") if path.stem != "__init__"
    }
    assert (packages | modules) - named == set()


def test_the_architecture_document_names_every_package_of_bus() -> None:
    document = (ROOT / "docs" / "architecture.md").read_text()
    assert [name for name in _packages() if f"bus.{name}" not in document] == []


def test_the_store_has_no_stub_methods() -> None:
    stubs = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "bus" / "store").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Raise)
        and node.exc is not None
        and "NotImplementedError" in ast.unparse(node.exc)
    ]
    assert stubs == []
