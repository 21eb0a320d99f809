"""Issue 10's seam, as the source shows it: the use cases (services/) and the API hold no SQL — they
reach the database only through a unit of work and its repositories (adapters/) — and no use case
takes a session or a session factory."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from credit_service.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "credit_service"
LAYERS = ("services", "api")


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_of_the_layer_imports_sqlalchemy(layer):
    offenders = [p.name for p in _modules(layer)
                 if any(m == "sqlalchemy" or m.startswith("sqlalchemy.") for m in _imports(ast.parse(p.read_text())))]
    assert offenders == [], f"{layer}/ imports SQLAlchemy in {offenders}: put the SQL behind a repository"


def test_no_use_case_takes_a_session_or_a_session_factory():
    offenders = []
    for path in _modules("services"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if names & {"session", "session_factory"}:
                    offenders.append(f"{path.name}:{node.name}")
    assert offenders == []


def test_no_object_of_the_use_cases_is_built_with_a_session_or_a_session_factory():
    """Constructors and methods too (the rule above looks at functions only): an object of services/ — the
    bearer-token cache, say — reaches the database through a unit of work, like every use case."""
    offenders = []
    for path in _modules("services"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names = {a.arg for a in item.args.args + item.args.kwonlyargs}
                        if names & {"session", "session_factory"}:
                            offenders.append(f"{path.name}:{node.name}.{item.name}")
    assert offenders == []
