"""Load the on-disk contracts of LEAK-SPEC §3 and check each against its JSON Schema.

Every violation of every file is collected, then raised at once as one ContractError whose
`problems` name the file and the JSON pointer (or line and column for malformed JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from leakcli.errors import ContractError

PHASE_PLAN = "phase-plan.json"
CONTRACT_FILES = {
    "manifest": ("contracts/source-manifest.json", "source-manifest"),
    "registry": ("contracts/model-registry.json", "model-registry"),
    "catalog": ("contracts/metric-catalog.json", "metric-catalog"),
    "joins": ("contracts/join-contracts.json", "join-contracts"),
    "tests": ("contracts/acceptance-tests.json", "acceptance-tests"),
    "decisions": ("contracts/decisions.json", "decisions"),
}


@dataclass(frozen=True)
class Contracts:
    """Every contract of a project, validated. `read` lists the files read, in reading order."""

    root: Path
    phase_plan: dict[str, Any]
    prompt: str
    ir: dict[str, Any]
    manifest: dict[str, Any]
    registry: dict[str, Any]
    catalog: dict[str, Any]
    joins: dict[str, Any]
    tests: dict[str, Any]
    decisions: dict[str, Any]
    read: tuple[str, ...]
    ir_path: str
    prompt_path: str
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return {m["name"]: m for m in self.registry["models"]}

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.manifest["tables"]}

    @property
    def source_name(self) -> str:
        return str(self.manifest["source"])

    def model_pointer(self, name: str) -> str:
        for i, m in enumerate(self.registry["models"]):
            if m["name"] == name:
                return f"/models/{i}"
        return "/models"


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("leakcli.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def pointer_of(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"


def validate(document: Any, schema_name: str, file: str) -> list[ContractError]:
    """All schema violations of one document, in document order."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        ContractError(f"schema violation: {e.message}", file=file, pointer=pointer_of(e.absolute_path))
        for e in errors
    ]


def read_json(root: Path, rel: str, problems: list[ContractError]) -> tuple[Any, str]:
    """Parse one JSON file; a missing or malformed file is added to `problems` (None returned)."""
    import hashlib

    path = root / rel
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(ContractError("required file is missing", file=rel))
        return None, ""
    except OSError as exc:
        problems.append(ContractError(f"cannot read file: {exc.strerror}", file=rel))
        return None, ""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return json.loads(raw.decode("utf-8")), digest
    except UnicodeDecodeError as exc:
        problems.append(ContractError(f"not UTF-8 at byte {exc.start}", file=rel))
    except json.JSONDecodeError as exc:
        problems.append(
            ContractError(f"malformed JSON: {exc.msg}", file=rel, line=exc.lineno, column=exc.colno)
        )
    return None, digest


def load(root: Path) -> Contracts:
    """Read and validate every contract of the project at `root` (LEAK-SPEC §3)."""
    problems: list[ContractError] = []
    read: list[str] = []
    digests: dict[str, str] = {}

    def load_one(rel: str, schema_name: str) -> Any:
        doc, digest = read_json(root, rel, problems)
        read.append(rel)
        digests[rel] = digest
        if doc is not None:
            found = validate(doc, schema_name, rel)
            problems.extend(found)
            if found:
                return None
        return doc

    phase_plan = load_one(PHASE_PLAN, "phase-plan")
    ir_path = prompt_path = ""
    ir: Any = None
    prompt = ""
    if phase_plan is not None:
        if len(phase_plan["phases"]) != 1:
            problems.append(
                ContractError(
                    f"the light build has exactly one phase, found {len(phase_plan['phases'])}",
                    file=PHASE_PLAN,
                    pointer="/phases",
                )
            )
        phase = phase_plan["phases"][0]
        prompt_path, ir_path = phase["prompt"], phase["ir"]
        try:
            prompt = (root / prompt_path).read_text("utf-8")
            read.append(prompt_path)
        except (OSError, UnicodeDecodeError):
            problems.append(
                ContractError(
                    f"prompt '{prompt_path}' named by the phase plan is missing or unreadable",
                    file=PHASE_PLAN,
                    pointer="/phases/0/prompt",
                )
            )
        ir = load_one(ir_path, "stage-ir")
    docs = {key: load_one(rel, name) for key, (rel, name) in CONTRACT_FILES.items()}
    if problems:
        raise ContractError(problems[0].message, problems=problems, file=problems[0].file,
                            pointer=problems[0].pointer, line=problems[0].line,
                            column=problems[0].column)
    return Contracts(
        root=root,
        phase_plan=phase_plan,
        prompt=prompt,
        ir=ir,
        read=tuple(read),
        ir_path=ir_path,
        prompt_path=prompt_path,
        digests=digests,
        **docs,
    )
