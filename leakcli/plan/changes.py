"""What changed since the published build, as plan shows it: contract values by JSON pointer
(`~ /min_sessions: 100 -> 200`) and a unified diff of each rebuilt model's SQL. Read-only."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from leakcli.contracts.load import pointer_of
from leakcli.contracts.records import ContractChange
from leakcli.files import read_json_file, read_text

if TYPE_CHECKING:
    from leakcli.contracts.load import Contracts

SNAPSHOT = "contracts.json"  # in each build: the contracts it was built from
COMPILED_HEADER = "-- compiled by leakcli from "


def snapshot(c: Contracts) -> str:
    return json.dumps(c.documents, indent=1, sort_keys=True) + "\n"


def contract_changes(c: Contracts, published: Path) -> list[ContractChange] | None:
    """Changed values of every contract file against the published build's snapshot; None when
    there is no snapshot to compare with (nothing built yet, or an older build)."""
    old = read_json_file(published)
    if not isinstance(old, dict):
        return None
    changes: list[ContractChange] = []
    for file in sorted(set(old) | set(c.documents)):
        changes += value_changes(file, old.get(file, _MISSING), c.documents.get(file, _MISSING))
    return changes


def value_changes(file: str, old: object, new: object) -> list[ContractChange]:
    """Every value added, removed or changed from `old` to `new` (two parsed JSON documents of
    `file`), by JSON pointer; lists of objects of the same shape are compared item by item."""
    out: list[ContractChange] = []
    _walk(file, (), old, new, out)
    return out


class _Missing:
    pass


_MISSING = _Missing()


def _walk(file: str, path: tuple[int | str, ...], old: object, new: object, out: list[ContractChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            _walk(file, (*path, key), old.get(key, _MISSING), new.get(key, _MISSING), out)
    elif isinstance(old, list) and isinstance(new, list) and _same_shape(old, new):
        for i in range(max(len(old), len(new))):
            _walk(file, (*path, i), old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING, out)
    elif old != new or type(old) is not type(new):
        op: Literal["+", "-", "~"] = "+" if old is _MISSING else "-" if new is _MISSING else "~"
        out.append(ContractChange.model_validate({"file": file, "pointer": pointer_of(path), "op": op,
                                                  "old": None if old is _MISSING else old,
                                                  "new": None if new is _MISSING else new}))


def _same_shape(old: list[object], new: list[object]) -> bool:
    """Lists of records named alike compare item by item; otherwise the whole list is one value."""
    def names(items: list[object]) -> list[object]:
        return [i.get("name", i.get("id")) if isinstance(i, dict) else None for i in items]
    a, b = names(old), names(new)
    common = min(len(a), len(b))
    return a[:common] == b[:common]


def published_sql(compiled: Path, name: str) -> str | None:
    """The SQL the published table was built from (its compiled file without leakcli's header)."""
    try:
        text = read_text(compiled / f"{name}.sql")
    except (OSError, UnicodeDecodeError):
        return None
    first, _, rest = text.partition("\n")
    return rest if first.startswith(COMPILED_HEADER) else text


def sql_diff(old: str, new: str, name: str) -> list[str]:
    """A unified diff of two SQL texts, three lines of context; empty when they are equal."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"published/{name}.sql", f"planned/{name}.sql", lineterm="")]
