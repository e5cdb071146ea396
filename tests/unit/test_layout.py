"""The layout's rules, read from the source: the JSON routes and the pages are two halves over
the same services, and no route module leans on another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTE_PACKAGES = ("searchapi/routes", "searchapi/pages")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _defines_router(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "router" for target in node.targets)
        for node in tree.body
    )


def _parsed(package: str) -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), filename=str(path))
        for path in sorted((ROOT / package).glob("*.py"))
    }


MODULES = {name: tree for package in ROUTE_PACKAGES for name, tree in _parsed(package).items()}
ROUTE_MODULES = frozenset(name for name, tree in MODULES.items() if _defines_router(tree))


def _imported(tree: ast.Module) -> set[str]:
    """Every module a module imports, `from package import module` counted as the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_both_halves_have_route_modules() -> None:
    assert {name.rsplit(".", 1)[0] for name in ROUTE_MODULES} == {
        "searchapi.routes",
        "searchapi.pages",
    }


@pytest.mark.parametrize("module", sorted(ROUTE_MODULES))
def test_a_route_module_imports_no_other_route_module(module: str) -> None:
    assert _imported(MODULES[module]) & (ROUTE_MODULES - {module}) == set()


@pytest.mark.parametrize("module", sorted(_parsed("searchapi/routes")))
def test_the_json_routes_import_nothing_of_the_pages(module: str) -> None:
    assert not {name for name in _imported(MODULES[module]) if name.startswith("searchapi.pages")}
