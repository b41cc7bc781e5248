"""Plan's work on the models themselves: render every template in the sandbox (each must be one
SELECT), order them by the refs rendering found, and bind each against typed empty sources with file
access off, comparing what it returns with the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakcli.contracts.load import REGISTRY, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.engine.parse import duckdb_version, parse_ahead, select_problem, sql_memo
from leakcli.errors import CycleError, RenderError
from leakcli.jsonout import digest
from leakcli.plan.graph import topological_order
from leakcli.render.renderer import Rendered, render_memo, renderer_for

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.context import Project


def build_order(c: Contracts, rendered: dict[str, Rendered], q: Questions) -> list[str]:
    """Build order from the refs found by rendering, ties broken by the IR's order."""
    nodes = [n for n in c.ir.models if n in c.models] + [n for n in c.models if n not in c.ir.models]
    parents = {n: [p for p in rendered[n].refs if p in c.models] if n in rendered else [] for n in nodes}
    try:
        return topological_order(nodes, parents)
    except CycleError as exc:
        q.ask(Code.CYCLE, f"{REGISTRY}#{c.model_pointer(exc.path[0])}",
              f"The models form a cycle {' -> '.join(exc.path)}: which dependency should go?")
        return []


def render_all(project: Project, q: Questions) -> dict[str, Rendered]:
    """Every model's template rendered and found to be one clean SELECT; a question for each that is not."""
    c, memo = project.contracts, sql_memo(project.cache)
    renderer = renderer_for(c, render_memo(project.cache))
    made: dict[str, Rendered] = {}
    for name in c.models:
        try:
            made[name] = renderer.render_model(name)
        except RenderError as exc:
            q.ask(Code.RENDER_ERROR, exc.location or c.models[name].template,
                  f"Template of '{name}' cannot be rendered: {exc.message.rstrip('.')}. How should it read?")
    parse_ahead([r.sql for r in made.values()], memo)
    rendered: dict[str, Rendered] = {}
    for name, r in made.items():
        problem = select_problem(r.sql, memo)
        if problem:  # never bound nor run
            q.ask(Code.NOT_ONE_SELECT, r.template,
                  f"Template of '{name}' {problem}: a model is exactly one SELECT; how should it read?")
            continue
        rendered[name] = r
    return rendered


def required_tables(c: Contracts, rendered: dict[str, Rendered]) -> list[str]:
    """Tables the build reads: those the manifest marks required and those a template reads."""
    used = {t for r in rendered.values() for s, t in r.sources if s == c.source_name}
    return [t for t in c.tables if c.tables[t].required or t in used]


def bind_key(c: Contracts, rendered: dict[str, Rendered], order: list[str], tables: list[str]) -> str:
    """Everything binding depends on: DuckDB's version, each model's SQL and declared columns, and
    the declared columns of the sources."""
    return digest({"duckdb": duckdb_version(),
                    "models": [(n, rendered[n].sql, c.models[n].declared) for n in order],
                    "sources": [(t, [(col.name, col.type) for col in c.tables[t].columns])
                                for t in tables if t in c.tables]})


def bind_memo(cache: Cache) -> Section:
    """This module's section of the cache: `bound` -> the bind_key of the models that last bound cleanly."""
    return cache.section("bind", "1")


def bind_models(c: Contracts, rendered: dict[str, Rendered], order: list[str],
                tables: list[str], q: Questions, memo: Section | None = None) -> None:
    """Bind each model (DuckDB resolves names and types without running it) against typed empty
    sources and its upstream models' declared columns; compare the result with the registry. Models
    that bound cleanly before, unchanged, are not bound again (`memo` remembers them)."""
    key = bind_key(c, rendered, order, tables)
    if memo is not None and memo.get("bound") == key:
        return
    from leakcli.engine.connection import QueryError, connect, describe, lockdown
    from leakcli.engine.load import create_empty_sources
    from leakcli.engine.sqltext import quote_ident

    asked = len(q.items)
    con = connect(memory_limit=c.phase_plan.engine.limit())
    create_empty_sources(con, c, [t for t in tables if t in c.tables])
    lockdown(con)  # binding reads no file and loads nothing
    for name in order:
        model = c.models[name]
        declared = [(col.name, col.type) for col in model.columns]
        r = rendered[name]
        try:
            found = describe(con, r.sql)
        except QueryError as exc:
            q.ask(Code.BIND_ERROR, r.template,
                  f"Model '{name}' does not bind against its inputs: {exc.detail} Which column is meant?")
            found = None
        if found is not None and found != declared:
            q.ask(Code.CONTRACT_MISMATCH,
                  f"{REGISTRY}#{c.model_pointer(name)}/columns",
                  f"Model '{name}' returns {columns_diff(found, declared)}: is the template or the "
                  f"registry right?")
        cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in declared)
        con.execute(f"create table {quote_ident(name)} ({cols})")
    con.close()
    if memo is not None and len(q.items) == asked:
        memo.put("bound", key)


def columns_diff(found: list[tuple[str, str]], declared: list[tuple[str, str]]) -> str:
    f, d = dict(found), dict(declared)
    parts = [f"no column '{n}'" for n in d if n not in f]
    parts += [f"an undeclared column '{n}'" for n in f if n not in d]
    parts += [f"'{n}' as {f[n]} where the registry declares {d[n]}" for n in d if n in f and f[n] != d[n]]
    if not parts:
        parts.append(f"its columns in the order {', '.join(f)} instead of {', '.join(d)}")
    return "; ".join(parts)
