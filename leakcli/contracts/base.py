"""The base classes of every typed contract and record, and the value types they share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(min_length=1)]
SqlType = Annotated[str, StringConstraints(
    pattern=r"^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|BOOLEAN|VARCHAR|DATE"
            r"|TIMESTAMP|DECIMAL\([0-9]+,[0-9]+\))$")]
Scalar = str | int | float | bool
Number = int | Annotated[float, Field(allow_inf_nan=False)]


class Strict(BaseModel):
    """Frozen, no unknown keys, no type coercion; `$schema` is allowed in every document."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True, defer_build=True)


class Document(Strict):
    schema_ref: str | None = Field(default=None, alias="$schema")
    version: Literal[1]



class Record(BaseModel):
    """Frozen, no unknown keys; lenient on types so a record read back from JSON validates."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, populate_by_name=True)

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)
