"""Benchmark leakcli against raw DuckDB and dbt-duckdb running the same SQL, at several scales.

    python benchmarks/run.py --scale 1 10 [--rounds 3] [--work DIR]

Every measurement is a whole process (wall time and peak resident memory from the kernel), and the
rounds are paired and interleaved: round k runs every contender once, so a busy moment of the machine
falls on all of them alike. Printed: the median of each, and the ratios the README quotes.

Contenders, all on the same data and the same nine statements (leakcli's own compiled SQL):
  leakcli first apply    `leakcli apply` into an empty target/ on files it has never seen: every file
                         hashed and checked, the audit, the exports (what a fresh export or a new shop costs)
  leakcli on a new day   `leakcli apply` of a project with a published build on files it has not read
                         (two datasets alternate, seeds 7 and 8): the daily case, every file checked
  leakcli apply --full-refresh   every model rebuilt; the files are known from the cache
  leakcli no-op apply / plan / verify
  leakcli one mart changed       a comment and a clause of mart__priority_actions edited, then apply
  raw DuckDB             the compiled SQL in one process, sources as views over read_csv, DuckDB's defaults
  raw DuckDB, leakcli's settings   the same with preserve_insertion_order off, as leakcli builds
  dbt build / dbt run    dbt-core + dbt-duckdb (the [dbt] extra, or LEAKCLI_BENCH_DBT=path/to/dbt) on
                         leakcli's own `export dbt` of the project: the same models, the acceptance tests
                         as data tests (dbt's parse is done once beforehand, as a dbt user's runs reuse it)
  CSV floor              reading the four CSVs, every column typed
  leakcli on a new day appended   the data split at 2015-03-18 00:00: a build published of the rows
                         before it, then the rest appended to each file (the refunds that arrive later
                         among them), then `leakcli plan` and `leakcli apply` (spec §11: only the new
                         bytes read, only the months they touch rebuilt)
  leakcli one late refund        one refund appended for an order of 2013-06, then apply
Scale 1 uses the shared Maven dataset when it is beside the repository, else a generated one; other
scales are generated once into the work folder (`leakcli generate --scale N`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets" / "maven-fuzzy-factory" / "raw"
PROJECT_FILES = ["phase-plan.json", "contracts", "templates", "ir", "prompts"]
LEAKCLI = [sys.executable, "-m", "leakcli"]
# as an installed program runs: Python keeps the bytecode of leakcli's modules (as it does of duckdb's)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process; a failure stops the benchmark."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV | (env or {}))
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{err}")
    return seconds, usage.ru_maxrss / 1024


def project(work: Path, name: str) -> Path:
    root = work / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for item in PROJECT_FILES:
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / item)
    return root


def dataset(work: Path, scale: float, seed: int = 7) -> Path:
    """The data of a scale: the shared Maven CSVs at scale 1 (when present), else generated once."""
    if scale == 1 and seed == 7 and (SHARED / "website_sessions.csv").exists():
        return SHARED
    out = work / f"data-{scale:g}" if seed == 7 else work / f"data-{scale:g}-seed{seed}"
    if not (out / "website_pageviews.csv").exists():
        print(f"generating scale {scale:g} (seed {seed}) into {out} ...", file=sys.stderr, flush=True)
        subprocess.run([*LEAKCLI, "generate", "--scale", str(scale), "--seed", str(seed), "--out", str(out),
                        "--force"], check=True, stdout=subprocess.DEVNULL, cwd=REPO, env=ENV)
    return out


RAW = r'''
import json, sys, duckdb
from pathlib import Path
proj, data, db = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
man = json.loads((proj / "contracts/source-manifest.json").read_text())
con = duckdb.connect(db)
if sys.argv[4:] == ["leakcli-settings"]:
    con.execute("set preserve_insertion_order = false")
for t in man["tables"]:
    if t["required"]:
        con.execute(f"""create temp view "source__maven__{t['name']}" as select * from read_csv($p, columns=$c,
            header=true, auto_detect=false, timestampformat=$ts, nullstr=$n, strict_mode=true)"""
            .replace("$p", repr(str(data / t["file"]))).replace("$ts", repr(man["dialect"]["timestamp_format"]))
            .replace("$n", repr(t["null_tokens"]))
            .replace("$c", "{" + ", ".join(f"'{c['name']}': '{c['type']}'" for c in t["columns"]) + "}"))
for m in json.loads((proj / "ir/stage-01.json").read_text())["models"]:
    con.execute(f'create table "{m}" as ' + (proj / "target/compiled" / f"{m}.sql").read_text())
con.execute("checkpoint")
'''

FLOOR = r'''
import json, sys, duckdb
from pathlib import Path
proj, data = Path(sys.argv[1]), Path(sys.argv[2])
man = json.loads((proj / "contracts/source-manifest.json").read_text())
con = duckdb.connect()
for t in man["tables"]:
    if t["required"]:
        cols = {c["name"]: c["type"] for c in t["columns"]}
        counts = ", ".join(f'count("{c}")' for c in cols)
        con.execute(f"select {counts} from read_csv($p, columns=$c, header=true, auto_detect=false, "
                    f"timestampformat=$ts, nullstr=$n)", {"p": str(data / t["file"]), "c": cols,
                    "ts": man["dialect"]["timestamp_format"], "n": t["null_tokens"]}).fetchall()
'''


SPLIT = "2015-03-18 00:00:00"
FOUR = ("website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv")


def split(work: Path, data: Path, scale: float) -> tuple[Path, Path]:
    """The data split at SPLIT, once: `base/` the rows before it (every other file as it is), `tail/`
    the bytes each file gains when the rest is appended (the refunds that arrive later among them).
    Read line by line: this process stays small, so the peak memory of the processes it starts (which
    Linux counts from the moment they are forked) is theirs alone."""
    base, tail = work / f"split-{scale:g}" / "base", work / f"split-{scale:g}" / "tail"
    if (tail / FOUR[0]).exists():
        return base, tail
    for folder in (base, tail):
        folder.mkdir(parents=True, exist_ok=True)
    for f in (p for p in data.glob("*.csv") if p.name not in FOUR):
        shutil.copy(f, base / f.name)
    for name in FOUR:
        with (data / name).open("rb") as src, (base / name).open("wb") as before, (tail / name).open("wb") as after:
            before.write(src.readline())
            for row in src:
                if row.strip():
                    row = row if row.endswith(b"\n") else row + b"\n"
                    (before if row.split(b",")[1].decode() < SPLIT else after).write(row)
    return base, tail


def published_on(work: Path, name: str, data: Path, template: Path) -> tuple[Path, Path, Path]:
    """Once: a project with a build published of a copy of `data` (kept at a fixed path, as a shop's
    export folder is). Returns the project, its data folder and the pristine copy of that data."""
    root, folder, pristine = work / f"{name}-proj", work / f"{name}-data", work / f"{name}-pristine"
    if not (root / "target" / "current").exists():
        for path in (root, folder, pristine):
            if path.exists():
                shutil.rmtree(path)
        shutil.copytree(data, pristine)
        shutil.copytree(pristine, folder)
        shutil.copytree(template, root, symlinks=True)
        time.sleep(2.1)  # files older than the build's look at them, as an export folder's are (not "racy")
        subprocess.run([*LEAKCLI, "apply", "--data-dir", str(folder)], cwd=root, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return root, folder, pristine


def again(root: Path, folder: Path, pristine: Path, k: int) -> Path:
    """A fresh copy of the published project, its data folder restored: each file an earlier round
    appended to copied back, the others left alone, as the files of an export folder that did not
    change are (their identity is the one the published build recorded: nothing hashes them)."""
    copy = root.with_name(f"{root.name}-{k}")
    if copy.exists():
        shutil.rmtree(copy)
    for src in pristine.iterdir():
        dst = folder / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    shutil.copytree(root, copy, symlinks=True)
    return copy


def append_day(folder: Path, tail: Path) -> None:
    for name in FOUR:
        with (folder / name).open("ab") as fh:
            fh.write((tail / name).read_bytes())


def append_late_refund(folder: Path) -> None:
    """One refund of an order of 2013-06, arriving now (the files read line by line, as in split)."""
    with (folder / "orders.csv").open() as fh:
        next(fh)
        orders = [r.split(",") for r in fh if r.split(",")[1].startswith("2013-06")]
    with (folder / "order_item_refunds.csv").open() as fh:
        next(fh)
        last = max(int(r.split(",")[0]) for r in fh if r.strip())
    order = orders[len(orders) // 2]
    with (folder / "order_item_refunds.csv").open("a") as fh:
        fh.write(f"{last + 1},2015-03-19 08:00:00,{order[0]},{order[0]},{float(order[6]) / 2:.2f}\n")


def dbt_bin() -> str | None:
    """LEAKCLI_BENCH_DBT, else the dbt beside this Python (its virtual environment), else on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return os.environ.get("LEAKCLI_BENCH_DBT") or (str(beside) if beside.exists() else shutil.which("dbt"))


def dbt_export(work: Path, proj: Path, data: Path, name: str) -> Path | None:
    """leakcli's own `export dbt` of the project (9 models, the acceptance tests as data tests), as a
    dbt user would build it; None without dbt."""
    if not dbt_bin():
        return None
    root = work / name
    if root.exists():
        shutil.rmtree(root)
    subprocess.run([*LEAKCLI, "export", "dbt", str(root), "--data-dir", str(data)], cwd=proj, check=True,
                   stdout=subprocess.DEVNULL, env=ENV)
    return root


def one_mart_changed(proj: Path) -> None:
    path = proj / "templates" / "mart__priority_actions.sql"
    text = path.read_text()
    flip = ("order by session_month desc\n", "order by session_month desc nulls first\n")
    a, b = flip if flip[0] in text else flip[::-1]
    path.write_text(text.replace(a, b, 1))


def run_scale(scale: float, rounds: int, work: Path) -> dict[str, list[tuple[float, float]]]:
    data = dataset(work, scale)
    proj = project(work, f"proj-{scale:g}")
    measure([*LEAKCLI, "apply", "--data-dir", str(data)], proj)  # compiled SQL, cache
    days = (data, dataset(work, scale, seed=8))  # a new day's export: other files, the same project
    day = project(work, f"day-{scale:g}")
    measure([*LEAKCLI, "apply", "--data-dir", str(days[1])], day)
    dbt = dbt_export(work, proj, data, f"dbt-{scale:g}")
    if dbt is not None:  # dbt parses the project once, as a dbt user's later runs reuse
        measure([dbt_bin() or "dbt", "parse", "--profiles-dir", ".", "--quiet"], dbt)
    base, tail = split(work, data, scale)
    template = project(work, f"template-{scale:g}")  # no build: what the published projects start from
    day_root, day_data, day_pristine = published_on(work, f"day-base-{scale:g}", base, template)
    late_root, late_data, late_pristine = published_on(work, f"late-base-{scale:g}", data, template)
    times: dict[str, list[tuple[float, float]]] = {}

    def add(label: str, cmd: list[str], cwd: Path) -> None:
        times.setdefault(label, []).append(measure(cmd, cwd))

    for k in range(rounds):
        print(f"scale {scale:g}: round {k + 1}/{rounds}", file=sys.stderr, flush=True)
        first = project(work, f"first-{scale:g}")
        add(FIRST, [*LEAKCLI, "apply", "--data-dir", str(data)], first)
        add(NEW_DAY, [*LEAKCLI, "apply", "--data-dir", str(days[k % 2])], day)  # files the last apply never read
        add(FULL, [*LEAKCLI, "apply", "--full-refresh", "--data-dir", str(data)], proj)
        add(RAW_LABEL, [sys.executable, "-c", RAW, str(proj), str(data), str(work / f"raw-{scale:g}.duckdb")], proj)
        (work / f"raw-{scale:g}.duckdb").unlink()
        add(RAW_SETTINGS,
            [sys.executable, "-c", RAW, str(proj), str(data), str(work / f"raw-{scale:g}.duckdb"), "leakcli-settings"],
            proj)
        (work / f"raw-{scale:g}.duckdb").unlink()
        if dbt is not None:
            for command, label in (("build", DBT_BUILD), ("run", DBT_RUN)):
                (dbt / "leakcli_dbt.duckdb").unlink(missing_ok=True)
                add(label, [dbt_bin() or "dbt", command, "--profiles-dir", ".", "--quiet"], dbt)
        add("leakcli apply, nothing changed", [*LEAKCLI, "apply", "--data-dir", str(data)], proj)
        add("leakcli plan, nothing changed", [*LEAKCLI, "plan", "--data-dir", str(data)], proj)
        add("leakcli verify", [*LEAKCLI, "verify"], proj)
        one_mart_changed(proj)
        add("leakcli apply, one mart changed", [*LEAKCLI, "apply", "--data-dir", str(data)], proj)
        add(FLOOR_LABEL, [sys.executable, "-c", FLOOR, str(proj), str(data)], proj)
        root = again(day_root, day_data, day_pristine, k)
        append_day(day_data, tail)
        add(DAY_PLAN, [*LEAKCLI, "plan"], root)
        add(DAY_APPLY, [*LEAKCLI, "apply"], root)
        root = again(late_root, late_data, late_pristine, k)
        append_late_refund(late_data)
        add(LATE, [*LEAKCLI, "apply"], root)
    return times


FIRST = "leakcli first apply on new files (empty target/: every check, audit, exports)"
NEW_DAY = "leakcli apply on new files, a build published (a new day's export)"
FULL = "leakcli apply --full-refresh"
RAW_LABEL = "raw DuckDB, same SQL, one process"
RAW_SETTINGS = "raw DuckDB, same SQL, leakcli's settings"
DBT_BUILD = "dbt build of `leakcli export dbt` (9 models, 14 data tests)"
DBT_RUN = "dbt run of the same export (no tests)"
FLOOR_LABEL = "reading the four CSVs, every column typed"
DAY_PLAN = "leakcli plan after a new day appended"
DAY_APPLY = "leakcli apply after a new day appended"
LATE = "leakcli apply after one late refund (an order of 2013-06)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "leakcli-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {scale: run_scale(scale, args.rounds, args.work) for scale in args.scale}
    import duckdb

    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"DuckDB {duckdb.__version__}, {args.rounds} paired rounds, medians (peak RSS)\n")
    labels = list(next(iter(results.values())))
    print("| | " + " | ".join(f"scale {s:g}" for s in results) + " |")
    print("|---|" + "---|" * len(results))
    med = {s: {k: (statistics.median(t for t, _ in v), statistics.median(m for _, m in v)) for k, v in r.items()}
           for s, r in results.items()}
    for label in labels:
        print(f"| {label} | " + " | ".join(f"{med[s][label][0]:.2f} s, {med[s][label][1]:,.0f} MiB"
                                           if label in med[s] else "-" for s in results) + " |")
    print()
    for s, m in med.items():
        first, full, raw = m[FIRST][0], m[FULL][0], m[RAW_LABEL][0]
        line = (f"scale {s:g}: first apply = {first / raw:.2f}x raw DuckDB "
                f"({first / m[RAW_SETTINGS][0]:.2f}x with leakcli's settings); "
                f"a new day's export = {m[NEW_DAY][0] / raw:.2f}x raw; apply --full-refresh = {full / raw:.2f}x raw")
        if DBT_BUILD in m:
            line += (f"; dbt build = {m[DBT_BUILD][0] / first:.2f}x first apply, "
                     f"dbt run = {m[DBT_RUN][0] / first:.2f}x")
        line += (f"; CSV floor = {m[FLOOR_LABEL][0] / first:.0%} of first apply; "
                 f"one mart changed = {m['leakcli apply, one mart changed'][0] / full:.0%} of apply --full-refresh"
                 f"; a new day appended: apply = {m[DAY_APPLY][0] / first:.0%} of first apply, plan "
                 f"{m[DAY_PLAN][0]:.2f} s, peak memory {m[DAY_APPLY][1]:,.0f} MiB (first apply {m[FIRST][1]:,.0f} "
                 f"MiB); one late refund = {m[LATE][0] / first:.0%} of first apply")
        print(line)


if __name__ == "__main__":
    main()
