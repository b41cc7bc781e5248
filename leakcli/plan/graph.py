"""A small DAG: deterministic topological order, cycle paths, and dbt-style selection."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from leakcli.errors import CycleError, UsageError
from leakcli.jsonout import did_you_mean


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


def _closure(start: str, edges: Mapping[str, Iterable[str]], depth: int | None = None) -> set[str]:
    """Every node reachable from `start` along `edges` (at most `depth` steps), `start` excluded."""
    seen: set[str] = set()
    frontier = [start]
    steps = 0
    while frontier and (depth is None or steps < depth):
        steps += 1
        nxt = []
        for n in frontier:
            for m in edges.get(n, ()):
                if m not in seen and m != start:
                    seen.add(m)
                    nxt.append(m)
        frontier = nxt
    return seen


ATOM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<name>[^+@]+)(?:\+(?P<down>\d*))?$")


def select(selectors: list[str], nodes: list[str], parents: Mapping[str, Iterable[str]],
           exclude: list[str] | None = None) -> set[str]:
    """dbt's selection grammar: a space separates terms whose selections are joined (union), a comma
    separates atoms whose selections must all hold (intersection). An atom is a model name (shell
    wildcards allowed) with graph operators: `+m` (and its ancestors), `m+` (and its descendants),
    `2+m` / `m+1` (at most that many steps), `@m` (m, its descendants and their ancestors).
    `exclude` takes the same grammar and is taken away. A term that matches no model is a usage error
    with the closest names."""
    if not any(s.strip() for s in selectors):
        raise UsageError("is empty", file="--select", hint="name a model, or leave the option out to build them all")
    chosen = _terms(selectors, nodes, parents, "--select")
    if exclude is not None:
        if not any(s.strip() for s in exclude):
            raise UsageError("is empty", file="--exclude", hint="name a model, or leave the option out")
        chosen -= _terms(exclude, nodes, parents, "--exclude")
    return chosen


METHODS = ("tag", "path", "source", "config", "package", "state", "result", "test_type", "test_name",
           "exposure", "metric", "resource_type", "fqn", "file", "group", "access", "version", "saved_query",
           "semantic_model", "unit_test", "wildcard")  # dbt's selector methods, none of which leakcli has


def _terms(selectors: list[str], nodes: list[str], parents: Mapping[str, Iterable[str]], option: str) -> set[str]:
    kids = children_of(parents)
    chosen: set[str] = set()
    for term in (t for sel in selectors for t in sel.split()):
        if any(not a for a in term.split(",")):
            raise UsageError(f"'{term}' has an empty atom: a comma joins two selections", file=option,
                             hint="write them as 'a,b' with a model (or wildcard) on each side")
        chosen |= set.intersection(*(_atom(a, nodes, parents, kids, option) for a in term.split(",")))
    return chosen


def _atom(raw: str, nodes: list[str], parents: Mapping[str, Iterable[str]],
          kids: Mapping[str, Iterable[str]], option: str) -> set[str]:
    import fnmatch

    method = raw.lstrip("@+0123456789").split(":", 1)[0] if ":" in raw else None
    if method is not None:
        known = method in METHODS or method.split(".", 1)[0] in METHODS
        raise UsageError(f"'{raw}': the selector method '{method}:' is "
                         + ("dbt's, and leakcli does not support it" if known else "unknown"), file=option,
                         hint="select by model name, shell wildcard (stg__*) and graph operators (+m, m+, @m)")
    m = ATOM.match(raw)
    names = [n for n in nodes if m and fnmatch.fnmatchcase(n, m.group("name"))] if m else []
    if not names:
        close = did_you_mean(raw.strip("+@0123456789"), nodes).removeprefix("; ")
        raise UsageError(f"'{raw}' matches no model", file=option,
                         hint=close or "name a model of the registry (leakcli plan lists them), or a wildcard")
    assert m is not None
    found: set[str] = set()
    for name in names:
        found.add(name)
        if m.group("up") is not None:
            found |= _closure(name, parents, int(m.group("up")) if m.group("up") else None)
        if m.group("down") is not None or m.group("at"):
            down = _closure(name, kids, int(m.group("down")) if m.group("down") else None)
            found |= down
            if m.group("at"):
                for d in down | {name}:
                    found |= _closure(d, parents)
    return found
