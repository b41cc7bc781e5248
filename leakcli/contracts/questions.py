"""Open questions `plan` asks (LEAK-SPEC §9): the codes, the one table of what each means, the
record of one question, and a collector that names them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from leakcli.contracts.base import Record
from leakcli.errors import BlockingAmbiguity, DataError, ExitCode

Severity = Literal["blocking", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("blocking", "warning", "info")


class Code(str, Enum):
    MISSING_FILE = "missing_file"
    HEADER_MISMATCH = "header_mismatch"
    BAD_VALUE = "bad_value"
    UNDECLARED_NULL_TOKEN = "undeclared_null_token"
    UNEXPECTED_NULL = "unexpected_null"
    UNACCEPTED_VALUE = "unaccepted_value"
    DUPLICATE_KEY = "duplicate_key"
    EMPTY_SOURCE = "empty_source"
    RELATION = "relation"
    PROFILE_DRIFT = "profile_drift"
    SYNTHETIC_FALLBACK = "synthetic_fallback"
    IR_REGISTRY_MISMATCH = "ir_registry_mismatch"
    OUT_OF_SCOPE = "out_of_scope"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    UNKNOWN_REF = "unknown_ref"
    UNDECLARED_DEPENDENCY = "undeclared_dependency"
    SOURCE_FOR_MODEL = "source_for_model"
    UNKNOWN_SOURCE = "unknown_source"
    LITERAL_MODEL_NAME = "literal_model_name"
    CYCLE = "cycle"
    UNKNOWN_MODEL = "unknown_model"
    METRIC_UNKNOWN_COLUMN = "metric_unknown_column"
    UNKNOWN_FORMAT = "unknown_format"
    PRIORITY_RULE = "priority_rule"
    JOIN_CARDINALITY = "join_cardinality"
    JOIN_KEYS = "join_keys"
    JOIN_KEY_TYPES = "join_key_types"
    UNKNOWN_JOIN = "unknown_join"
    DECISION = "decision"
    OPEN_DECISION = "open_decision"
    RENDER_ERROR = "render_error"
    BIND_ERROR = "bind_error"
    CONTRACT_MISMATCH = "contract_mismatch"
    NOT_ONE_SELECT = "not_one_select"
    DAMAGED_BUILD = "damaged_build"
    THRESHOLD_MEANING = "threshold_meaning"
    OUT_OF_RANGE = "out_of_range"
    BELOW_MINIMUM = "below_minimum"
    PARTITION = "partition"
    WINDOW_SHORT = "window_short"
    NAME_TOO_LONG = "name_too_long"
    UNIT_TEST = "unit_test"
    UNTESTED = "untested"


class Group(Enum):
    REF = "a dependency bypasses or contradicts ref()"
    OTHER = ""


@dataclass(frozen=True)
class Rule:
    severity: Severity | None  # None: the contract that raised it sets the severity
    exit_code: ExitCode  # of `apply` when the question blocks it
    group: Group = Group.OTHER


BLOCKING = Rule("blocking", ExitCode.USAGE)
WARNING = Rule("warning", ExitCode.USAGE)
INFO = Rule("info", ExitCode.USAGE)
BY_CONTRACT = Rule(None, ExitCode.USAGE)
REF = Rule("blocking", ExitCode.USAGE, Group.REF)
DATA_ROW = Rule("blocking", ExitCode.EXECUTION)  # a row that cannot be read fails the run (exit 3)
RULES: dict[Code, Rule] = {
    Code.MISSING_FILE: BLOCKING, Code.HEADER_MISMATCH: BLOCKING, Code.BAD_VALUE: DATA_ROW,
    Code.UNDECLARED_NULL_TOKEN: BLOCKING, Code.UNEXPECTED_NULL: BLOCKING, Code.UNACCEPTED_VALUE: BY_CONTRACT,
    Code.DUPLICATE_KEY: BLOCKING, Code.EMPTY_SOURCE: BY_CONTRACT, Code.RELATION: BY_CONTRACT,
    Code.PROFILE_DRIFT: WARNING, Code.SYNTHETIC_FALLBACK: INFO, Code.IR_REGISTRY_MISMATCH: BLOCKING,
    Code.OUT_OF_SCOPE: BLOCKING, Code.UNKNOWN_COLUMN: BLOCKING, Code.DUPLICATE_COLUMN: BLOCKING,
    Code.UNKNOWN_REF: REF, Code.UNDECLARED_DEPENDENCY: REF, Code.SOURCE_FOR_MODEL: REF,
    Code.UNKNOWN_SOURCE: REF, Code.LITERAL_MODEL_NAME: REF, Code.CYCLE: BLOCKING,
    Code.UNKNOWN_MODEL: BLOCKING, Code.METRIC_UNKNOWN_COLUMN: BLOCKING, Code.UNKNOWN_FORMAT: BLOCKING,
    Code.PRIORITY_RULE: BLOCKING,
    Code.JOIN_CARDINALITY: BLOCKING, Code.JOIN_KEYS: BLOCKING, Code.JOIN_KEY_TYPES: BLOCKING,
    Code.UNKNOWN_JOIN: BLOCKING, Code.DECISION: INFO, Code.OPEN_DECISION: BLOCKING,
    Code.RENDER_ERROR: BLOCKING, Code.BIND_ERROR: BLOCKING, Code.CONTRACT_MISMATCH: BLOCKING,
    Code.NOT_ONE_SELECT: BLOCKING, Code.DAMAGED_BUILD: WARNING, Code.THRESHOLD_MEANING: BLOCKING,
    Code.OUT_OF_RANGE: BLOCKING, Code.BELOW_MINIMUM: BY_CONTRACT, Code.PARTITION: BLOCKING,
    Code.WINDOW_SHORT: WARNING, Code.NAME_TOO_LONG: BLOCKING, Code.UNIT_TEST: BLOCKING, Code.UNTESTED: WARNING,
}


class Question(Record):
    """An open question of plan (LEAK-SPEC §9); RULES says what its code means."""

    id: str
    code: Code
    severity: Severity
    location: str  # file#/json/pointer or file:line
    question: str
    resolved_by: str | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.code]


class Questions:
    """Collects ambiguities in the order they are found. Each id is drawn from what the question is
    about (its code and location), so the same question keeps its id from run to run and two different
    questions never share one, whatever else the run finds."""

    def __init__(self) -> None:
        self.items: list[Question] = []
        self._ids: set[str] = set()

    def ask(self, code: Code, location: str, question: str, *, severity: Severity | None = None,
            resolved_by: str | None = None) -> None:
        """`severity` only for the codes whose contract sets it (RULES says None)."""
        fixed = RULES[code].severity
        assert (fixed is None) != (severity is None), (code, severity)
        chosen = fixed or severity
        assert chosen in SEVERITIES
        self.items.append(Question(id=self._id(code, location), code=code, severity=chosen,
                                   location=location, question=question, resolved_by=resolved_by))

    def _id(self, code: Code, location: str) -> str:
        digest = hashlib.sha256(f"{code.value}\0{location}".encode()).hexdigest()
        found = f"Q-{digest[:6]}"
        n = 1
        while found in self._ids:  # the very same question asked twice
            n += 1
            found = f"Q-{digest[:6]}-{n}"
        self._ids.add(found)
        return found

    def in_group(self, group: Group) -> list[Question]:
        return [a for a in self.items if a.rule.group is group]

    @property
    def blocking(self) -> list[Question]:
        return [a for a in self.items if a.severity == "blocking"]


def refuse_blocked(blocking: list[Question]) -> None:
    """Stop on the blocking questions: a row that cannot be read is an execution failure (exit 3),
    anything else a blocking ambiguity (exit 2), named by the first of them."""
    bad_rows = [a for a in blocking if a.rule.exit_code is ExitCode.EXECUTION]
    if bad_rows:
        error = DataError(bad_rows[0].question, file=bad_rows[0].location,  # it asks to fix the file already
                          hint="apply changed nothing; run `leakcli plan` once it is fixed")
        error.blocked = True
        raise error
    if blocking:
        first = blocking[0]
        raise BlockingAmbiguity(
            f"{len(blocking)} blocking question(s) open; apply changed nothing. First: {first.question}",
            [a.to_dict() for a in blocking], file=first.location)
