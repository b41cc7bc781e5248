"""An incremental build (LEAK-SPEC §11): the models plan marked `update` rebuild only the partitions
the changed source rows touch, each with its own template, inside the new build (a copy of the
published database), before it is audited and published whole as any build is.

    load     each changed file into the build's connection (an appended file's new bytes only),
             checked as a first apply would check it (before the lockdown: a pipe is no data file)
    prepare  each staging model's template over its file's changed rows: the new rows, and the keys
             of the old rows they replace or remove (a rewritten file is compared with the published
             staging table by key, every column); then the changed rows traced through the join
             contracts' partition to the keys and months they touch (sources/partition.py)
    update   each model in order: its rows of those partitions deleted, and made again by its
             template over its inputs restricted to them

The priority mart is a table: it is always built whole, from the updated summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.engine.connection import count_rows, execute, one_row
from leakcli.engine.sqltext import quote_ident
from leakcli.sources.partition import Changed, Traced, partition_values, primary_key, trace

if TYPE_CHECKING:
    from collections.abc import Callable

    from leakcli.context import Project
    from leakcli.contracts.records import ModelStep
    from leakcli.engine.connection import Connection
    from leakcli.render.renderer import Rendered
    from leakcli.sources.checks import Loaded, SourceChecks


@dataclass
class FileDelta:
    """What an incremental build found changed in one file, by key."""

    table: str
    change: str
    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass
class Increment:
    """The changed rows of one incremental build and the partitions they touch, on the build's connection."""

    project: Project
    con: Connection
    loaded: dict[str, Loaded]
    changed: list[Changed] = field(default_factory=list)
    traced: Traced = field(default_factory=Traced)
    files: dict[str, FileDelta] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)  # model -> partition values rebuilt

    @classmethod
    def load(cls, project: Project, con: Connection, checks: SourceChecks) -> Increment:
        """Load and check every changed file (before the lockdown)."""
        return cls(project, con, checks.load_changed(con, checks.q, ""))

    def prepare(self, steps: list[ModelStep], render: dict[str, Rendered]) -> None:
        """Each updated staging model's rows made of its file's changed rows, compared with its
        published rows; then the changes traced to the keys and months they touch."""
        c = self.project.contracts
        updating = {s.name for s in steps if s.action == "update"}
        for table, got in self.loaded.items():
            if got.model not in updating:
                continue
            pk = primary_key(c, table)
            assert pk is not None
            key, model = quote_ident(pk), quote_ident(got.model)
            new, gone = quote_ident(f"leak_new__{got.model}"), quote_ident(f"leak_gone__{got.model}")
            sql = render[got.model].resolve(_reading(got.relation))
            execute(self.con, f"create temp table {new} as select * from ({sql.rstrip().rstrip(';')})")
            columns = [col.name for col in c.models[got.model].columns]
            differs = " or ".join(f"n.{quote_ident(x)} is distinct from o.{quote_ident(x)}" for x in columns)
            if got.change == "appended":  # every new row is added (a repeated key is a question of the checks)
                self.files[table] = FileDelta(table, got.change, added=count_rows(self.con, new))
                self.changed.append(Changed(table, new))
                continue
            execute(self.con, f"create temp table {gone} as select o.{key} from {model} o "
                              f"left join {new} n on n.{key} = o.{key} where n.{key} is null or {differs}")
            (removed,) = one_row(self.con, f"select count(*) from {gone} where {key} not in (select {key} from {new})")
            (total,) = one_row(self.con, f"select count(*) from {gone}")
            execute(self.con, f"delete from {new} where {key} in (select {key} from {model}) "
                              f"and {key} not in (select {key} from {gone})")  # what is as it was stays as it is
            added = count_rows(self.con, new) - (int(str(total)) - int(str(removed)))
            self.files[table] = FileDelta(table, got.change, added=added, removed=int(str(removed)),
                                          changed=int(str(total)) - int(str(removed)))
            self.changed.append(Changed(table, new, gone))
        self.traced = trace(self.con, c, self.changed, "", "model")

    def update(self, step: ModelStep, rendered: Rendered) -> int:
        """Rebuild the partitions of one model the change touches; return the model's rows."""
        c = self.project.contracts
        spec = c.models[step.name]
        model, column = quote_ident(step.name), quote_ident(spec.partition_by or "")
        values = partition_values(c, step.name, self.traced, self.changed)
        assert values is not None, step.name
        part = quote_ident(f"leak_part__{step.name}")
        execute(self.con, f"create temp table {part} as select distinct * from ({values}) v(value) "
                          f"where value is not null")
        self.updated[step.name] = count_rows(self.con, part)
        execute(self.con, f"delete from {model} where {column} in (select value from {part})")
        stage = next((t for t, got in self.loaded.items() if got.model == step.name), None)
        if stage is not None:  # a staging model: its new rows are made already
            execute(self.con, f"insert into {model} select * from {quote_ident(f'leak_new__{step.name}')}")
        else:
            inputs = {ref: column in {col.name for col in c.models[ref].columns} for ref in rendered.refs}

            def relation(name: str, table: str | None) -> str:
                if table is not None:  # a source read whole: only staging models read the changed rows
                    from leakcli.engine.sqltext import source_relation

                    return quote_ident(source_relation(name, table))
                if inputs.get(name):
                    return f"(select * from {quote_ident(name)} where {column} in (select value from {part}))"
                return quote_ident(name)

            sql = rendered.resolve(relation).rstrip().rstrip(";")
            execute(self.con, f"insert into {model} select * from ({sql}) where {column} in (select value from {part})")
        return count_rows(self.con, model)

    def months(self) -> list[str]:
        return self.traced.every_month


def _reading(rows: str) -> Callable[[str, str | None], str]:
    """A staging model's relations: its source is the changed rows `rows`."""
    def relation(name: str, table: str | None) -> str:
        return rows if table is not None else quote_ident(name)
    return relation
