"""A small DAG: deterministic topological order, cycle paths, and dbt-style selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from leakcli.errors import CycleError, UsageError
from leakcli.jsonout import closest


def topological_order(nodes: Iterable[str], parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Order `nodes` so that every parent comes before its children (graphlib).

    Among nodes that are ready at the same time, the one given first in `nodes` goes first, so the
    order is deterministic. Parents outside `nodes` are ignored. Raises CycleError naming a cycle.
    """
    import graphlib
    import heapq

    order_of = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for n in order_of:
        sorter.add(n, *(p for p in parents.get(n, ()) if p in order_of))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise CycleError(_rotated(list(exc.args[1]))) from None
    ready = [(order_of[n], n) for n in sorter.get_ready()]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        _, nxt = heapq.heappop(ready)
        done.append(nxt)
        sorter.done(nxt)
        for n in sorter.get_ready():
            heapq.heappush(ready, (order_of[n], n))
    return done


def _rotated(cycle: list[str]) -> list[str]:
    """graphlib's cycle (parent before child, first node repeated last), smallest node first."""
    path = cycle[:-1]
    start = path.index(min(path))
    path = path[start:] + path[:start]
    return [*path, path[0]]


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
    if not any(s.strip() for s in selectors):
        raise UsageError("--select is empty", hint="name a model, or leave the option out to build them all")
    for raw in (s for sel in selectors for s in sel.replace(",", " ").split()):
        name = raw.strip("+")
        if name not in nodes:
            close = closest(name, nodes)
            hint = f"; did you mean '{close}'?" if close else ""
            raise UsageError(f"--select '{raw}' matches no model{hint}")
        chosen.add(name)
        if raw.startswith("+"):
            chosen |= _closure(name, parents)
        if raw.endswith("+"):
            chosen |= _closure(name, kids)
    return chosen
