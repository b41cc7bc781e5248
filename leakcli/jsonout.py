"""Small shared helpers of leakcli's output: the envelope every `--json` document shares, values made
JSON-ready, "did you mean", and the memo the cache keeps."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Generic, TypeVar

SCHEMA_VERSION = 1
V = TypeVar("V")
Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


def jsonable(value: object) -> Json:
    """DuckDB values as JSON: decimals as numbers, dates as ISO text, containers recursively."""
    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def envelope(**fields: object) -> dict[str, object]:
    """One JSON document of leakcli's output: `schema_version` first, then the fields given."""
    return {"schema_version": SCHEMA_VERSION, **fields}


def closest(name: str, options: list[str], cutoff: float = 0.6) -> str | None:
    """The option most like `name` ("did you mean"), or None."""
    import difflib

    found = difflib.get_close_matches(name, options, n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(name: str, options: list[str]) -> str:
    """"; did you mean 'x'?" for the end of an error line, or "" when nothing is close."""
    close = closest(name, options)
    return f"; did you mean '{close}'?" if close else ""


class Memo(Generic[V]):
    """Results kept across commands in target/.cache (sources/cache.py loads `known` and saves `used`):
    what is known, and of it what this command used or found, which is what the cache keeps next time."""

    _every: list[Memo[object]] = []

    def __init__(self) -> None:
        self.known: dict[str, V] = {}
        self.used: dict[str, V] = {}
        Memo._every.append(self)  # type: ignore[arg-type]

    @classmethod
    def forget_all(cls) -> None:
        """Empty every memo, as a new process starts: only the cache on disk knows anything then."""
        for memo in cls._every:
            memo.known.clear()
            memo.used.clear()

    def get(self, key: str) -> V | None:
        value = self.known.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: str, value: V) -> None:
        self.known[key] = self.used[key] = value
