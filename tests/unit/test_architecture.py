"""The layout the README describes holds: few entries under bot/, no import cycle.

The allowed arrows between floors are import-linter contracts (pyproject.toml), checked by
`make lint`; these tests cover what a contract cannot say."""

from __future__ import annotations

import grimp

from bot.core.settings import PROJECT_ROOT

FLOORS = {"core", "services", "ui", "serving", "worker", "app", "standin"}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycle_among_our_modules() -> None:
    graph = grimp.build_graph("bot", "handlers", "models")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "b", "c"):
        graph.add_module(name)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    assert _cycles(graph) == [["a", "b", "c"]]


def test_bot_holds_one_package_per_floor() -> None:
    entries = {
        path.stem
        for path in (PROJECT_ROOT / "bot").iterdir()
        if path.name != "__pycache__" and (path.suffix == ".py" or path.is_dir())
    }
    assert entries - {"__init__"} <= FLOORS
    assert len(entries) <= 8
