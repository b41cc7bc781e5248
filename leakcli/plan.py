"""`plan`: read every contract, check them against each other and the data, bind every model, and
decide what `apply` will do with each. Pure: reads files and the built database, writes nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakcli import checks, contracts, state
from leakcli.ambiguity import Ambiguity, Code, Questions
from leakcli.contracts import REGISTRY, Contracts
from leakcli.errors import ContractError, RenderError, UsageError
from leakcli.jsonout import SCHEMA_VERSION, envelope, write_atomic
from leakcli.project import Paths, resolve_data
from leakcli.render import Rendered, Renderer


@dataclass(frozen=True)
class PlanRequest:
    root: Path
    data_dir: str | None = None
    select: tuple[str, ...] = ()
    full_refresh: bool = False


@dataclass(frozen=True)
class ModelStep:
    name: str
    layer: str
    depends_on: list[str]
    sources: list[str]
    action: str  # create | rebuild | unchanged | skip (not selected)
    reason: str
    fingerprint: str
    template: str
    sql: str
    parts: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "layer": self.layer, "depends_on": self.depends_on,
                "sources": self.sources, "action": self.action, "reason": self.reason,
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class Plan:
    root: str
    read: list[str]
    data: dict[str, Any]
    sources: list[dict[str, Any]]
    ambiguities: list[Ambiguity]
    order: list[str]
    models: list[ModelStep]
    select: list[str]
    full_refresh: bool
    inputs: dict[str, str]
    fingerprint: str

    @property
    def blocking(self) -> list[Ambiguity]:
        return [a for a in self.ambiguities if a.severity == "blocking"]

    def to_dict(self, *, with_sql: bool = False) -> dict[str, Any]:
        models = []
        for m in self.models:
            d = m.summary()
            if with_sql:
                d.update(template=m.template, sql=m.sql, parts=m.parts)
            models.append(d)
        return {
            **envelope(),
            "read": self.read,
            "dataset": self.data,
            "sources": self.sources,
            "ambiguities": [a.to_dict() for a in self.ambiguities],
            "order": self.order,
            "models": models,
            "select": self.select,
            "full_refresh": self.full_refresh,
            "inputs": self.inputs,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], root: Path) -> Plan:
        return cls(
            root=str(root),
            read=doc["read"],
            data=doc["dataset"],
            sources=doc["sources"],
            ambiguities=[Ambiguity(**{**a, "code": Code(a["code"])}) for a in doc["ambiguities"]],
            order=doc["order"],
            models=[ModelStep(name=m["name"], layer=m["layer"], depends_on=m["depends_on"],
                              sources=m["sources"], action=m["action"], reason=m["reason"],
                              fingerprint=m["fingerprint"], template=m["template"], sql=m["sql"],
                              parts=m["parts"]) for m in doc["models"]],
            select=doc["select"],
            full_refresh=doc["full_refresh"],
            inputs=doc["inputs"],
            fingerprint=doc["fingerprint"],
        )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(obj: Any) -> str:
    return sha256_text(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str))


def render_all(c: Contracts, q: Questions) -> dict[str, Rendered]:
    renderer = Renderer(c)
    rendered: dict[str, Rendered] = {}
    for name in c.models:
        try:
            rendered[name] = renderer.render_model(name)
        except RenderError as exc:
            q.ask(Code.RENDER_ERROR, exc.location or c.models[name].template,
                  f"Template of '{name}' cannot be rendered: {exc.message}. How should it read?")
    return rendered


def required_tables(c: Contracts, rendered: dict[str, Rendered]) -> list[str]:
    """Tables the build reads: those the manifest marks required and those a template reads."""
    used = {t for r in rendered.values() for s, t in r.sources if s == c.source_name}
    return [t for t in c.tables if c.tables[t].required or t in used]


def bind_models(c: Contracts, rendered: dict[str, Rendered], order: list[str],
                tables: list[str], q: Questions) -> None:
    """Bind each model (DuckDB resolves names and types without running it) against typed empty
    sources and its upstream models' declared columns; compare the result with the registry."""
    import duckdb

    from leakcli.engine import connect, create_empty_sources, describe
    from leakcli.render import quote_ident

    con = connect()
    create_empty_sources(con, c, [t for t in tables if t in c.tables])
    for name in order:
        model = c.models[name]
        declared = [(col.name, col.type) for col in model.columns]
        r = rendered[name]
        try:
            found = describe(con, r.sql)
        except duckdb.Error as exc:
            text = " ".join(str(exc).split())
            q.ask(Code.BIND_ERROR, r.template,
                  f"Model '{name}' does not bind against its inputs: {text} Which column is meant?")
            found = None
        if found is not None and found != declared:
            q.ask(Code.CONTRACT_MISMATCH,
                  f"{REGISTRY}#{c.model_pointer(name)}/columns",
                  f"Model '{name}' returns {columns_diff(found, declared)}: is the template or the "
                  f"registry right?")
        cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in declared)
        con.execute(f"create table {quote_ident(name)} ({cols})")
    con.close()


def columns_diff(found: list[tuple[str, str]], declared: list[tuple[str, str]]) -> str:
    f, d = dict(found), dict(declared)
    parts = [f"no column '{n}'" for n in d if n not in f]
    parts += [f"an undeclared column '{n}'" for n in f if n not in d]
    parts += [f"'{n}' as {f[n]} where the registry declares {d[n]}" for n in d if n in f and f[n] != d[n]]
    if not parts:
        parts.append(f"its columns in the order {', '.join(f)} instead of {', '.join(d)}")
    return "; ".join(parts)


def _actions(c: Contracts, rendered: dict[str, Rendered], order: list[str],
             source_shas: dict[str, str], built: dict[str, dict[str, Any] | None],
             chosen: set[str], full_refresh: bool) -> list[ModelStep]:
    steps: list[ModelStep] = []
    fps: dict[str, str] = {}
    for name in order:
        model, r = c.models[name], rendered[name]
        parts = {
            "sql": sha256_text(r.sql),
            "contract": _digest(model.model_dump(include={"columns", "grain", "layer", "materialized"},
                                                 exclude_none=True)),
            "upstream": {p: fps[p] for p in r.refs if p in fps},
            "sources": {t: source_shas.get(t, "") for s, t in r.sources},
        }
        fp = _digest(parts)
        fps[name] = fp
        exists = name in built
        old = built.get(name) or {}
        old_parts = old.get("parts", {})
        if name not in chosen:
            action, reason = "skip", "not selected" + ("" if exists else "; not built yet")
        elif not exists:
            action, reason = "create", "not built yet"
        elif full_refresh:
            action, reason = "rebuild", "--full-refresh"
        elif old.get("fingerprint") == fp:
            action, reason = "unchanged", "fingerprint matches the built table"
        else:
            action, reason = "rebuild", _why(parts, old_parts)
        steps.append(ModelStep(name=name, layer=model.layer, depends_on=list(r.refs),
                               sources=[f"{s}.{t}" for s, t in r.sources], action=action,
                               reason=reason, fingerprint=fp, template=r.template, sql=r.sql,
                               parts=parts))
    return steps


def _why(new: dict[str, Any], old: dict[str, Any]) -> str:
    if not old:
        return "the built table carries no leakcli metadata"
    reasons = []
    if new["sql"] != old.get("sql"):
        reasons.append("its SQL changed")
    if new["contract"] != old.get("contract"):
        reasons.append("its registry contract changed")
    for up, fp in new["upstream"].items():
        if old.get("upstream", {}).get(up) != fp:
            reasons.append(f"upstream model {up} changed")
    for table, sha in new["sources"].items():
        if old.get("sources", {}).get(table) != sha:
            reasons.append(f"source file of {table} changed" if sha else f"source {table} is pending")
    return "; ".join(reasons) or "its inputs changed"


def build_plan(req: PlanRequest, c: Contracts | None = None) -> Plan:
    """Read, check and decide; raises ContractError when a contract cannot be read at all.
    `c`: the project's contracts when the caller loaded them already (they are parsed once a command)."""
    from leakcli.datachecks import check_relations, check_sources
    from leakcli.profile import compare_profiles, known_values, load_profiles

    paths = Paths(req.root)
    c = c or contracts.load(req.root)
    q = Questions()
    rendered = render_all(c, q)
    order = checks.check_contracts(c, rendered, q)
    order = [n for n in order if n in rendered]
    tables = required_tables(c, rendered)
    data = resolve_data(req.root, req.data_dir, [c.tables[t].file for t in tables])
    pending = data.synthetic and not all((data.path / c.tables[t].file).exists() for t in tables)
    if data.synthetic:
        q.ask(Code.SYNTHETIC_FALLBACK, paths.rel(data.path),
              "No Maven CSVs were found in datasets/maven-fuzzy-factory/raw/ and no data directory "
              "was named, so this build runs on the embedded synthetic dataset"
              + (" (apply generates it first)" if pending else "")
              + ". Name the real files with --data-dir or LEAKCLI_DATA_DIR?")
    profiles = load_profiles(c, paths)
    facts = check_sources(c, data.path, tables, q, paths.rel, expect_missing=pending,
                          known=known_values(profiles), profiles=profiles)
    check_relations(c, data.path, facts, q, paths.rel)
    compare_profiles(c, paths, facts, profiles, q)
    if order and not q.blocking:
        bind_models(c, rendered, order, tables, q)
    chosen = _selection(req.select, order, rendered)
    built = state.read_state(paths.database)
    shas = {t: f.sha256 for t, f in facts.items()}
    steps = _actions(c, rendered, order, shas, built, chosen, req.full_refresh) if order else []
    inputs = dict(c.digests)
    inputs[c.prompt_path] = sha256_text(c.prompt)
    for r in rendered.values():
        inputs[r.template] = r.text_sha256
    for f in facts.values():
        inputs[f.file] = f.sha256 or ("pending" if pending else "missing")
    fingerprint = _digest({"inputs": inputs, "steps": [(s.name, s.action, s.fingerprint) for s in steps],
                           "data": str(data.path), "select": sorted(req.select)})
    return Plan(
        root=str(req.root),
        read=list(c.read) + [r.template for r in rendered.values()]
        + [paths.rel(paths.profiles / f"{t}.json") for t in profiles] + [f.file for f in facts.values() if f.exists],
        data={**data.describe(), "path": paths.rel(data.path), "pending": pending},
        sources=[f.to_dict() for f in facts.values()],
        ambiguities=q.items,
        order=order,
        models=steps,
        select=list(req.select),
        full_refresh=req.full_refresh,
        inputs=inputs,
        fingerprint=fingerprint,
    )


def _selection(select: tuple[str, ...], order: list[str], rendered: dict[str, Rendered]) -> set[str]:
    if not select:
        return set(order)
    from leakcli.graph import select as graph_select

    parents = {n: [p for p in rendered[n].refs if p in rendered] for n in order}
    return graph_select(list(select), order, parents)


def load_saved(path: Path, root: Path) -> Plan:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError("saved plan does not exist", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ContractError(f"malformed JSON: {exc.msg}", file=str(path), line=exc.lineno,
                            column=exc.colno) from None
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION or "inputs" not in doc:
        raise ContractError("not a saved leakcli plan (run `leakcli plan --out FILE`)", file=str(path))
    try:
        return Plan.from_dict(doc, root)
    except (KeyError, TypeError) as exc:
        raise ContractError(f"saved plan is incomplete: {exc}", file=str(path)) from None


def save_plan(plan: Plan, out: Path) -> None:
    """Write the plan, with the SQL apply will run, for `apply PLAN_FILE`."""
    from leakcli.errors import ExecutionError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, json.dumps(plan.to_dict(with_sql=True), indent=2) + "\n")
    except OSError as exc:
        raise ExecutionError(f"cannot write the plan: {exc.strerror}", file=str(out)) from None
