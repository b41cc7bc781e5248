"""Open questions `plan` asks (LEAK-SPEC §9): the record and a collector that numbers them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("blocking", "warning", "info")


@dataclass(frozen=True)
class Ambiguity:
    id: str
    code: str
    severity: str  # blocking | warning | info
    location: str  # file#/json/pointer or file:line
    question: str
    resolved_by: str | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        if d["resolved_by"] is None:
            del d["resolved_by"]
        return d


class Questions:
    """Collects ambiguities in the order they are found and gives each a stable id."""

    def __init__(self) -> None:
        self.items: list[Ambiguity] = []

    def ask(self, code: str, severity: str, location: str, question: str,
            resolved_by: str | None = None) -> None:
        assert severity in SEVERITIES, severity
        self.items.append(
            Ambiguity(f"Q-{len(self.items) + 1:03d}", code, severity, location, question, resolved_by)
        )

    @property
    def blocking(self) -> list[Ambiguity]:
        return [a for a in self.items if a.severity == "blocking"]
