"""Small shared helpers of leakcli's output: the envelope every `--json` document shares, values made
JSON-ready and their digests, and "did you mean"."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

SCHEMA_VERSION = 1
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


def digest(obj: object) -> str:
    """The sha256 of a JSON-ready value, keys sorted: what fingerprints are made of."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


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
