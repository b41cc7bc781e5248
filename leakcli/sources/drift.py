"""Drift: where the data moved away from its committed profile (row count, null shares, values a
profile never saw). Plan warns with the figures; the manifest's `checks` say how far is drift."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakcli.contracts.load import Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.contracts.documents import Profile
    from leakcli.sources.facts import SourceFacts


def known_values(profiles: dict[str, Profile], slack_days: int = 366) -> dict[str, dict[str, list[str]]]:
    """Per table and column, the complete list of values a profile saw (short lists only), and for a
    timestamp or date the range it saw widened by `slack_days` on each side (scan.RANGE keys)."""
    import datetime as dt

    from leakcli.sources.scan import RANGE

    out: dict[str, dict[str, list[str]]] = {}
    slack = dt.timedelta(days=slack_days)
    for table, doc in profiles.items():
        for col in doc.columns:
            top = col.top_values
            if col.type == "VARCHAR" and 0 < col.distinct_count == len(top):
                out.setdefault(table, {})[col.name] = [str(t.value) for t in top]
            if col.type in ("TIMESTAMP", "DATE") and isinstance(col.min, str) and isinstance(col.max, str):
                try:
                    lo, hi = dt.datetime.fromisoformat(col.min) - slack, dt.datetime.fromisoformat(col.max) + slack
                except ValueError:
                    continue
                fmt = "%Y-%m-%d %H:%M:%S" if col.type == "TIMESTAMP" else "%Y-%m-%d"
                out.setdefault(table, {})[RANGE + col.name] = [lo.strftime(fmt), hi.strftime(fmt)]
    return out


def compare_profiles(c: Contracts, paths: Paths, facts: dict[str, SourceFacts],
                     profiles: dict[str, Profile], q: Questions) -> None:
    """Warn, with the figures, where the data drifted from its committed profile (the manifest's
    `checks` say how far is drift)."""
    drift = c.manifest.checks
    for table, fact in facts.items():
        doc = profiles.get(table)
        if doc is None or fact.stats is None or doc.sha256 == fact.sha256:
            continue
        loc = paths.rel(paths.profiles / f"{table}.json")
        before, now = doc.row_count, fact.stats.rows
        if before and abs(now - before) / before > drift.row_drift:
            q.ask(Code.PROFILE_DRIFT, fact.file,
                  f"{c.tables[table].file} has {now:,} rows where its profile {loc} has "
                  f"{before:,} ({(now - before) / before:+.1%}): is this the export you meant?")
        for col in doc.columns:
            seen = fact.stats.columns.get(col.name)
            if seen is None:
                continue
            share_before = col.null_count / before if before else 0.0
            share_now = seen.nulls / now if now else 0.0
            if abs(share_now - share_before) > drift.null_drift:
                q.ask(Code.PROFILE_DRIFT, fact.file,
                      f"Column {table}.{col.name} is {share_now:.1%} null where its profile {loc} "
                      f"has {share_before:.1%}: did the export change?")
            if seen.new.count:
                q.ask(Code.PROFILE_DRIFT, fact.file,
                      f"Column {table}.{col.name} holds {seen.new.count} value(s) its profile {loc} "
                      f"never saw: {', '.join(map(str, seen.new.values))}. New segment or bad data?")
