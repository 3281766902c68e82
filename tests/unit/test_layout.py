"""The tree, its import contract and ARCHITECTURE.md agree: every module is named in the
document, every top-level package or module is in the layer contract, no two modules
import each other in a cycle, and the README's links lead somewhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rag"


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1]
        names.append(".".join(parts))
    return sorted(set(names) - {"rag"})


def test_every_module_is_named_in_the_architecture_document():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"rag(?:\.[a-z_0-9]+)+", text))
    missing = [m for m in modules() if m not in named]
    assert not missing, f"ARCHITECTURE.md does not name: {', '.join(missing)}"
    gone = sorted(n for n in named if n not in modules() and not _is_attribute(n))
    assert not gone, f"ARCHITECTURE.md names modules that do not exist: {', '.join(gone)}"


def _is_attribute(name: str) -> bool:
    """``rag.index.backend.BACKENDS`` style names: a module followed by one of its names."""
    module, _, _ = name.rpartition(".")
    return module in modules()


def test_every_top_level_package_is_in_the_layer_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers" and "rag.cli" in c["layers"])
    listed = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    top = {".".join(m.split(".")[:2]) for m in modules()}
    assert top - listed == set(), f"not in the layer contract: {sorted(top - listed)}"
    assert listed - top == set(), f"the contract names what does not exist: {listed - top}"


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("rag", cache_dir=None, exclude_type_checking_imports=True)
    cycles = _strongly_connected(
        {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    )
    assert cycles == [], f"modules importing each other: {cycles}"


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the groups of more than one module that reach
    each other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_cycle_check_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(edges) == [["a", "b", "c"]]


def test_the_readme_links_lead_somewhere():
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"`[^`]*`", "", document.read_text(encoding="utf-8"))  # code spans
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (document.parent / target).exists(), f"{document.name}: {target}"
