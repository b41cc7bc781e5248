"""`export dbt OUT_DIR`: the pipeline as a dbt project for dbt-duckdb. One model per template with
`ref()` and `source()`, the sources read with the manifest's explicit CSV options, the registry's
descriptions and columns in schema.yml, and the acceptance tests as dbt data tests.

Reads the contracts; writes only OUT_DIR (a folder it made, or an empty one, unless --force)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.audit import Runner
from leakcli.commands.records import CheckResult
from leakcli.contracts.results import ExportOutput
from leakcli.engine.sqltext import quote_ident, sql_literal
from leakcli.errors import ContractError, LeakError, UsageError
from leakcli.files import write_atomic
from leakcli.paths import resolve_data
from leakcli.store.layout import MARKER

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.documents import AcceptanceTest
    from leakcli.contracts.load import Contracts

PROJECT = "leakcli_export"
EXPORT = "dbt project exported by `leakcli export dbt`"
DATABASE = "leakcli_dbt.duckdb"


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    """What `leakcli export dbt` was asked: the folder, the data, and --force."""

    out: Path | str  # as typed: an empty one is refused, never read as the current folder
    data_dir: str | None = None
    force: bool = False


@dataclass(frozen=True)
class ExportResult:
    """The dbt project written: its folder, data, files, models and data tests."""

    path: str
    data: str
    files: list[str]
    models: list[str]
    tests: list[str]
    skipped_tests: dict[str, str]
    from_here: str = ""  # the folder as the current folder reaches it (the "Next: cd" hint)

    def to_dict(self) -> dict[str, object]:
        """`export dbt --json` (contracts/schemas/export-output.schema.json)."""
        return ExportOutput(path=self.path, data=self.data, files=self.files, models=self.models, tests=self.tests,
                            skipped_tests=self.skipped_tests).document()


def export_dbt(project: Project, req: ExportRequest) -> ExportResult:
    """Write the pipeline as a dbt project for dbt-duckdb into `req.out`: only into a new or empty
    folder or one it wrote before (unless --force), removing only files it wrote before."""
    from leakcli.contracts.questions import Questions
    from leakcli.plan.binding import render_all, required_tables
    from leakcli.plan.checks import check_names
    from leakcli.store.layout import guard_folder

    if not str(req.out).strip():
        raise UsageError("is empty", file="OUT_DIR", hint="name the folder for the dbt project")
    c, paths = project.contracts, project.paths
    out = Path(os.path.abspath(Path.cwd() / req.out))  # ../x shown as the folder it names
    shown = paths.rel(out)
    guard_folder(out, shown, force=req.force, target=paths.target)
    before = _exported(out)
    if (out / MARKER).is_file() and before is None and not req.force:
        raise UsageError("is a folder leakcli made for something else (builds or data), not a dbt export; "
                         "choose another folder", file=shown)
    q = Questions()
    check_names(c, q)  # a model named too long for a file stops the export before anything is written
    rendered = render_all(project, q)
    if not rendered or q.blocking:  # the same checks as plan: a template that cannot render is not exported
        first = q.blocking[0] if q.blocking else None
        raise ContractError(f"cannot export: {first.question if first else 'no model renders'}",
                            file=first.location if first else None)
    data = _data_dir(req, project)
    tables = required_tables(c, rendered)
    missing = [c.tables[t].file for t in tables if not (data / c.tables[t].file).is_file()]
    if missing:
        raise UsageError(f"{missing[0]} is not in {paths.rel(data)}: run `leakcli apply` first (it makes the "
                         "synthetic default) or name the CSVs with --data-dir", file=paths.rel(data))
    files = _files(c, data, tables)
    tests, skipped = _tests(c)
    files.update({f"tests/{name}.sql": sql for name, sql in tests.items()})
    created = not os.path.lexists(out)

    def marker(names: set[str]) -> None:
        write_atomic(out / MARKER, json.dumps({"created_by": "leakcli", "what": EXPORT, "files": sorted(names)}) + "\n")

    try:
        out.mkdir(parents=True, exist_ok=True)
        for rel in sorted(set(files) | set(before or [])):  # never through a link that leads out of OUT_DIR
            if not _stays_in(out, rel):
                raise UsageError(f"{rel} would lead out of the folder (through a link)", file=shown,
                                 hint="remove the link, or export into a new folder")
        marker(set(files) | set(before or []))  # first: a full disk midway leaves no file the marker does not claim
        for rel, text in files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out / rel, text)
        for rel in sorted(set(before or []) - set(files)):  # a model or test gone since the last export
            (out / rel).unlink(missing_ok=True)
        marker(set(files))
    except OSError as exc:
        from leakcli.errors import cannot_write

        if created:  # a folder this export made goes whole
            shutil.rmtree(out, ignore_errors=True)
        raise cannot_write("the export", exc, paths.rel(Path(exc.filename)) if exc.filename else shown) from None
    return ExportResult(shown, str(data), sorted(files), list(c.ir.models), sorted(tests), skipped,
                        os.path.relpath(out, Path.cwd()))


def _exported(out: Path) -> list[str] | None:
    """The files an earlier export wrote into `out` (it may hold dbt's own target/ and database too)."""
    from leakcli.files import read_json_file

    doc = read_json_file(out / MARKER)
    if isinstance(doc, dict) and doc.get("what") == EXPORT and isinstance(doc.get("files"), list):
        return [str(f) for f in doc["files"]  # a forged marker names nothing outside the folder
                if str(f).strip() and not Path(str(f)).is_absolute() and ".." not in Path(str(f)).parts]
    return None


def _stays_in(out: Path, rel: str) -> bool:
    """`out/rel`, links followed, is inside `out`."""
    return (out / rel).resolve().is_relative_to(out.resolve())


def _data_dir(req: ExportRequest, project: Project) -> Path:
    """--data-dir, else the data the published build was made from, else leakcli's default."""
    from leakcli.store import state

    c, paths = project.contracts, project.paths
    files = [c.tables[t].file for t in c.tables if c.tables[t].required]
    published = state.published_dataset(paths.published, paths.root, c.ir.final_models,
                                         trust_summary=project.cache.enabled)
    return resolve_data(paths, req.data_dir, files, published=published).path.resolve()


def _files(c: Contracts, data: Path, tables: list[str]) -> dict[str, str]:
    from leakcli.render.renderer import Renderer

    renderer = Renderer(c, dbt=True)
    files = {
        "dbt_project.yml": _yaml({
            "name": PROJECT, "version": "1.0.0", "config-version": 2, "profile": PROJECT,
            "model-paths": ["models"], "test-paths": ["tests"], "macro-paths": ["macros"],
            "on-run-start": [f"create schema if not exists {quote_ident(c.source_name)}",
                             *(_source_view(c, t, data) for t in tables)],
            "models": {PROJECT: {"+materialized": "table"}},
        }),
        "profiles.yml": _yaml({PROJECT: {"target": "dev", "outputs": {"dev": {
            "type": "duckdb", "path": DATABASE, "threads": 1}}}}),
        "models/sources.yml": _yaml({"version": 2, "sources": [{
            "name": c.source_name, "schema": c.source_name,
            "description": f"The Maven Fuzzy Factory CSVs in {data}, read by on-run-start views with the "
                           "source manifest's explicit options (types, date formats, null tokens).",
            "tables": [{"name": t, "description": c.tables[t].file, "columns": [
                {"name": col.name, "data_type": col.type} for col in c.tables[t].columns]} for t in tables]}]}),
        "models/schema.yml": _yaml({"version": 2, "models": [{
            "name": m.name, "description": m.description or "",
            "config": {"contract": {"enforced": True}},
            "columns": [{"name": col.name, "data_type": col.type} for col in m.columns]}
            for m in (c.models[n] for n in c.ir.models if n in c.models)]}),
        "README.md": _readme(c, data),
    }
    for name in c.ir.models:
        r = renderer.render_model(name)
        files[f"models/{c.models[name].layer}/{name}.sql"] = (
            f"-- exported by leakcli from {r.template}\n{r.sql}")
    return files


def _source_view(c: Contracts, table: str, data: Path) -> str:
    """A view of one CSV with the manifest's read options, where dbt's source() finds it."""
    from leakcli.engine.load import read_csv_sql
    from leakcli.engine.sqltext import inline_params

    call, params = read_csv_sql(c.tables[table], c.manifest.dialect, rejects=False)
    read = inline_params(call, {**params, "path": str(data / c.tables[table].file)})
    return f"create or replace view {quote_ident(c.source_name)}.{quote_ident(table)} as select * from {read}"


class DbtTests(Runner):
    """The acceptance tests as dbt data tests: each kind's query of failing rows, with the models named
    by `ref()` and the sources by `source()`; nothing runs here."""

    def __init__(self, c: Contracts) -> None:  # no connection: queries are written, not run
        from leakcli.render.renderer import Renderer

        self.c = c
        self.renderer = Renderer(c, dbt=True)
        self.known = None
        self.query: str | None = None

    def rel(self, model: str) -> str:
        return f"{{{{ ref({sql_literal(model)}) }}}}"

    def sql(self, label: str, text: str) -> str:
        return self.renderer.render_sql(label, text).sql.strip()

    def checked(self, test_id: str, query: str) -> str:
        return query  # the same query passed leakcli's own check when plan read the contracts

    def rows_result(self, test: AcceptanceTest, query: str, what: str) -> CheckResult:
        self.query = query
        return CheckResult(test.id, test.model, test.kind, test.severity, "pass", test.description)

    def relation_set(self, test: AcceptanceTest) -> CheckResult:
        expected = " union all ".join(f"select {sql_literal(m)} as relation" for m in self.c.ir.models)
        depends = "".join(f"-- depends_on: {self.rel(m)}\n" for m in self.c.ir.models)  # dbt runs it after them
        return self.rows_result(test, f"{depends}select relation from ({expected}) as e where relation not in "
                                      "(select table_name from information_schema.tables "
                                      "where table_schema = current_schema())", "")

    def reconcile(self, test: AcceptanceTest) -> CheckResult:
        parts = [f"select {sql_literal(ch.name)} as check_name, o.v as observed, e.v as expected "
                 f"from ({self.sql(test.id, ch.observed)}) as o(v), ({self.sql(test.id, ch.expected)}) as e(v) "
                 f"where o.v is null or e.v is null or abs(o.v - e.v) > {ch.tolerance!r}"
                 for ch in test.checks or []]
        return self.rows_result(test, " union all ".join(parts), "")


SKIPPED = {"ref_discipline": "checks leakcli's templates for relations named outside ref(); the exported "
                             "models name every model through ref() and every file through source()"}


def _tests(c: Contracts) -> tuple[dict[str, str], dict[str, str]]:
    writer = DbtTests(c)
    tests: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for test in c.tests.tests:
        if test.kind in SKIPPED:
            skipped[test.id] = SKIPPED[test.kind]
            continue
        writer.query = None
        try:
            getattr(writer, test.kind)(test)
        except LeakError as exc:
            raise ContractError(f"acceptance test {test.id} cannot be exported: {exc.message}",
                                file="contracts/acceptance-tests.json") from None
        if writer.query is None:  # pragma: no cover - every kind but the skipped ones writes a query
            raise ContractError(f"acceptance test {test.id} ({test.kind}) has no dbt form",
                                file="contracts/acceptance-tests.json")
        severity = "warn" if test.severity == "warn" else "error"
        tests[test.id] = (f"-- {test.id} ({test.kind}) exported by leakcli: {test.description}\n"
                          f"{{{{ config(severity={sql_literal(severity)}) }}}}\n{writer.query}\n")
    return tests, skipped


def _yaml(doc: object) -> str:
    """YAML that is also JSON, so no YAML library is needed to write it and every string is quoted."""
    return "# written by `leakcli export dbt`\n" + json.dumps(doc, indent=2) + "\n"


def _readme(c: Contracts, data: Path) -> str:
    return (f"# {PROJECT}\n\nExported by `leakcli export dbt` from the leakcli project's contracts and "
            f"templates. Build it with dbt-duckdb, from this folder:\n\n```sh\ndbt build --profiles-dir .\n```\n\n"
            f"The sources are views over the CSVs in `{data}`, made by `on-run-start` with the source "
            "manifest's read options; the models are tables in `leakcli_dbt.duckdb`. The acceptance tests are "
            f"data tests in `tests/`; {', '.join(SKIPPED)} is leakcli's own check of its templates and is not "
            "exported.\n")
