"""What plan decides and apply records: the plan (target/plan.json), its model steps, and the
metadata stored as the comment of each built table."""

from __future__ import annotations

from typing import Literal

from pydantic import JsonValue

from leakcli.contracts.base import Record
from leakcli.contracts.questions import Question


class Dataset(Record):
    kind: Literal["files", "synthetic"]
    origin: Literal["option", "environment", "published", "project", "synthetic", "synthetic_option"]
    path: str
    pending: bool = False


class Parts(Record):
    """What a model's fingerprint is made of."""

    sql: str
    contract: str
    upstream: dict[str, str]
    sources: dict[str, str]


Action = Literal["create", "rebuild", "unchanged", "skip"]


class ModelStep(Record):
    name: str
    layer: str
    depends_on: list[str]
    sources: list[str]
    action: Action
    reason: str
    fingerprint: str
    template: str = ""
    sql: str = ""
    parts: Parts | None = None
    diff: list[str] | None = None  # unified diff of its SQL against the published build's


class ContractChange(Record):
    """One changed value of a contract since the published build: `op` is + added, - removed, ~ changed."""

    file: str
    pointer: str
    op: Literal["+", "-", "~"]
    old: JsonValue = None
    new: JsonValue = None


class SourceSummary(Record):
    table: str
    file: str
    exists: bool
    sha256: str
    rows: int | None = None


class Plan(Record):
    """What apply will do. `plan --json` prints it without the SQL; `plan --out` saves it whole."""

    schema_version: Literal[1] = 1
    read: list[str]
    dataset: Dataset
    sources: list[SourceSummary]
    ambiguities: list[Question]
    order: list[str]
    models: list[ModelStep]
    select: list[str]
    exclude: list[str] | None = None
    full_refresh: bool
    inputs: dict[str, str]
    fingerprint: str
    contract_changes: list[ContractChange] | None = None  # None: no published build to compare with

    @property
    def blocking(self) -> list[Question]:
        return [a for a in self.ambiguities if a.severity == "blocking"]

    def to_dict(self, *, with_sql: bool = False) -> dict[str, object]:
        skip: set[str] = set() if with_sql else {"template", "sql", "parts"}
        return {**super().to_dict(), "contract_changes": None if self.contract_changes is None else
                [ch.to_dict() for ch in self.contract_changes],
                "models": [m.model_dump(mode="json", exclude_none=True, exclude=skip) for m in self.models]}


class BuildMeta(Record):
    """Stored as the comment of each built table, so it swaps atomically with the data."""

    fingerprint: str
    parts: Parts
    built_at: str
    plan: str
    dataset: Dataset
    template: str
