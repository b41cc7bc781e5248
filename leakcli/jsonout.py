"""JSON output: the envelope every `--json` document shares, and values made JSON-ready."""

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


def envelope(**fields: object) -> dict[str, object]:
    """One JSON document of leakcli's output: `schema_version` first, then the fields given."""
    return {"schema_version": SCHEMA_VERSION, **fields}
