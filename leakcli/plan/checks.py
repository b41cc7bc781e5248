"""Contract checks of `plan`: the contracts against each other and against the rendered templates.

Nothing here reads data or writes anything; every finding becomes a question (LEAK-SPEC §9).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from leakcli.contracts.load import CATALOG, CONTRACT_FILES, DECISIONS, JOINS, MANIFEST, REGISTRY, TESTS, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.files import NAME_MAX, TMP
from leakcli.jsonout import closest
from leakcli.render.renderer import Rendered, action_formats, action_placeholders, render_memo, renderer_for

if TYPE_CHECKING:
    from leakcli.context import Project


def _closest(name: str, options: list[str]) -> str:
    close = closest(name, options)
    return f" Did you mean '{close}'?" if close else ""


def check_model_sets(c: Contracts, q: Questions) -> None:
    ir_models = list(c.ir.models)
    registry = list(c.models)
    for name in ir_models:
        if name not in registry:
            q.ask(Code.IR_REGISTRY_MISMATCH, f"{c.ir_path}#/models/{ir_models.index(name)}",
                  f"Model '{name}' is in the stage IR but not in {REGISTRY}: add it to the registry "
                  f"or remove it from the IR?{_closest(name, registry)}")
    for name in registry:
        if name not in ir_models:
            q.ask(Code.IR_REGISTRY_MISMATCH, f"{REGISTRY}#{c.model_pointer(name)}",
                  f"Model '{name}' is in the registry but not in the stage IR {c.ir_path}: "
                  f"is it part of this stage?")
    for i, name in enumerate(c.ir.final_models):
        if name not in ir_models:
            q.ask(Code.IR_REGISTRY_MISMATCH, f"{c.ir_path}#/final_models/{i}",
                  f"Final model '{name}' is not among the models of the stage IR: which model is meant?"
                  f"{_closest(name, ir_models)}")


def check_scope(c: Contracts, q: Questions) -> None:
    """Names and descriptions that speak of work this build excludes (the catalog's out_of_scope words)."""
    out_of_scope = re.compile("|".join(re.escape(w) for w in c.catalog.out_of_scope), re.IGNORECASE)
    for i, name in enumerate(c.ir.models):
        if out_of_scope.search(name):
            q.ask(Code.OUT_OF_SCOPE, f"{c.ir_path}#/models/{i}",
                  f"Model '{name}' looks like experiment, funnel, launch or bundle analysis, which "
                  f"this build excludes: remove it from the stage IR?")
    for i, model in enumerate(c.registry.models):
        texts = [("name", model.name), ("description", model.description or "")]
        texts += [(f"columns/{j}/name", col.name) for j, col in enumerate(model.columns)]
        for where, text in texts:
            hit = out_of_scope.search(text)
            if hit:
                q.ask(Code.OUT_OF_SCOPE, f"{REGISTRY}#/models/{i}/{where}",
                      f"Model '{model.name}' mentions '{hit.group(0)}' ({where}): experiments, "
                      f"funnel steps, launches and bundles are out of scope; remove it or record "
                      f"why it belongs to this stage?")
                break


FILE_NAMES = {  # the longest file name leakcli makes of a model's or a source table's name
    "model": (".sql" + TMP, "apply writes compiled/<name>.sql through <name>.sql.tmp"),
    "table": (".json" + TMP, "`leakcli profile` writes <name>.json through <name>.json.tmp"),
}


def check_names(c: Contracts, q: Questions) -> None:
    """A model or source table whose name is too long for the files leakcli names after it: asked
    before anything is written, rather than failing half-way through apply."""
    named = [("model", f"{REGISTRY}#/models/{i}/name", m.name) for i, m in enumerate(c.registry.models)]
    named += [("table", f"{MANIFEST}#/tables/{i}/name", t.name) for i, t in enumerate(c.manifest.tables)]
    for kind, location, name in named:
        suffix, files = FILE_NAMES[kind]
        longest = NAME_MAX - len(suffix)
        if len(name.encode()) > longest:
            shown = name if len(name) <= 40 else f"{name[:20]}...{name[-12:]}"
            q.ask(Code.NAME_TOO_LONG, location,
                  f"The {kind} name '{shown}' is {len(name.encode())} bytes long, more than the {longest} a {kind} "
                  f"name may have: {files}, and a file name holds at most {NAME_MAX} bytes. Which shorter name?")


def check_registry(c: Contracts, q: Questions) -> None:
    for i, model in enumerate(c.registry.models):
        names = [col.name for col in model.columns]
        for j, g in enumerate(model.grain):
            if g not in names:
                q.ask(Code.UNKNOWN_COLUMN, f"{REGISTRY}#/models/{i}/grain/{j}",
                      f"Grain column '{g}' of model '{model.name}' is not one of its declared "
                      f"columns: which column is meant?{_closest(g, names)}")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            q.ask(Code.DUPLICATE_COLUMN, f"{REGISTRY}#/models/{i}/columns",
                  f"Model '{model.name}' declares column(s) {', '.join(dup)} twice: which one holds?")


def check_templates(c: Contracts, rendered: dict[str, Rendered], q: Questions) -> None:
    models = list(c.models)
    tables = list(c.tables)
    for name, r in rendered.items():
        model = c.models[name]
        ptr = f"{REGISTRY}#{c.model_pointer(name)}/depends_on"
        declared_refs = model.depends_on.refs
        for ref in r.refs:
            if ref not in models:
                q.ask(Code.UNKNOWN_REF, r.template,
                      f"Template of '{name}' calls ref('{ref}'), which names no model: which model is meant?"
                      f"{_closest(ref, models)}")
            elif ref not in declared_refs:
                q.ask(Code.UNDECLARED_DEPENDENCY, r.template,
                      f"Template of '{name}' calls ref('{ref}') but {ptr}/refs does not declare it: "
                      f"add the dependency or remove the ref?")
        for ref in declared_refs:
            if ref not in r.refs:
                q.ask(Code.UNDECLARED_DEPENDENCY, f"{ptr}/refs",
                      f"Model '{name}' declares a dependency on '{ref}' but its template never calls "
                      f"ref('{ref}'): remove the declaration or use the model?")
        used_sources = [f"{s}.{t}" for s, t in r.sources]
        for s, t in r.sources:
            if t in models or s in models:
                q.ask(Code.SOURCE_FOR_MODEL, r.template,
                      f"Template of '{name}' reaches generated model '{t if t in models else s}' "
                      f"through source('{s}', '{t}'): use ref('{t if t in models else s}') instead?")
            elif s != c.source_name or t not in tables:
                q.ask(Code.UNKNOWN_SOURCE, r.template,
                      f"Template of '{name}' calls source('{s}', '{t}'), which the manifest does not "
                      f"declare: which table is meant?{_closest(t, tables)}")
            elif f"{s}.{t}" not in model.depends_on.sources:
                q.ask(Code.UNDECLARED_DEPENDENCY, r.template,
                      f"Template of '{name}' reads source('{s}', '{t}') but {ptr}/sources does not "
                      f"declare it: add the dependency or remove the read?")
        for src in model.depends_on.sources:
            if src not in used_sources:
                q.ask(Code.UNDECLARED_DEPENDENCY, f"{ptr}/sources",
                      f"Model '{name}' declares source '{src}' but its template never reads it: "
                      f"remove the declaration?")
        for lit in r.literal_names:
            if lit != name:
                q.ask(Code.LITERAL_MODEL_NAME, r.template,
                      f"Template of '{name}' names generated model '{lit}' literally instead of "
                      f"through ref('{lit}'): replace it with {{{{ ref('{lit}') }}}}?")


def check_metrics(c: Contracts, q: Questions) -> None:
    columns = {m.name: {col.name for col in m.columns} for m in c.registry.models}
    # steps of a model's SQL that are not its columns: working metrics and the expected sums
    working = {m.name for m in c.catalog.metrics if m.working} | {e.column for e in c.catalog.priority.expectation}
    for i, metric in enumerate(c.catalog.metrics):
        for j, model in enumerate(metric.models):
            if model not in columns:
                q.ask(Code.UNKNOWN_MODEL, f"{CATALOG}#/metrics/{i}/models/{j}",
                      f"Metric '{metric.name}' is computed in '{model}', which names no model: which "
                      f"model is meant?{_closest(model, list(columns))}")
                continue
            for k, col in enumerate(metric.inputs):
                if col not in columns[model] and col not in working:
                    q.ask(Code.METRIC_UNKNOWN_COLUMN, f"{CATALOG}#/metrics/{i}/inputs/{k}",
                          f"Metric '{metric.name}' uses column '{col}', which model '{model}' does "
                          f"not declare: which column is meant?{_closest(col, sorted(columns[model]))}")
    priority = c.catalog.priority
    summary = [m for m in c.ir.final_models if m != priority.model]
    target = columns.get(priority.model, set())
    source_cols = set().union(*(columns.get(m, set()) for m in summary)) if summary else set()
    texts = target | set(priority.comparison.columns if priority.comparison else [])
    checks: list[tuple[str, str, set[str]]] = []
    checks += [(f"/priority/flag_columns/{i}", col, source_cols) for i, col in enumerate(priority.flag_columns)]
    checks += [(f"/priority/rank_by/{i}/column", r.column, target) for i, r in enumerate(priority.rank_by)]
    checks += [(f"/priority/scopes/{i}/gap", s.gap, source_cols) for i, s in enumerate(priority.scopes)]
    checks += [(f"/priority/leaks/{i}/column", leak.column, target) for i, leak in enumerate(priority.leaks)]
    actions = [(f"/priority/texts/{i}/{part}", text) for i, t in enumerate(priority.texts)
               for part, text in (("text", t.text), ("unpaid_text", t.unpaid_text)) if text]
    checks += [(where, p, texts) for where, text in actions for p in action_placeholders(text)]
    if c.catalog.report:  # the report fills what to look at first from the priority mart's row
        checks += [(f"/report/look_first/{i}/{part}", p, target) for i, f in enumerate(c.catalog.report.look_first)
                   for part, text in (("text", f.text), ("unpaid_text", f.unpaid_text)) if text
                   for p in action_placeholders(text)]
    for where, col, allowed in checks:
        if col not in allowed:
            q.ask(Code.METRIC_UNKNOWN_COLUMN, f"{CATALOG}#{where}",
                  f"The priority rule names column '{col}', which no model it reads declares: which "
                  f"column is meant?{_closest(col, sorted(allowed))}")
    formats = c.catalog.formats
    for where, text in actions:
        for kind in action_formats(text):
            if kind not in formats:
                q.ask(Code.UNKNOWN_FORMAT, f"{CATALOG}#{where}",
                      f"The action text uses format '{kind}', which {CATALOG}#/formats does not define: "
                      f"which format is meant?{_closest(kind, sorted(formats))}")
    check_texts(c, q)


def check_texts(c: Contracts, q: Questions) -> None:
    """Every status and every primary leak has exactly the texts it needs, and the scopes name baselines."""
    priority = c.catalog.priority
    statuses = [s.name for s in priority.statuses]
    leaks = [s.primary_leak for s in priority.scopes if s.primary_leak] + [leak.name for leak in priority.leaks]
    baselines = [b.name for b in c.catalog.baselines]
    for i, scope in enumerate(priority.scopes):
        if scope.baseline not in baselines:
            q.ask(Code.PRIORITY_RULE, f"{CATALOG}#/priority/scopes/{i}/baseline",
                  f"Scope '{scope.name}' is measured against baseline '{scope.baseline}', which "
                  f"{CATALOG}#/baselines does not define: which baseline is meant?"
                  f"{_closest(scope.baseline, baselines)}")
    covered: dict[tuple[str, str], int] = {}
    for i, t in enumerate(priority.texts):
        where = f"{CATALOG}#/priority/texts/{i}"
        if t.status not in statuses:
            q.ask(Code.PRIORITY_RULE, f"{where}/status",
                  f"A text is for status '{t.status}', which {CATALOG}#/priority/statuses does not define: "
                  f"which status is meant?{_closest(t.status, statuses)}")
        for j, leak in enumerate(t.leaks):
            if leak not in leaks:
                q.ask(Code.PRIORITY_RULE, f"{where}/leaks/{j}",
                      f"A text is for primary leak '{leak}', which no scope or leak of {CATALOG}#/priority "
                      f"names: which leak is meant?{_closest(leak, leaks)}")
            elif (t.status, leak) in covered:
                q.ask(Code.PRIORITY_RULE, f"{where}/leaks/{j}",
                      f"Texts {covered[(t.status, leak)]} and {i} both say what to do for a '{t.status}' action "
                      f"whose primary leak is '{leak}': which one holds?")
            covered.setdefault((t.status, leak), i)
    for status in statuses:
        for leak in leaks:
            if (status, leak) not in covered:
                q.ask(Code.PRIORITY_RULE, f"{CATALOG}#/priority/texts",
                      f"No text says what to do for a '{status}' action whose primary leak is '{leak}': "
                      f"what should it say?")


def check_joins(c: Contracts, q: Questions) -> None:
    cols = {m.name: {col.name: col.type for col in m.columns} for m in c.registry.models}
    for i, j in enumerate(c.joins.joins):
        loc = f"{JOINS}#/joins/{i}"
        if j.cardinality is None:
            q.ask(Code.JOIN_CARDINALITY, loc,
                  f"Join '{j.name}' declares no cardinality: how many {j.right.model} rows "
                  f"may match one {j.left.model} row (one_to_one, one_to_zero_or_one, ...)?")
        sides = {"left": j.left, "right": j.right}
        if len(sides["left"].keys) != len(sides["right"].keys):
            q.ask(Code.JOIN_KEYS, loc,
                  f"Join '{j.name}' has {len(sides['left'].keys)} left keys and "
                  f"{len(sides['right'].keys)} right keys: which keys pair up?")
            continue
        for side, spec in sides.items():
            if spec.model not in cols:
                q.ask(Code.UNKNOWN_MODEL, f"{loc}/{side}/model",
                      f"Join '{j.name}' names model '{spec.model}', which is not in the registry: "
                      f"which model is meant?{_closest(spec.model, list(cols))}")
        if any(spec.model not in cols for spec in sides.values()):
            continue
        for k, (lk, rk) in enumerate(zip(sides["left"].keys, sides["right"].keys, strict=True)):
            lt, rt = cols[sides["left"].model].get(lk), cols[sides["right"].model].get(rk)
            for side, key, typ in (("left", lk, lt), ("right", rk, rt)):
                if typ is None:
                    model = sides[side].model
                    q.ask(Code.UNKNOWN_COLUMN, f"{loc}/{side}/keys/{k}",
                          f"Join '{j.name}' uses key '{key}', which model '{model}' does not "
                          f"declare: which column is meant?{_closest(key, sorted(cols[model]))}")
            if lt and rt and lt != rt:
                q.ask(Code.JOIN_KEY_TYPES, f"{loc}/left/keys/{k}",
                      f"Join '{j.name}' compares {sides['left'].model}.{lk} ({lt}) with "
                      f"{sides['right'].model}.{rk} ({rt}): which type is right?")


def check_partition(c: Contracts, q: Questions) -> None:
    """An incremental model names a partition the contracts can reach: its source's primary key (a
    staging model), a key of the join contracts' partition, or the partition's month column; and
    every model, column, join and source the partition names exists."""
    cols = {m.name: {col.name for col in m.columns} for m in c.registry.models}
    part = c.joins.partition
    reachable: set[str] = set()
    if part is not None:
        loc = f"{JOINS}#/partition"
        names = [("month", part.month.model, [part.month.key, part.month.column, part.month.model_time])]
        names += [(f"keys/{i}", k.model, [k.key, k.to]) for i, k in enumerate(part.keys)]
        names += [(f"sources/{i}", s.model, [s.key]) for i, s in enumerate(part.sources)]
        for where, name, needed in names:
            if name not in cols:
                q.ask(Code.PARTITION, f"{loc}/{where}/model", f"The partition names model '{name}', which is not "
                      f"in {REGISTRY}: which model is meant?{_closest(name, list(cols))}")
                continue
            for col in needed:
                if col not in cols[name]:
                    q.ask(Code.PARTITION, f"{loc}/{where}", f"The partition reads column '{col}' of '{name}', "
                          f"which it does not declare: which column is meant?{_closest(col, sorted(cols[name]))}")
        joins = {j.name for j in c.joins.joins}
        for i, k in enumerate(part.keys):
            if k.join not in joins:
                q.ask(Code.PARTITION, f"{loc}/keys/{i}/join", f"The partition follows join '{k.join}', which "
                      f"{JOINS} does not define: which join is meant?{_closest(k.join, sorted(joins))}")
        sources = [(part.month.source, part.month.time, "month")] + [(s.table, s.key, f"sources/{i}")
                                                                   for i, s in enumerate(part.sources)]
        for table, col, where in sources:
            if table not in c.tables or col not in [x.name for x in c.tables[table].columns]:
                q.ask(Code.PARTITION, f"{loc}/{where}", f"The partition reads {table}.{col}, which the source "
                      f"manifest does not declare: which column is meant?")
        reachable = {part.column, part.month.key, *(k.key for k in part.keys)}
        reachable |= {pk for src in part.sources if src.table in c.tables
                      for pk in c.tables[src.table].primary_key[:1] if c.tables[src.table].primary_key == [pk]}
    for i, model in enumerate(c.registry.models):
        where = f"{REGISTRY}#/models/{i}/partition_by"
        if model.materialized != "incremental":
            if model.partition_by is not None:
                q.ask(Code.PARTITION, where, f"Model '{model.name}' names a partition but is materialized as a "
                      f"table: make it incremental, or drop partition_by?")
            continue
        if model.partition_by is None or model.partition_by not in model.grain:
            q.ask(Code.PARTITION, where, f"Incremental model '{model.name}' needs partition_by, one of its grain "
                  f"columns ({', '.join(model.grain)}): which column are its rows rebuilt by?")
        elif model.partition_by not in reachable:
            known = ", ".join(sorted(reachable)) or "nothing"
            q.ask(Code.PARTITION, where, f"Incremental model '{model.name}' is partitioned by '{model.partition_by}', "
                  f"which the partition of {JOINS} does not reach (it reaches {known}): which column is meant, "
                  f"or should the model be a table?")


def check_tests(c: Contracts, q: Questions) -> None:
    models = list(c.models)
    joins = {j.name for j in c.joins.joins}
    for i, test in enumerate(c.tests.tests):
        refs = [("model", test.model)] + ([("to", test.to)] if test.to else [])
        refs += [(f"targets/{k}/model", t.model) for k, t in enumerate(test.targets or [])]
        for where, model in refs:
            if model != "*" and model not in models:
                q.ask(Code.UNKNOWN_MODEL, f"{TESTS}#/tests/{i}/{where}",
                      f"Acceptance test {test.id} names model '{model}', which is not in the "
                      f"registry: which model is meant?{_closest(model, models)}")
        if test.join and test.join not in joins:
            q.ask(Code.UNKNOWN_JOIN, f"{TESTS}#/tests/{i}/join",
                  f"Acceptance test {test.id} names join '{test.join}', which is not in {JOINS}: "
                  f"which join is meant?{_closest(test.join, sorted(joins))}")


def check_fragments(project: Project, q: Questions) -> None:
    """Every SQL fragment of the contracts renders in the sandbox and makes exactly one SELECT that
    reads no file: metric formulas, number formats, and the acceptance tests' SQL."""
    from leakcli.engine.parse import parse_ahead, select_problem, sql_memo
    from leakcli.errors import RenderError

    c, memo = project.contracts, sql_memo(project.cache)
    renderer = renderer_for(c, render_memo(project.cache))
    fragments: list[tuple[str, str, str]] = []  # (location, text, how it is wrapped into a query)
    fragments += [(f"{CATALOG}#/metrics/{i}/sql", m.sql, "select ({}) from t") for i, m in enumerate(c.catalog.metrics)]
    fragments += [(f"{CATALOG}#/formats/{name}/sql", f.sql.replace("{value}", "x"), "select ({}) from t")
                  for name, f in c.catalog.formats.items()]
    for i, test in enumerate(c.tests.tests):
        where = f"{TESTS}#/tests/{i}"
        if test.condition:
            fragments.append((f"{where}/condition", test.condition, "select * from t where not coalesce(({}), false)"))
        if test.query:
            fragments.append((f"{where}/query", test.query, "{}"))
        for k, check in enumerate(test.checks or []):
            fragments += [(f"{where}/checks/{k}/{part}", text, "{}") for part, text in
                          (("observed", check.observed), ("expected", check.expected), ("sample", check.sample))
                          if text]
    queries: list[tuple[str, str]] = []
    for location, text, wrap in fragments:
        try:
            queries.append((location, wrap.replace("{}", renderer.render_sql(location, text).sql.strip())))
        except RenderError as exc:
            q.ask(Code.RENDER_ERROR, location, f"This SQL fragment cannot be rendered: {exc.message.rstrip('.')}. "
                                               f"How should it read?")
    parse_ahead([sql for _, sql in queries], memo)
    for location, sql in queries:
        problem = select_problem(sql, memo)
        if problem:
            q.ask(Code.NOT_ONE_SELECT, location,
                  f"This SQL fragment, put in its query, {problem}: how should it read?")


def _decision_marks(doc: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "requires_decision" and isinstance(value, str):
                yield f"{pointer}/{key}", value
            else:
                yield from _decision_marks(value, f"{pointer}/{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _decision_marks(value, f"{pointer}/{i}")


def check_decisions(c: Contracts, q: Questions) -> None:
    decided = {d.key: d.id for d in c.decisions.decisions}
    seen: set[str] = set()
    for attr, (rel, _schema) in CONTRACT_FILES.items():
        for ptr, key in _decision_marks(getattr(c, attr).model_dump(by_alias=True, exclude_none=True)):
            if key in decided:
                if key not in seen:
                    q.ask(Code.DECISION, f"{rel}#{ptr}",
                          f"Settled by {decided[key]} in {DECISIONS}: {key}.", resolved_by=decided[key])
                seen.add(key)
            else:
                q.ask(Code.OPEN_DECISION, f"{rel}#{ptr}",
                      f"'{key}' requires a decision and {DECISIONS} has none: what is the rule (record "
                      f"it there as a decision with key '{key}')?")


def check_contracts(project: Project, rendered: dict[str, Rendered], q: Questions) -> None:
    """Run every contract check."""
    c = project.contracts
    check_names(c, q)
    check_model_sets(c, q)
    check_scope(c, q)
    check_registry(c, q)
    check_templates(c, rendered, q)
    check_metrics(c, q)
    check_joins(c, q)
    check_partition(c, q)
    check_tests(c, q)
    check_fragments(project, q)
    check_decisions(c, q)
