"""run_results.json: what one apply did, in dbt's field names where they mean the same thing
(`status`, `execution_time`, `message`, `failures`, `adapter_response.rows_affected`, `unique_id`),
so readers of dbt artifacts understand it.

Each build keeps its own (target/current/run_results.json describes the published tables);
target/run_results.json is the last apply, whatever became of it, as in dbt."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.contracts.results import RunResults
from leakcli.files import write_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from leakcli.commands.records import CheckResult, ModelResult
    from leakcli.commands.unitrun import UnitResult
    from leakcli.contracts.records import Growth, Plan, SourceSummary

PROJECT = "leakcli"
# leakcli's status of a model -> dbt's (no-op: the table of the published build is kept as it is)
MODEL_STATUS = {"success": "success", "copied": "no-op", "unchanged": "no-op", "skipped": "skipped"}


@dataclass
class Invocation:
    """One apply, filled in as it goes, so a failure at any point still leaves its record."""

    started: float = field(default_factory=time.perf_counter)
    started_at: str = field(default_factory=lambda: _utc())
    plan: Plan | None = None
    build: str | None = None
    building: bool = False  # a build was started: an error is the model it had reached
    results: list[ModelResult] = field(default_factory=list)
    audit: list[CheckResult] = field(default_factory=list)
    sources: list[SourceSummary] = field(default_factory=list)  # what changed in each source file
    growth: Growth | None = None  # the months rebuilt, out of how many; the window; where the data ends
    unit_tests: list[UnitResult] = field(default_factory=list)  # run before the build (LEAK-SPEC §12)

    def document(self, status: str, message: str = "") -> dict[str, object]:
        plan = self.plan
        done = {r.name for r in self.results}
        results: list[dict[str, object]] = [_model(r) for r in self.results]
        pending = [m for m in (plan.models if plan else []) if m.name not in done]
        # an error stopped the build at the first model it had still to build; the others did not run
        failed = next((m.name for m in pending if m.action in ("create", "rebuild")), None) \
            if status == "error" and self.building else None
        for step in pending:
            results.append({"unique_id": f"model.{PROJECT}.{step.name}", "resource_type": "model",
                            "model": step.name, "action": step.action,
                            "status": "error" if step.name == failed else "skipped", "execution_time": 0.0,
                            "message": message if step.name == failed else "not run", "failures": None,
                            "adapter_response": {}})
        results += [_test(t) for t in self.audit]
        results += [_unit_test(u) for u in self.unit_tests]
        return RunResults.model_validate({
            "metadata": {"generated_at": _utc(), "invocation_id": self.build, "started_at": self.started_at},
            "command": "apply",
            "status": status,
            "message": message,
            "build": self.build,
            "elapsed_time": round(time.perf_counter() - self.started, 3),
            "dataset": plan.dataset if plan else None,
            "plan_fingerprint": plan.fingerprint if plan else None,
            "results": results,
            "sources": self.sources or (plan.sources if plan else []),
            "growth": self.growth,
        }).document()


def _model(r: ModelResult) -> dict[str, object]:
    made = (f"UPDATE ({r.partitions:,} partitions; {r.rows:,} rows)" if r.action == "update" and r.rows is not None
            else f"CREATE TABLE ({r.rows:,} rows)" if r.rows is not None else "CREATE TABLE")
    return {"unique_id": f"model.{PROJECT}.{r.name}", "resource_type": "model", "model": r.name,
            "action": r.action, "status": MODEL_STATUS.get(r.status, r.status),
            "execution_time": round(r.seconds, 3),
            "message": {"success": made,
                        "copied": "kept from the published build", "unchanged": "unchanged",
                        "skipped": "not selected"}.get(r.status, r.status),
            "failures": None,
            "adapter_response": {} if r.rows is None else {"rows_affected": r.rows, "_message": f"OK {r.rows}"}}


def _test(t: CheckResult) -> dict[str, object]:
    return {"unique_id": f"test.{PROJECT}.{t.id}", "resource_type": "test", "model": t.model, "status": t.status,
            "execution_time": 0.0, "message": t.message or t.description, "failures": t.failing_rows,
            "adapter_response": {}}


def _unit_test(u: UnitResult) -> dict[str, object]:
    """A unit test as dbt records one: `unit_test.<project>.<id>`, pass or fail (error: its model did not run)."""
    failures = len(u.difference.missing) + len(u.difference.unexpected) + len(u.difference.changed)
    return {"unique_id": f"unit_test.{PROJECT}.{u.id}", "resource_type": "unit_test", "model": u.model,
            "status": u.status, "execution_time": round(u.seconds, 4), "message": u.message or u.description,
            "failures": failures if u.status == "fail" else None, "adapter_response": {}}


def write(path: Path, doc: dict[str, object]) -> None:
    """Write a run_results.json document whole."""
    write_atomic(path, json.dumps(doc, indent=2, default=str) + "\n")


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
