"""The JSON Schemas of every document and record under leakcli/contracts/schemas/, generated from
the typed models (`python -m leakcli.contracts.schema` rewrites them; a test checks they are current)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from leakcli.contracts.catalog import MetricCatalog
from leakcli.contracts.documents import (
    AcceptanceTests,
    Decisions,
    JoinContracts,
    ModelRegistry,
    PhasePlan,
    Profile,
    SourceManifest,
    StageIR,
)
from leakcli.contracts.records import BuildState, Plan
from leakcli.contracts.results import (
    ApplyOutput,
    DiffOutput,
    ErrorOutput,
    ExportOutput,
    GenerateOutput,
    ProfileOutput,
    ReportOutput,
    RunResults,
    ShowOutput,
    UnitTestOutput,
    VerifyOutput,
)
from leakcli.contracts.unittests import UnitTests

DOCUMENTS: dict[str, type[BaseModel]] = {
    "phase-plan": PhasePlan, "stage-ir": StageIR, "source-manifest": SourceManifest,
    "model-registry": ModelRegistry, "metric-catalog": MetricCatalog, "join-contracts": JoinContracts,
    "acceptance-tests": AcceptanceTests, "decisions": Decisions, "unit-tests": UnitTests, "profile": Profile,
}
RECORDS: dict[str, type[BaseModel]] = {  # what leakcli writes: the saved plan, --json results, artifacts
    "plan": Plan, "apply-output": ApplyOutput, "verify-output": VerifyOutput, "diff-output": DiffOutput,
    "report-output": ReportOutput, "export-output": ExportOutput, "profile-output": ProfileOutput,
    "generate-output": GenerateOutput, "show-output": ShowOutput, "unit-test-output": UnitTestOutput,
    "error-output": ErrorOutput,
    "run-results": RunResults, "build-state": BuildState,
}
SCHEMA_DIR = Path(__file__).parent / "schemas"


def json_schema(name: str) -> str:
    """The JSON Schema of one document or record kind, as written under leakcli/contracts/schemas/."""
    schema = {**DOCUMENTS, **RECORDS}[name].model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"leakcli:{name}", **schema}
    return json.dumps(schema, indent=1) + "\n"


def write_schemas() -> list[str]:
    """Rewrite every schema file; return the kinds written."""
    for kind in {**DOCUMENTS, **RECORDS}:
        (SCHEMA_DIR / f"{kind}.schema.json").write_text(json_schema(kind), "utf-8")
    return list({**DOCUMENTS, **RECORDS})


if __name__ == "__main__":  # pragma: no cover - python -m leakcli.contracts.schema rewrites the schemas
    write_schemas()
