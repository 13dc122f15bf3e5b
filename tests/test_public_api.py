"""The public API: every module lists its exports, and every exported name imports and is
documented where it is defined (a docstring, or for a constant the string right after it)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import pbm_engine

SKIP = {"pbm_engine.cli.__main__"}  # runs the command line when imported


def _modules() -> list[str]:
    names = ["pbm_engine"]
    for info in pkgutil.walk_packages(pbm_engine.__path__, "pbm_engine."):
        if info.name not in SKIP and not any(p.startswith("_") for p in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


@cache
def _tree(module_name: str) -> ast.Module:
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def _top_level_doc(module_name: str, name: str) -> str | bool | None:
    """The docstring of ``name`` defined at the top of a module; False if it is not defined
    there (imported), None if defined without one."""
    body = _tree(module_name).body
    for i, node in enumerate(body):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.name == name:
            return ast.get_docstring(node)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            after = body[i + 1] if i + 1 < len(body) else None
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                    and isinstance(after.value.value, str):
                return after.value.value
            return None
    return False


def _source_of(module_name: str, name: str) -> str | None:
    """The module a ``from X import name`` at the top of ``module_name`` takes it from."""
    for node in _tree(module_name).body:
        nodes = node.body if isinstance(node, ast.If) else [node]  # if TYPE_CHECKING: imports
        for inner in nodes:
            if isinstance(inner, ast.ImportFrom) and inner.module and not inner.level \
                    and any((a.asname or a.name) == name for a in inner.names):
                return inner.module
    return None


def _documented(module_name: str, name: str) -> bool:
    seen = set()
    while module_name not in seen:
        seen.add(module_name)
        doc = _top_level_doc(module_name, name)
        if doc is not False:
            return bool(doc and doc.strip())
        source = _source_of(module_name, name)
        if source is None or not source.startswith("pbm_engine"):
            return False
        module_name = source
    return False


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_lists_its_exports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    defines = [n for n in vars(module) if not n.startswith("_")
               and getattr(vars(module)[n], "__module__", module_name) == module_name
               and not isinstance(vars(module)[n], ModuleType)]
    if hasattr(module, "__path__") and not defines and not hasattr(module, "__all__"):
        return  # a package whose __init__ holds only its docstring
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__"
    assert module.__doc__ and module.__doc__.strip(), f"{module_name} has no docstring"


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_names_import_and_are_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing, undocumented = [], []
    for name in getattr(module, "__all__", []):
        if name == "__version__":
            continue
        try:
            obj = getattr(module, name)
        except AttributeError:
            missing.append(name)
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            home = obj.__module__
            if home.startswith("pbm_engine") and _documented(home, obj.__name__):
                continue
        if not _documented(module_name, name):
            undocumented.append(name)
    assert missing == [], f"{module_name}: __all__ names that do not import"
    assert undocumented == [], f"{module_name}: exported names without a docstring"


def test_star_import_gives_the_curated_namespace() -> None:
    namespace: dict[str, object] = {}
    exec("from pbm_engine import *", namespace)  # the file readers are loaded on first use
    for name in ("Engine", "Processor", "Portal", "MemoryStore", "SqliteStore", "load_book",
                 "parameters_for", "split_claim", "PartDPlan"):
        assert name in namespace, name


def test_the_version_is_defined_once() -> None:
    assert pbm_engine.__version__ == importlib.metadata.version("pbm-engine")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert "\nversion =" not in pyproject.read_text(encoding="utf-8").split("[tool.")[0]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        pbm_engine.no_such_name  # noqa: B018
