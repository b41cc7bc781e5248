"""The manifest's rules across two source files (`relations`): the refunds of an order add up to no
more than its price, an order is never placed before its session starts. Each is one aggregate
query over both files (loaded tables, or the CSVs read in place), its result kept with the child
file's record under the parent file's sha256."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts.load import MANIFEST, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.engine.sqltext import quote_ident
from leakcli.sources.facts import RelationResult, SourceFacts
from leakcli.sources.scan import as_int

if TYPE_CHECKING:
    from leakcli.contracts.documents import Relation
    from leakcli.engine.connection import Connection


def check_relations(c: Contracts, facts: dict[str, SourceFacts], q: Questions,
                    relation_of: Callable[[str], tuple[str, dict[str, object]]] | None = None,
                    con: Connection | None = None, only: set[str] | None = None) -> None:
    """Cross-file rules of the manifest (`relations`; with `only`, those named), e.g. refunds never
    exceed their order: from the loaded tables (`relation_of`, on `con`), or from the files read in place."""
    from leakcli.engine.connection import connect, one_row

    for ri, rel in enumerate(c.manifest.relations):
        if only is not None and rel.name not in only:
            continue
        child, parent = facts.get(rel.child.table), facts.get(rel.parent.table)
        if child is None or parent is None or child.stats is None or parent.stats is None:
            continue  # a file is missing, unreadable, or not checked yet: asked about already
        cached = child.relations.get(rel.name)
        if cached is None or cached.parent_sha256 != parent.sha256:
            from leakcli.engine.connection import QueryError

            reads = relation_of or (lambda t: read_in_place(c, facts[t].path))
            sql, params = _relation_sql(rel, reads(rel.child.table), reads(rel.parent.table))
            run = con or connect(memory_limit=c.phase_plan.engine.limit())
            try:
                n, line, total, limit = one_row(run, sql, params)
            except QueryError:
                continue  # the per-file checks report unreadable files
            finally:
                if con is None:
                    run.close()
            child.relations[rel.name] = RelationResult(parent_sha256=parent.sha256, n=as_int(n), line=as_int(line),
                                                       total=str(total), limit=str(limit))
        found = child.relations[rel.name]
        where = f"first at line {found.line}; {MANIFEST}#/relations/{ri}"
        if found.n and rel.kind == "sum_within":
            q.ask(Code.RELATION, f"{child.file}:{found.line}", severity=rel.severity, question=
                  f"{found.n} {rel.parent.table} row(s) have {rel.child.table} adding up to more than their "
                  f"{rel.parent.value} ({found.total} > {found.limit}, {where}): which amount is right?")
        elif found.n:
            q.ask(Code.RELATION, f"{child.file}:{found.line}", severity=rel.severity, question=
                  f"{found.n} {rel.child.table} row(s) have a {rel.child.value} before the {rel.parent.value} "
                  f"of their {rel.parent.table} ({found.total} < {found.limit}, {where}): which time is right?")


def name_parents(c: Contracts, facts: dict[str, SourceFacts]) -> None:
    """The sha256 of each relation's parent file, on the results found while it was being hashed."""
    parents = {rel.name: rel.parent.table for rel in c.manifest.relations}
    for fact in facts.values():
        for name, found in fact.relations.items():
            if not found.parent_sha256 and name in parents:
                found.parent_sha256 = facts[parents[name]].sha256


def read_in_place(c: Contracts, path: Path) -> tuple[str, dict[str, object]]:
    from leakcli.engine.load import read_csv_sql

    table = next(t for t in c.manifest.tables if t.file == path.name)
    call, params = read_csv_sql(table, c.manifest.dialect, rejects=False)
    return call, {**params, "path": str(path)}


def _relation_sql(rel: Relation, child: tuple[str, dict[str, object]],
                  parent: tuple[str, dict[str, object]]) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {}
    reads = {}
    for side, (call, p) in (("c", child), ("p", parent)):
        for k, v in p.items():
            params[f"{side}_{k}"] = v
            call = call.replace(f"${k}", f"${side}_{k}")
        reads[side] = call
    keys = ", ".join(quote_ident(k) for k in rel.child.key)
    on = " and ".join(f"ch.{quote_ident(a)} = pa.{quote_ident(b)}"
                      for a, b in zip(rel.child.key, rel.parent.key, strict=True))
    value, limit = quote_ident(rel.child.value), quote_ident(rel.parent.value)
    lines = f"(select *, row_number() over () + 1 as line from {reads['c']})"
    child_rows = (f"select {keys}, sum({value}) as total, min(line) as line from {lines} group by {keys}"
                  if rel.kind == "sum_within" else f"select {keys}, {value} as total, line from {lines}")
    broken = f"ch.total > pa.{limit}" if rel.kind == "sum_within" else f"ch.total < pa.{limit}"
    sql = (f"with ch as ({child_rows}) "
           f"select count(*), min(ch.line), arg_min(ch.total, ch.line), arg_min(pa.{limit}, ch.line) "
           f"from ch join {reads['p']} as pa on {on} where {broken}")
    return sql, params
