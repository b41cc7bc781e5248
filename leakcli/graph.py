"""A small DAG: deterministic topological order, cycle paths, and dbt-style selection."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from leakcli.errors import CycleError, UsageError


def topological_order(nodes: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Order `nodes` so that every parent comes before its children.

    Among nodes that are ready at the same time, the one given first in `nodes` goes first, so the
    order is deterministic. Parents outside `nodes` are ignored. Raises CycleError naming a cycle.
    """
    order_of = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
    deps = {n: {p for p in parents.get(n, ()) if p in order_of} for n in order_of}
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(order_of):
        ready = [n for n in order_of if n not in placed and deps[n] <= placed]
        if not ready:
            raise CycleError(find_cycle({n: deps[n] for n in order_of if n not in placed}))
        nxt = min(ready, key=order_of.__getitem__)
        done.append(nxt)
        placed.add(nxt)
    return done


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """A cycle among `deps`, as a path that starts and ends at the same node (smallest node first)."""
    graph = {n: sorted(ps) for n, ps in deps.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for parent in graph.get(node, []):
            if state.get(parent) == 1:
                # the stack walks child -> parent; the path is printed in build order
                path = list(reversed(stack[stack.index(parent):]))
                start = path.index(min(path))
                path = path[start:] + path[:start]
                return [*path, path[0]]
            if parent in graph and state.get(parent) is None:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return []


def children_of(parents: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    kids: dict[str, set[str]] = {n: set() for n in parents}
    for child, ps in parents.items():
        for p in ps:
            kids.setdefault(p, set()).add(child)
    return kids


def _closure(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        n = todo.pop()
        for m in edges.get(n, ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def select(selectors: list[str], nodes: list[str], parents: Mapping[str, Iterable[str]]) -> set[str]:
    """dbt graph operators: `model`, `+model` (with its ancestors), `model+` (with descendants).

    Each selector may hold several, separated by commas or spaces. A selector that matches no
    model is a usage error with the closest names.
    """
    chosen: set[str] = set()
    kids = children_of(parents)
    for raw in (s for sel in selectors for s in sel.replace(",", " ").split()):
        name = raw.strip("+")
        if name not in nodes:
            close = difflib.get_close_matches(name, nodes, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"--select '{raw}' matches no model{hint}")
        chosen.add(name)
        if raw.startswith("+"):
            chosen |= _closure(name, parents)
        if raw.endswith("+"):
            chosen |= _closure(name, kids)
    return chosen
