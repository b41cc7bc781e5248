"""How much leakcli adds over DuckDB: `plan` and `apply` against raw DuckDB running the same SQL.

    python benchmarks/bench_apply.py [DATA_DIR] [--repeat N]

In one process and on the same data: (1) raw DuckDB loads the sources with the same read_csv calls
and runs the nine compiled models into a fresh database file; (2) leakcli's `apply --full-refresh`
(plan, checks, build, contract checks, exports, swap); (3) `plan` alone; (4) an `apply` with nothing
changed. Prints seconds (best of N) and each as a ratio of the raw DuckDB run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["phase-plan.json", "contracts", "templates", "ir", "prompts", "datasets"]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    from leakcli import contracts
    from leakcli.apply import ApplyRequest, apply
    from leakcli.engine import connect, load_sources
    from leakcli.plan import PlanRequest, build_plan

    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=str(ROOT.parent / "shared/datasets/maven-fuzzy-factory/raw"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp()) / "proj"
    work.mkdir()
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    c = contracts.load(work)
    plan = build_plan(PlanRequest(work, args.data_dir))
    data = Path(args.data_dir)

    def raw_duckdb() -> None:
        db = work / "raw.duckdb"
        db.unlink(missing_ok=True)
        con = connect(db)
        load_sources(con, c, data, ["website_sessions", "website_pageviews", "orders", "order_item_refunds"])
        for step in plan.models:
            con.execute(f'create table "{step.name}" as {step.sql}')
        con.execute("checkpoint")
        con.close()

    raw = best(raw_duckdb, args.repeat)
    full = best(lambda: apply(ApplyRequest(work, args.data_dir, full_refresh=True)), args.repeat)
    planning = best(lambda: build_plan(PlanRequest(work, args.data_dir)), args.repeat)
    unchanged = best(lambda: apply(ApplyRequest(work, args.data_dir)), args.repeat)
    print(f"data: {data} (best of {args.repeat})")
    print(f"{'run':<34}{'seconds':>9}{'x raw duckdb':>14}")
    for label, secs in (("raw DuckDB, same SQL", raw), ("leakcli apply --full-refresh", full),
                        ("leakcli plan", planning), ("leakcli apply, nothing changed", unchanged)):
        print(f"{label:<34}{secs:>9.2f}{secs / raw:>14.2f}")
    shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
