"""The data checks of one command, as one unit with a lifecycle (LEAK-SPEC §9):

    plan      what the cache (inventory.py), a profile of the very same bytes or a scan knows of
              each source file: its header, undeclared null-like text, values that do not parse as
              their declared type (the first one, with its line), nulls in non-null columns, values
              outside accepted values, duplicate primary keys, values and ranges a profile never saw;
              the manifest's relations across files (relations.py); drift against the profiles; the
              count thresholds against the rows. With `defer` (apply), a file none of them knows is
              left for the table apply loads anyway, so no file is read twice.
    loaded    each such table, checked as it is loaded, and each relation once both its files are there
    finish    the files no model read, the sha256 of the files hashed while they loaded, drift and
              thresholds for what was loaded, and what was learnt put in the cache

`plan` runs the first step only; `apply` runs all three, once each, in that order. Every finding is a
question of plan, asked once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts.load import CATALOG, MANIFEST
from leakcli.contracts.questions import Code, Questions
from leakcli.engine.load import encoding_problem, header_problem, read_header
from leakcli.progress import phase
from leakcli.sources.drift import compare_profiles, known_values
from leakcli.sources.facts import SourceFacts, TableStats
from leakcli.sources.inventory import Inventory, check_key
from leakcli.sources.partition import model_of, primary_key
from leakcli.sources.relations import check_relations, name_parents
from leakcli.sources.scan import loaded_table_stats, scan_file, stats_from_profile

if TYPE_CHECKING:
    from collections.abc import Callable

    from leakcli.context import Project
    from leakcli.contracts.documents import DataChecks as DataRules
    from leakcli.contracts.documents import Profile, Table
    from leakcli.contracts.records import FileRecord
    from leakcli.engine.connection import Connection
    from leakcli.engine.load import Reject


@dataclass(frozen=True)
class Loaded:
    """One changed file on a connection: `relation` holds the rows read (an appended file's new rows,
    a rewritten file's every row), typed as the manifest says."""

    table: str
    model: str  # its staging model, as the partition names it
    relation: str
    change: str
    rows: int


@dataclass
class SourceChecks:
    project: Project
    data_dir: Path
    tables: list[str]
    inventory: Inventory
    profiles: dict[str, Profile]
    known: dict[str, dict[str, list[str]]]  # per table and column, what its profile saw
    q: Questions = field(default_factory=Questions)  # what apply's own steps found (plan asks in its own)

    @property
    def facts(self) -> dict[str, SourceFacts]:
        return self.inventory.files

    # -- plan -------------------------------------------------------------------------------------
    @classmethod
    def plan(cls, project: Project, data_dir: Path, tables: list[str], q: Questions, *, expect_missing: bool = False,
             defer: bool = False, hash_later: frozenset[str] = frozenset(),
             previous: dict[str, FileRecord] | None = None) -> SourceChecks:
        """Check the source files of `tables`, asking in `q`. What the cache or a profile of the same
        file knows is not read again; with `defer`, a file neither knows is left for apply to check
        once it is loaded. A file of `hash_later` the cache does not know is hashed in the background
        (apply: no decision depends on its sha256 before the build labels its tables)."""
        from leakcli.sources.profile import load_profiles

        c = project.contracts
        previous = previous or {}
        profiles = load_profiles(c, project.paths)
        checks = cls(project, data_dir, tables, Inventory(project.cache), profiles,
                     known_values(profiles, c.manifest.checks.range_slack_days))
        con = None
        taken = []
        for name in tables:  # every file's sha256 is read at once, each on a thread of its own
            table = c.tables[name]
            path = data_dir / table.file
            shown = project.rel(path)
            if not path.is_file():
                checks.inventory.missing(name, path, shown, previous.get(name))
                if path.exists():  # a folder, a pipe or a device: never read (a pipe would hang)
                    q.ask(Code.MISSING_FILE, shown, f"'{table.file}' of table '{name}' is not a regular file (a "
                                                    f"folder, pipe or device): where is the CSV?")
                elif not expect_missing:
                    q.ask(Code.MISSING_FILE, shown, f"Required source file '{table.file}' of table '{name}' is "
                                                    f"missing from {project.rel(data_dir)}: where is it?")
                continue
            taken.append(checks.inventory.take(table, path, shown, checks._key(name), previous=previous.get(name)))
        for fact in taken:
            name, table = fact.table, c.tables[fact.table]
            if name not in hash_later or fact.previous is not None:
                checks.inventory.settle(fact)
        grows = [f for f in checks.traceable() if f.change == "appended" and f.previous_stats is not None]
        for fact in taken:
            name, table = fact.table, c.tables[fact.table]
            if not checks._header_reads(fact, table, q):
                continue
            profile = profiles.get(name)
            if fact.stats is None and fact.reject is None and profile is not None and profile.sha256 == fact.sha256:
                fact.stats = stats_from_profile(table, profile, c.manifest.checks.null_like, checks.known.get(name))
            if fact.stats is None and fact.reject is None:
                if defer or fact in grows:  # apply checks it from the table it loads; an append from its new rows
                    fact.deferred = True
                    continue
                from leakcli.engine.connection import connect

                con = con or connect(memory_limit=c.phase_plan.engine.limit())
                with phase(f"checking {fact.file}"):
                    result = scan_file(con, table, fact.path, c.manifest.dialect, c.manifest.checks.null_like,
                                       checks.known.get(name))
                fact.stats, fact.reject = (result, None) if isinstance(result, TableStats) else (None, result)
            ask_about(fact, table, _where(checks, name), c.manifest.checks, q)
        if con is not None:
            con.close()
        check_relations(c, checks.facts, q)
        compare_profiles(c, project.paths, checks.facts, profiles, q)
        checks.thresholds(q)
        return checks

    def _key(self, table: str) -> str:
        c = self.project.contracts
        return check_key(c.tables[table], c.manifest.checks.null_like, self.known.get(table))

    def _header_reads(self, fact: SourceFacts, table: Table, q: Questions) -> bool:
        """The file is UTF-8 and its header is the manifest's; a question otherwise (nothing more is read)."""
        problem = encoding_problem(fact.path)
        if problem:
            q.ask(Code.HEADER_MISMATCH, fact.file, f"'{table.file}' {problem}: save it as UTF-8?")
        else:
            found = read_header(fact.path, self.project.contracts.manifest.dialect.delimiter)
            expected = [col.name for col in table.columns]
            if found == expected:
                return True
            q.ask(Code.HEADER_MISMATCH, f"{fact.file}:1", f"{header_problem(found, expected)} "
                  f"({_where(self, table.name)}/columns): is the file or the manifest right?")
        fact.stats = fact.reject = None
        return False

    def thresholds(self, q: Questions) -> None:
        """A count threshold no segment-month can reach (more than the rows of the largest source file)
        flags nothing: a warning, since it is valid but almost surely not meant."""
        if any(f.exists and f.rows is None for f in self.facts.values()):
            return  # a file not counted yet (apply counts it as it loads it, and asks then)
        largest = max((f.rows for f in self.facts.values() if f.rows is not None), default=None)
        if largest is None or any(a.code == Code.THRESHOLD_MEANING for a in q.items):
            return
        for name in ("min_sessions", "min_orders"):
            value = getattr(self.project.contracts.catalog.thresholds, name)
            if value > largest:
                q.ask(Code.THRESHOLD_MEANING, f"{CATALOG}#/thresholds/{name}",
                      f"{name} is {value:,}, more than the {largest:,} rows of the largest source file: no "
                      f"segment can reach it, so no row is ever flagged. Is that meant?")

    # -- loaded -----------------------------------------------------------------------------------
    @property
    def deferred(self) -> list[str]:
        """The tables whose checks wait for the table apply loads."""
        return [t for t, f in self.facts.items() if f.deferred]

    @property
    def clean(self) -> set[str]:
        """The tables whose files the checks vouch for: apply may read them in place."""
        return {t for t, f in self.facts.items() if f.stats is not None and f.reject is None and not f.deferred}

    def loaded(self, con: Connection, table: str, relation: str, reject: Reject | None,
               q: Questions | None = None) -> None:
        """The checks of one file, from the table apply just loaded into `con` as `relation` (no second
        read; `reject`: its first row that did not read)."""
        fact, c = self.facts[table], self.project.contracts
        if not fact.deferred:
            return
        fact.reject = reject
        if reject is None:
            with phase(f"checking {fact.file}"):
                fact.stats = loaded_table_stats(con, c.tables[table], relation, c.manifest.checks.null_like,
                                                self.known.get(table))
        fact.deferred = False
        ask_about(fact, c.tables[table], _where(self, table), c.manifest.checks, q or self.q)

    def grown(self, con: Connection, table: str, relation: str, reject: Reject | None, earlier: str,
              q: Questions | None = None) -> None:
        """The checks of an appended file from its new rows alone, loaded into `con` as `relation`: their
        stats added to what the checks found in the rows the published build read (a file whose earlier
        rows the cache does not know is read whole for its stats), their keys against the earlier rows'
        (`earlier`, a relation with the primary key's column). Every question is the one a first apply of
        the whole file would ask."""
        from leakcli.engine.connection import one_row
        from leakcli.engine.sqltext import quote_ident

        fact, c = self.facts[table], self.project.contracts
        spec = c.tables[table]
        fact.reject = reject
        if reject is None:
            with phase(f"checking the new rows of {fact.file}"):
                new = loaded_table_stats(con, spec, relation, c.manifest.checks.null_like, self.known.get(table))
                keys = ", ".join(quote_ident(k) for k in spec.primary_key)
                (repeated,) = one_row(con, f"select count(*) from {relation} where ({keys}) in "
                                           f"(select ({keys}) from {earlier})")
                if fact.previous_stats is not None:
                    fact.stats = fact.previous_stats.plus(new, int(str(repeated)))
                else:
                    result = scan_file(con, spec, fact.path, c.manifest.dialect, c.manifest.checks.null_like,
                                       self.known.get(table))
                    fact.stats, fact.reject = (result, None) if isinstance(result, TableStats) else (None, result)
        fact.deferred = False
        ask_about(fact, spec, _where(self, table), c.manifest.checks, q or self.q)

    def relations_to_check(self, loading: set[str]) -> dict[str, frozenset[str]]:
        """The manifest's relations that read a table apply is loading (the others were checked by
        plan, or come from the cache) and whose other side can be read too, each with its tables."""
        found = {}
        for rel in self.project.contracts.manifest.relations:
            tables = frozenset({rel.child.table, rel.parent.table})
            if tables & loading and tables <= loading | self.clean:
                found[rel.name] = tables
        return found

    def relation(self, con: Connection, name: str, reads: Callable[[str], tuple[str, dict[str, object]]]) -> None:
        """Check one relation of the manifest now that both its tables can be read through `reads`."""
        check_relations(self.project.contracts, self.facts, self.q, con=con, only={name}, relation_of=reads)

    # -- growing data (LEAK-SPEC §11) -------------------------------------------------------------
    def traceable(self) -> list[SourceFacts]:
        """The files an incremental build reads as changes: appended or rewritten, of a table the
        partition traces, with a single-column primary key."""
        c = self.project.contracts
        return [f for f in self.facts.values() if f.change in ("appended", "rewritten") and f.previous is not None
                and model_of(c, f.table) is not None and primary_key(c, f.table) is not None]

    def load_changed(self, con: Connection, q: Questions, old: str) -> dict[str, Loaded]:
        """Load each traceable changed file into `con` and check it as a first apply would (`old`
        prefixes the published build's tables on `con`): only the new bytes of an appended file
        (through a pipe: nothing before them is read), the whole of a rewritten one."""
        from leakcli.engine.connection import count_rows
        from leakcli.engine.load import load_file, load_tail
        from leakcli.engine.sqltext import quote_ident

        c = self.project.contracts
        found = {}
        for fact in self.traceable():
            model, previous = model_of(c, fact.table), fact.previous
            assert model is not None and previous is not None
            name = f"leak_src__{fact.table}"
            relation = quote_ident(name)
            if fact.change == "appended":
                reject = load_tail(con, c, fact.table, fact.path, previous.size, name, fact.file, previous.lines)
                self.grown(con, fact.table, relation, reject, f"{old}{quote_ident(model)}", q)
            else:
                reject = load_file(con, c, fact.table, fact.path, name, fact.file)
                self.loaded(con, fact.table, relation, reject, q)
            found[fact.table] = Loaded(fact.table, model, relation, fact.change, count_rows(con, relation))
        return found

    # -- finish -----------------------------------------------------------------------------------
    def finish(self, loaded: set[str]) -> dict[str, str]:
        """After the build read the files (`loaded`: those checked from their tables): every sha256
        known (a file that cannot be read now is a DataError naming it), the relations' parents
        named, drift and thresholds for what was loaded, and what was learnt in the cache (the
        command saves it). Returns the sha256 of the files hashed in the background meanwhile."""
        from leakcli.errors import DataError
        from leakcli.files import file_identity

        hashed: dict[str, str] = {}
        for fact in self.facts.values():
            if fact.hashing is not None:
                self.inventory.settle(fact)
                hashed[fact.table] = fact.sha256
            try:
                moved = fact.exists and file_identity(fact.path) != fact.identity
            except OSError:
                moved = True
            if moved:  # what was built may hold part of an old and part of a new file: nothing of it is kept
                raise DataError("changed while apply read it", file=fact.file,
                                hint="the published build is unchanged; run `leakcli apply` again once it is written")
        name_parents(self.project.contracts, self.facts)
        now = {t: f for t, f in self.facts.items() if t in loaded}
        compare_profiles(self.project.contracts, self.project.paths, now, self.profiles, self.q)
        if now:
            self.thresholds(self.q)  # plan knew the rows of the files it checked only
        self.inventory.keep()
        return hashed


def _where(checks: SourceChecks, table: str) -> str:
    return f"{MANIFEST}#/tables/{list(checks.project.contracts.tables).index(table)}"


def ask_about(fact: SourceFacts, table: Table, loc: str, checks: DataRules, q: Questions) -> None:
    """The questions of what the checks found in one file (its first bad row, or its stats)."""
    if fact.reject is not None:
        where = f"{fact.file}:{fact.reject.line}"
        value = fact.reject.value
        if value is not None and value.strip().lower() in checks.null_like:
            q.ask(Code.UNDECLARED_NULL_TOKEN, where,
                  f"Column {table.name}.{fact.reject.column} holds the null-like text {value!r}, which "
                  f"{loc}/null_tokens does not declare: is it a missing value (add it to null_tokens) or "
                  f"should the data be fixed?")
        else:
            q.ask(Code.BAD_VALUE, where, f"{fact.reject.problem}: fix the file, or is the manifest wrong "
                                         f"({loc}/columns)?")
    elif fact.stats is not None:
        _ask_table(fact.stats, table, fact.file, loc, checks, q)


def _ask_table(stats: TableStats, table: Table, shown: str, loc: str, checks: DataRules, q: Questions) -> None:
    if not stats.rows:
        if table.allow_empty:
            q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="warning",
                  question=f"'{table.file}' has a header but no rows: is the export complete?")
        else:
            q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="blocking",
                  question=f"'{table.file}' has a header but no rows, and {loc}/allow_empty does not "
                           f"allow it: is the export complete?")
    if stats.dup_pk:
        q.ask(Code.DUPLICATE_KEY, shown,
              f"{stats.dup_pk} rows of '{table.file}' repeat a primary key "
              f"({', '.join(table.primary_key)}, {loc}/primary_key): which row is right?")
    for i, col in enumerate(table.columns):
        cl, cname, seen = f"{loc}/columns/{i}", f"{table.name}.{col.name}", stats.columns[col.name]
        if seen.null_like.count:
            q.ask(Code.UNDECLARED_NULL_TOKEN, shown,
                  f"Column {cname} holds {seen.null_like.count} null-like value(s) "
                  f"({', '.join(map(str, seen.null_like.values))}) that {loc}/null_tokens does not declare: "
                  f"are they missing values (add them to null_tokens) or real values?")
        if not col.nullable and seen.nulls:
            q.ask(Code.UNEXPECTED_NULL, shown,
                  f"Column {cname} is declared not null ({cl}/nullable) but holds {seen.nulls} null(s): "
                  f"what should they become?")
        if seen.outside.count:
            q.ask(Code.UNACCEPTED_VALUE, shown, severity=col.accepted_values_severity,
                  question=f"Column {cname} holds {seen.outside.count} value(s) outside its accepted values "
                           f"({cl}/accepted_values): {', '.join(map(str, seen.outside.values))}. "
                           f"Accept them or fix the data?")
        if seen.out_of_range.count:
            q.ask(Code.OUT_OF_RANGE, shown,
                  f"Column {cname} holds {seen.out_of_range.count} value(s) far outside the range its profile "
                  f"saw (more than {checks.range_slack_days} days, {MANIFEST}#/checks/range_slack_days): "
                  f"{', '.join(map(str, seen.out_of_range.values))}. The priority window would be built from "
                  f"them: are they real, or should the data be fixed?")
        if seen.below.count:
            q.ask(Code.BELOW_MINIMUM, shown, severity=col.minimum_severity,
                  question=f"Column {cname} holds {seen.below.count} value(s) below its minimum {col.minimum} "
                           f"({cl}/minimum): {', '.join(map(str, seen.below.values))}. Fix the data, or is the "
                           f"minimum wrong?")
