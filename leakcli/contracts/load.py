"""Load the on-disk contracts of LEAK-SPEC §3 into the typed models of `leakcli.contracts` (documents.py, catalog.py).

Every violation of every file is collected, then raised at once as one ContractError whose
`problems` name the file and the JSON pointer (or line and column for malformed JSON).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from leakcli.errors import ContractError
from leakcli.files import read_bytes, read_text
from leakcli.progress import count

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

    from leakcli.contracts.catalog import MetricCatalog
    from leakcli.contracts.documents import (
        AcceptanceTests,
        Decisions,
        JoinContracts,
        Model,
        ModelRegistry,
        PhasePlan,
        SourceManifest,
        StageIR,
        Table,
    )
    from leakcli.contracts.unittests import UnitTests

PHASE_PLAN = "phase-plan.json"
MANIFEST = "contracts/source-manifest.json"
REGISTRY = "contracts/model-registry.json"
CATALOG = "contracts/metric-catalog.json"
JOINS = "contracts/join-contracts.json"
TESTS = "contracts/acceptance-tests.json"
DECISIONS = "contracts/decisions.json"
UNIT_TESTS = "contracts/unit-tests.json"
# attribute of Contracts -> (file, document kind); the attributes `check_decisions` walks
CONTRACT_FILES = {
    "manifest": (MANIFEST, "source-manifest"),
    "registry": (REGISTRY, "model-registry"),
    "catalog": (CATALOG, "metric-catalog"),
    "joins": (JOINS, "join-contracts"),
    "tests": (TESTS, "acceptance-tests"),
    "decisions": (DECISIONS, "decisions"),
    "unit_tests": (UNIT_TESTS, "unit-tests"),
}
D = TypeVar("D", bound="BaseModel")


@dataclass(frozen=True, eq=False)  # one object per load: hashed by identity
class Contracts:
    """Every contract of a project, validated. `read` lists the files read, in reading order."""

    root: Path
    phase_plan: PhasePlan
    prompt: str
    ir: StageIR
    manifest: SourceManifest
    registry: ModelRegistry
    catalog: MetricCatalog
    joins: JoinContracts
    tests: AcceptanceTests
    decisions: Decisions
    unit_tests: UnitTests
    read: tuple[str, ...]
    ir_path: str
    prompt_path: str
    digests: dict[str, str] = field(default_factory=dict)
    documents: dict[str, object] = field(default_factory=dict)  # file -> its parsed JSON, for diffs
    # (the unit tests are not among them: no build is made from them, so no build snapshots them)

    @property
    def models(self) -> dict[str, Model]:
        return {m.name: m for m in self.registry.models}

    @property
    def tables(self) -> dict[str, Table]:
        return {t.name: t for t in self.manifest.tables}

    @property
    def source_name(self) -> str:
        return self.manifest.source

    def model_pointer(self, name: str) -> str:
        for i, m in enumerate(self.registry.models):
            if m.name == name:
                return f"/models/{i}"
        return "/models"


def inside(root: Path, rel: str) -> bool:
    """`rel` names a file within the project, links followed (contracts never reach outside it)."""
    return (root / rel).resolve().is_relative_to(root.resolve())


def pointer_of(path: tuple[int | str, ...] | list[int | str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"


class _NotANumber(float):
    """NaN or Infinity as written in a JSON file: kept while parsing, refused at its pointer."""

    def __new__(cls, text: str) -> _NotANumber:
        value = super().__new__(cls, text)
        value.text = text
        return value

    text: str


def _float(text: str) -> float:
    """A JSON number; one too large for a float (1e999) is kept to be refused at its pointer."""
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else _NotANumber(text)


class _Object(dict[str, object]):
    """A JSON object that remembers the keys given twice."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object()
    obj.duplicates = [k for i, (k, _) in enumerate(pairs) if any(k == other for other, _ in pairs[:i])]
    obj.update(pairs)
    return obj


def _strict_problems(doc: object, rel: str, pointer: str = "") -> list[ContractError]:
    """Numbers that are not numbers and keys given twice, each at its JSON pointer."""
    found: list[ContractError] = []
    todo: list[tuple[object, str]] = [(doc, pointer)]
    while todo:
        value, ptr = todo.pop()
        if isinstance(value, _NotANumber):
            what = "a JSON number" if value.text.strip("-").isalpha() else "a finite number (too large for a double)"
            found.append(ContractError(f"{value.text} is not {what}", file=rel, pointer=ptr or "/"))
        elif isinstance(value, dict):
            if isinstance(value, _Object):
                found += [ContractError(f"key '{k}' is given twice; which one holds?", file=rel,
                                        pointer=f"{ptr}/{_escape(k)}") for k in dict.fromkeys(value.duplicates)]
            todo += [(v, f"{ptr}/{_escape(k)}") for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, f"{ptr}/{i}") for i, v in enumerate(value)]
    return sorted(found, key=lambda e: e.pointer or "")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def parse_json(raw: bytes, rel: str) -> object:
    """Strict JSON: UTF-8, no NaN or Infinity, no key given twice; a problem is a ContractError (all
    of them at once, each with its JSON pointer)."""
    count(f"contract parsed: {rel}")
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_object, parse_constant=_NotANumber,
                         parse_float=_float)
    except UnicodeDecodeError as exc:
        raise ContractError(f"not UTF-8 at byte {exc.start}", file=rel) from None
    except json.JSONDecodeError as exc:
        raise ContractError(f"malformed JSON: {exc.msg}", file=rel, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise ContractError("malformed JSON: nested too deeply", file=rel) from None
    problems = _strict_problems(doc, rel)
    if problems:
        raise ContractError(problems[0].message, problems=problems, file=rel, pointer=problems[0].pointer)
    return doc


def validate(kind: type[D], document: object, file: str) -> tuple[D | None, list[ContractError]]:
    """The typed document, or every violation of it in document order."""
    from pydantic import ValidationError

    try:
        return kind.model_validate(document), []
    except ValidationError as exc:
        return None, [
            ContractError(f"schema violation: {_message(e)}", file=file, pointer=pointer_of(e["loc"]))
            for e in exc.errors(include_url=False)
        ]


_PLAIN = {  # pydantic's words for what is wrong with a value, as a contract's author reads them
    "int_type": "must be a whole number", "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number", "float_type": "must be a number", "float_parsing": "must be a number",
    "greater_than_equal": "must be at least {ge}", "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}", "less_than": "must be less than {lt}",
    "finite_number": "must be a finite number", "string_type": "must be a text", "bool_type": "must be true or false",
}


def _message(error: ErrorDetails) -> str:
    msg = str(error["msg"])
    if error["type"] == "missing":
        return f"'{error['loc'][-1]}' is a required property"
    if error["type"] == "extra_forbidden":
        return f"additional property '{error['loc'][-1]}' is not allowed"
    if error["type"] in _PLAIN:
        msg = _PLAIN[error["type"]].format(**error.get("ctx", {}))
    msg = msg.removeprefix("Value error, ")
    found = repr(error.get("input"))
    return f"{msg} (found {found[:60] + '...' if len(found) > 60 else found})" if error["loc"] else msg


def read_document(root: Path, rel: str, kind: type[D], problems: list[ContractError],
                  digests: dict[str, str], documents: dict[str, object] | None = None) -> D | None:
    """Read, parse and validate one file; problems are added to `problems` (None returned)."""
    path = root / rel
    try:
        raw = read_bytes(path)
    except FileNotFoundError:
        problems.append(ContractError("required file is missing", file=rel))
        return None
    except OSError as exc:
        problems.append(ContractError(f"cannot read file: {exc.strerror}", file=rel))
        return None
    digests[rel] = hashlib.sha256(raw).hexdigest()
    try:
        doc = parse_json(raw, rel)
    except ContractError as exc:
        problems.extend(exc.problems or [exc])
        return None
    if documents is not None:
        documents[rel] = doc
    typed, found = validate(kind, doc, rel)
    problems.extend(found)
    return typed


def load(root: Path) -> Contracts:
    """Read and validate every contract of the project at `root` (LEAK-SPEC §3)."""
    from leakcli.contracts.catalog import MetricCatalog
    from leakcli.contracts.documents import (
        AcceptanceTests,
        Decisions,
        JoinContracts,
        ModelRegistry,
        PhasePlan,
        SourceManifest,
        StageIR,
    )
    from leakcli.contracts.unittests import UnitTests

    problems: list[ContractError] = []
    read: list[str] = [PHASE_PLAN]
    digests: dict[str, str] = {}
    docs: dict[str, object] = {}
    phase_plan = read_document(root, PHASE_PLAN, PhasePlan, problems, digests, docs)
    ir_path = prompt_path = prompt = ""
    ir = None
    if phase_plan is not None:
        if len(phase_plan.phases) != 1:
            problems.append(ContractError(
                f"the light build has exactly one phase, found {len(phase_plan.phases)}",
                file=PHASE_PLAN, pointer="/phases"))
        phase = phase_plan.phases[0]
        prompt_path, ir_path = phase.prompt, phase.ir
        for key, rel in (("prompt", prompt_path), ("ir", ir_path)):
            if not inside(root, rel):
                problems.append(ContractError(f"'{rel}' points outside the project", file=PHASE_PLAN,
                                              pointer=f"/phases/0/{key}"))
        try:
            if not inside(root, prompt_path):
                raise OSError
            prompt = read_text(root / prompt_path)
            read.append(prompt_path)
        except (OSError, UnicodeDecodeError):
            problems.append(ContractError(
                f"prompt '{prompt_path}' named by the phase plan is missing or unreadable",
                file=PHASE_PLAN, pointer="/phases/0/prompt"))
        read.append(ir_path)
        ir = read_document(root, ir_path, StageIR, problems, digests, docs) if inside(root, ir_path) else None
    read.extend(rel for rel, _ in CONTRACT_FILES.values())
    manifest = read_document(root, MANIFEST, SourceManifest, problems, digests, docs)
    registry = read_document(root, REGISTRY, ModelRegistry, problems, digests, docs)
    catalog = read_document(root, CATALOG, MetricCatalog, problems, digests, docs)
    joins = read_document(root, JOINS, JoinContracts, problems, digests, docs)
    tests = read_document(root, TESTS, AcceptanceTests, problems, digests, docs)
    decisions = read_document(root, DECISIONS, Decisions, problems, digests, docs)
    unit_tests = read_document(root, UNIT_TESTS, UnitTests, problems, digests)
    if problems:
        first = problems[0]
        raise ContractError(first.message, problems=problems, file=first.file, pointer=first.pointer,
                            line=first.line, column=first.column)
    assert phase_plan and ir and manifest and registry and catalog and joins and tests and decisions and unit_tests
    return Contracts(root=root, phase_plan=phase_plan, prompt=prompt, ir=ir, manifest=manifest,
                     registry=registry, catalog=catalog, joins=joins, tests=tests, decisions=decisions,
                     unit_tests=unit_tests,
                     read=tuple(read), ir_path=ir_path, prompt_path=prompt_path, digests=digests,
                     documents=docs)


def model_names(root: Path | None = None) -> list[str]:
    """The models of the registry of the project at `root` ($LEAKCLI_PROJECT_DIR, else the current
    folder), read leniently for shell completion: none when it cannot be read."""
    import os

    root = root or Path(os.environ.get("LEAKCLI_PROJECT_DIR", "."))
    try:
        doc = json.loads((root / REGISTRY).read_text("utf-8"))
        return [str(m["name"]) for m in doc["models"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
