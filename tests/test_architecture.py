"""The package's shape: imports run one way (no cycle, lazy imports included), and every study has the
template's files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rote.sims.studies import STUDIES

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("theory", "sims", "figures")
TEMPLATE = ("__init__.py", "params.py", "model.py", "run.py", "analysis.py", "scales.py", "claims.py", "NOTES.md")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name (rote.sims.engine, rote.sims.studies.grokking for a package) -> file."""
    mods = {}
    for top in TOPS:
        for f in (root / top).rglob("*.py"):
            parts = [p for p in f.relative_to(root / top).with_suffix("").parts if p != "__init__"]
            mods[".".join(["rote", top, *parts])] = f
    return mods


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports anywhere (top level or inside a function)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            candidates = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known and c != name and not name.startswith(c + ".")}
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    mods = module_files(root)
    return {name: imported_modules(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (cycle := visit(v)):
                return cycle
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state and (cycle := visit(u)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_lazy_cycle(tmp_path):
    """The check can fail: a function-level import that closes a loop is reported."""
    for top in TOPS:
        (tmp_path / top).mkdir()
        (tmp_path / top / "__init__.py").write_text("")
    (tmp_path / "sims" / "a.py").write_text("from . import b\n")
    (tmp_path / "sims" / "b.py").write_text("def f():\n    from .a import x\n")
    assert find_cycle(import_graph(tmp_path)) == ["rote.sims.a", "rote.sims.b", "rote.sims.a"]


@pytest.mark.parametrize("study", STUDIES)
def test_study_has_the_template_files(study):
    module = study.replace("-", "_")
    folder = ROOT / "sims" / "studies" / module
    missing = [f for f in TEMPLATE if not (folder / f).exists()]
    missing += [str(p) for p in (ROOT / "paper_notebooks" / f"{module}.py", ROOT / "tests" / module) if not p.exists()]
    if not ((ROOT / "figures" / f"{module}.py").exists() or (ROOT / "figures" / module / "__init__.py").exists()):
        missing.append(f"figures/{module}")
    assert not missing, f"study {study} lacks {missing}"


def test_study_modules_import_one_way():
    """claims and figures -> analysis and scales -> params; run -> model -> params; never back."""
    graph = import_graph()
    forbidden = {"params": ("model", "run", "analysis", "scales", "claims"), "model": ("run", "analysis", "scales", "claims"),
                 "analysis": ("run", "model", "claims"), "scales": ("run", "model", "claims")}
    bad = []
    for study in STUDIES:
        pkg = f"rote.sims.studies.{study.replace('-', '_')}"
        for role, not_allowed in forbidden.items():
            for target in graph.get(f"{pkg}.{role}", ()):
                if target.rsplit(".", 1)[-1] in not_allowed and target.startswith(pkg):
                    bad.append(f"{pkg}.{role} -> {target}")
    assert not bad, bad


def test_modules_stay_short():
    """Split by role, never by variant; about 400 lines at most per module."""
    long = {str(p.relative_to(ROOT)): n for p in module_files().values() if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long
