"""One action of the priority list (LEAK-SPEC §7), typed once: the columns of the priority mart that
leakcli's outputs read are named here and nowhere else; every column rides along, JSON-ready, for
`--json`. A build of an older revision lacks some columns: they read as None (or "" for a status)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        found = float(str(value))
    except ValueError:
        return None
    return found if found == found and abs(found) != float("inf") else None


def _month(value: object) -> str | None:
    return str(value)[:7] if value else None


@dataclass(frozen=True)
class Action:
    rank: int
    scope: str  # device | segment
    segment: tuple[tuple[str, str], ...]  # the catalog's segment keys and their values, in its order
    status: str  # act | emerging | stopped | noise
    gap_usd: float
    primary_leak: str
    text: str  # the recommended action
    row: Mapping[str, object]  # every column of the mart, JSON-ready
    share: float | None = None  # of all actions' gaps
    sessions: int | None = None
    window: tuple[str, str] | None = None  # first and last month (YYYY-MM)
    z: float | None = None
    q: float | None = None
    se: float | None = None  # of the gap, USD
    last_month: str | None = None  # the last month of the window with sessions (YYYY-MM)
    live: bool | None = None
    significant: bool | None = None  # the window's gap is bigger than chance (q at most the rate)
    recent_gap_usd: float | None = None  # revision 4: over the last recent_months months of the window
    recent_se: float | None = None  # of the recent gap, USD
    recent_z: float | None = None
    recent_q: float | None = None
    recent_significant: bool | None = None

    @classmethod
    def of(cls, row: Mapping[str, object], keys: Sequence[str]) -> Action:
        """The action of one row of the mart (JSON-ready values, as rows_as_dicts gives them)."""
        sessions = _float(row.get("sessions"))
        start, end = _month(row.get("window_start_month")), _month(row.get("window_end_month"))
        live, recent = row.get("is_live"), row.get("is_recent_significant")
        significant = row.get("is_significant")
        return cls(rank=int(str(row.get("priority_rank", 0))), scope=str(row.get("action_scope", "")),
                   segment=tuple((k, str(row.get(k, ""))) for k in keys),
                   status=str(row.get("action_status") or ""), gap_usd=_float(row.get("gap_usd")) or 0.0,
                   primary_leak=str(row.get("primary_leak") or ""), text=str(row.get("recommended_action") or ""),
                   row=dict(row), share=_float(row.get("share_of_total_gap")),
                   sessions=None if sessions is None else int(sessions),
                   window=(start, end) if start and end else None, z=_float(row.get("gap_z")),
                   q=_float(row.get("q_value")), se=_float(row.get("gap_se_usd")),
                   last_month=_month(row.get("last_session_month")),
                   live=live if isinstance(live, bool) else None,
                   significant=significant if isinstance(significant, bool) else None,
                   recent_gap_usd=_float(row.get("recent_gap_usd")), recent_se=_float(row.get("recent_gap_se_usd")),
                   recent_z=_float(row.get("recent_gap_z")),
                   recent_q=_float(row.get("recent_q_value")),
                   recent_significant=recent if isinstance(recent, bool) else None)

    def value(self, key: str) -> str:
        """The value of one segment key ("(all)" for the keys a device action spans)."""
        return dict(self.segment).get(key, "")

    def label(self, all_label: str) -> str:
        """What the action is about, its (all) keys left out: 'bsearch / nonbrand / desktop / /lander-5'."""
        return " / ".join(v for _, v in self.segment if v != all_label)
