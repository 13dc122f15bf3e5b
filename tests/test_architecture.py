"""The house rules of ``src/pbm_engine`` (see docs/architecture.md), checked on the import graph.

Every import counts: top-level, function-local and ``if TYPE_CHECKING:`` ones.  Importing a
submodule also runs its package's ``__init__`` (except the root package's, which every import
passes through), so those edges count too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "pbm_engine"
PACKAGE = "pbm_engine"

# Layers, lowest first.  A module may import modules of its own layer's unit (the top-level
# module or package it belongs to) and of lower layers; across units of one layer only the
# pairs in SIDEWAYS are allowed.  Keep in step with docs/architecture.md.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("values", frozenset({"money", "codes", "ndc", "errors", "trace", "accumulators", "claim",
                          "result", "policy"})),
    ("formulary", frozenset({"formulary"})),
    ("domain", frozenset({"eligibility", "pricing", "edits"})),
    ("benefit kinds", frozenset({"benefit", "medicare"})),
    ("pipeline", frozenset({"book", "engine"})),
    ("sources and stores", frozenset({"sources", "store", "processor"})),
    ("front doors", frozenset({"portal", "admin", "cli", "batch", "service", "__init__"})),
)
SIDEWAYS: frozenset[tuple[str, str]] = frozenset({
    ("edits", "eligibility"),  # edits read the member (age, gender, PA)
    ("medicare", "benefit.plan"),  # a Part D plan reuses the commercial plan's edit policies
    ("engine", "book"),
    ("processor", "store"),
    ("portal", "admin"), ("admin", "portal"), ("cli", "portal"), ("cli", "admin"),
    ("cli", "batch"), ("cli", "service"), ("service", "portal"), ("service", "batch"),
    ("batch", "portal"), ("service", "admin"), ("batch", "admin"),
})
# Within the values layer every module may import any other (the cycle check still applies).
OPEN_LAYERS = frozenset({"values"})


@dataclass
class Module:
    name: str  # dotted, without the package prefix ("" for the root package)
    path: Path
    is_package: bool
    imports: set[str] = field(default_factory=set)  # dotted names, without the prefix
    private: list[str] = field(default_factory=list)  # problems found


def _name_of(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _strip(dotted: str) -> str | None:
    if dotted == PACKAGE:
        return ""
    if dotted.startswith(PACKAGE + "."):
        return dotted[len(PACKAGE) + 1:]
    return None


def scan() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted(ROOT.rglob("*.py")):
        name, is_package = _name_of(path)
        modules[name] = Module(name, path, is_package)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        here = module.name if module.is_package else module.name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _strip(alias.name)
                    if target is not None:
                        module.imports.add(target)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".") if here else []
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    stripped = _strip(node.module or "")
                    if stripped is None:
                        continue
                    target = stripped
                for alias in node.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    if sub in modules:
                        module.imports.add(sub)
                        continue
                    module.imports.add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        module.private.append(f"imports {alias.name} from {target or PACKAGE}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    module.private.append(f"line {node.lineno}: uses {ast.unparse(node)}")
        module.imports.discard(module.name)
    return modules


def edges(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Import edges, with the implied edges to each enclosing package's ``__init__``."""
    out: dict[str, set[str]] = {}
    for module in modules.values():
        targets: set[str] = set()
        for target in module.imports:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if candidate in modules and candidate != module.name and \
                        not module.name.startswith(candidate + "."):
                    targets.add(candidate)
        out[module.name] = targets
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def unit(name: str) -> str:
    """The top-level module or package a module belongs to (``__init__`` for the root)."""
    return name.split(".")[0] if name else "__init__"


def layer(name: str) -> int:
    for rank, (_, units) in enumerate(LAYERS):
        if unit(name) in units:
            return rank
    raise KeyError(name)


def violations(modules: dict[str, Module]) -> Iterator[str]:
    for name, targets in edges(modules).items():
        mine = layer(name)
        for target in sorted(targets):
            theirs = layer(target)
            if unit(target) == unit(name) or unit(name) == "__init__":
                continue  # the root package is the curated namespace: it may import anything
            if theirs > mine:
                yield (f"{name or PACKAGE} ({LAYERS[mine][0]}) imports {target} "
                       f"({LAYERS[theirs][0]}), a higher layer")
            elif theirs == mine and LAYERS[mine][0] not in OPEN_LAYERS and not any(
                    unit(name) == a and (target == b or target.startswith(b + ".")
                                         or b.startswith(target + "."))
                    for a, b in SIDEWAYS):
                yield f"{name or PACKAGE} imports {target} sideways ({LAYERS[mine][0]})"


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return scan()


def test_every_module_has_a_layer(modules: dict[str, Module]) -> None:
    units = {u for _, us in LAYERS for u in us}
    missing = sorted({unit(name) for name in modules} - units)
    assert not missing, f"add {missing} to a layer here and in docs/architecture.md"


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    assert cycles(edges(modules)) == []


def test_the_cycle_check_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_names_across_modules(modules: dict[str, Module]) -> None:
    problems = [f"{m.name or PACKAGE}: {p}" for m in modules.values() for p in m.private]
    assert problems == []


def test_layers(modules: dict[str, Module]) -> None:
    assert list(violations(modules)) == []


def test_medicare_does_not_import_the_engine(modules: dict[str, Module]) -> None:
    graph = edges(modules)
    for name, targets in graph.items():
        if unit(name) == "medicare":
            assert not {"engine", "processor"} & targets, name


def test_the_layer_check_finds_an_upward_import(modules: dict[str, Module]) -> None:
    fake = dict(modules)
    fake["pricing.fake"] = Module("pricing.fake", ROOT / "pricing" / "fake.py", False,
                                  imports={"engine"})
    assert any("pricing.fake" in v for v in violations(fake))


def test_importing_the_engine_loads_neither_pydantic_nor_yaml() -> None:
    code = ("import sys, pbm_engine.engine, pbm_engine.processor; "
            "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
