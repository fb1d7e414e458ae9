#!/usr/bin/env python3
"""The smartdeal package's imports only go down: no import cycle, no private
name used across modules.

Reads every module of python/smartdeal with `ast` (nothing is imported, so
the check needs neither NumPy nor PyTorch) and builds the graph of imports
between its modules, the ones inside functions included. Fails on any
cycle, naming it, and on `from M import _name` or `M._name` reaching into
another module's private names. The checker is first run on small packages
written to a temporary folder, so that a checker which finds nothing fails
too. Exits non-zero on failure.
"""

import ast
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Dict, List, Set, Tuple

PACKAGE = Path(__file__).resolve().parents[1] / "smartdeal"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(current: str, is_package: bool, level: int, module: str) -> str:
    """The absolute name of a (possibly relative) `from ... import`."""
    if not level:
        return module or ""
    base = current.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def import_graph(root: Path) -> Tuple[Dict[str, Set[str]], List[str]]:
    """(module -> modules of the package it imports, private-name uses)."""
    top = root.name
    files = {module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    graph: Dict[str, Set[str]] = {m: set() for m in files}
    private: List[str] = []

    def known(name: str) -> str:
        """`name` or its closest enclosing module of the package."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name

    for mod, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), str(path))
        aliases: Dict[str, str] = {}  # local name -> package module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == top:
                        target = known(a.name)
                        graph[mod].add(target)
                        if a.asname:
                            aliases[a.asname] = target
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, is_package, node.level, node.module or "")
                if base.split(".")[0] != top:
                    continue
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    if sub in files:  # `from package import module`
                        graph[mod].add(sub)
                        aliases[a.asname or a.name] = sub
                        continue
                    graph[mod].add(known(base))
                    if a.name.startswith("_") and known(base) != mod:
                        private.append(f"{path}:{node.lineno}: imports {a.name} "
                                       f"from {base}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                private.append(f"{path}:{node.lineno}: uses {node.value.id}.{node.attr} "
                               f"of {aliases[node.value.id]}")
    for m in graph:
        graph[m].discard(m)
        # A package's __init__ is imported with any of its modules; an
        # import of the package itself is an edge to __init__ only.
    return graph, private


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every strongly connected group of modules (Tarjan), as one cycle each."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def write_package(folder: Path, files: Dict[str, str]) -> Path:
    root = folder / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


class CheckerTest(unittest.TestCase):
    """The checker itself, on packages with known faults."""

    def test_finds_a_cycle_through_a_function_import(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = write_package(Path(tmp), {
                "__init__.py": "",
                "a.py": "from .b import g\n\ndef f():\n    return g()\n",
                "b.py": "def g():\n    from . import a\n    return a\n",
                "sub/__init__.py": "",
                "sub/c.py": "from ..a import f\n",
            })
            graph, private = import_graph(root)
            self.assertEqual(graph["pkg.sub.c"], {"pkg.a"})
            self.assertEqual(cycles(graph), [["pkg.a", "pkg.b"]])
            self.assertEqual(private, [])

    def test_finds_private_names(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = write_package(Path(tmp), {
                "__init__.py": "",
                "a.py": "_hidden = 1\n",
                "b.py": "from .a import _hidden\nfrom . import a\nx = a._hidden\n",
            })
            graph, private = import_graph(root)
            self.assertEqual(cycles(graph), [])
            self.assertEqual(len(private), 2)
            self.assertIn("imports _hidden from pkg.a", private[0])
            self.assertIn("uses a._hidden of pkg.a", private[1])


class PackageTest(unittest.TestCase):
    """python/smartdeal itself."""

    def test_no_import_cycle(self):
        graph, _ = import_graph(PACKAGE)
        self.assertGreater(len(graph), 30)
        found = cycles(graph)
        self.assertEqual(found, [], "import cycles: " + "; ".join(
            " <-> ".join(c) for c in found))

    def test_no_private_name_across_modules(self):
        _, private = import_graph(PACKAGE)
        self.assertEqual(private, [], "\n".join(private))


if __name__ == "__main__":
    unittest.main()
