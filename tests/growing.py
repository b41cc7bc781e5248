"""A shop whose data grows: the four source files split at a time, the rows still to come appended as a
shop's exports grow, and every model of two builds read back to compare them."""

from __future__ import annotations

from pathlib import Path

FILES = ("website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv")
MODELS = ("stg__website_sessions", "stg__website_pageviews", "stg__orders", "stg__order_item_refunds",
          "int__session_landing_pages", "int__order_refunds", "int__session_outcomes", "mart__core_leak_summary",
          "mart__priority_actions")


class Shop:
    """The rows of the four files, by file, and the rows still to come (by their time)."""

    def __init__(self, source: Path, cutoff: str) -> None:
        self.head: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {}
        self.future: dict[str, list[str]] = {}
        for name in FILES:
            lines = (source / name).read_text().splitlines()
            self.head[name] = lines[0]
            rows = sorted(lines[1:], key=lambda r: r.split(",")[1])
            self.rows[name] = [r for r in rows if r.split(",")[1] < cutoff]
            self.future[name] = [r for r in rows if r.split(",")[1] >= cutoff]

    def write(self, folder: Path, name: str | None = None) -> None:
        for f in [name] if name else FILES:
            (folder / f).write_text("\n".join([self.head[f], *self.rows[f]]) + "\n")

    def append(self, folder: Path, until: str) -> bool:
        """The rows still to come up to `until`, appended to the end of each file (the old bytes kept)."""
        grew = False
        for f in FILES:
            new = [r for r in self.future[f] if r.split(",")[1] < until]
            if new:
                self.future[f] = self.future[f][len(new):]
                self.rows[f] += new
                with (folder / f).open("a") as fh:
                    fh.write("\n".join(new) + "\n")
                grew = True
        return grew


def tables(db: Path) -> dict[str, list[tuple]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for m in MODELS:
            cols = con.execute(f"select column_name, data_type from duckdb_columns() where table_name = '{m}' "
                               "order by column_index").fetchall()
            picked = ", ".join(f'round("{n}", 9)' if t == "DOUBLE" else f'"{n}"' for n, t in cols)
            out[m] = con.execute(f'select {picked} from "{m}" order by all').fetchall()
        return out
    finally:
        con.close()



def fingerprints(db: Path) -> dict[str, tuple[int, int]]:
    """Per model, its row count and the sum of its rows' hashes (DOUBLEs to 9 places): the same rows in
    any order give the same pair, so two builds hold the same models when their fingerprints are equal.
    DuckDB computes it in one scan, so the full shop is quick."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for m in MODELS:
            cols = con.execute("select column_name, data_type from duckdb_columns() where table_name = ? "
                               "order by column_index", [m]).fetchall()
            picked = ", ".join(f'round("{n}", 9)' if t == "DOUBLE" else f'"{n}"' for n, t in cols)
            out[m] = con.execute(f'select count(*), sum(hash({picked})) from "{m}"').fetchone()
        return out
    finally:
        con.close()
