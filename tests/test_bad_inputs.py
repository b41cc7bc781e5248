"""Bad and hostile inputs: files that are not files, a damaged database, --force aimed at a build,
a dbt export folder that lies, data far outside its profile, UTF-16, escape sequences, a saved plan
edited by hand, links, a bad memory limit, thresholds by their meaning, selectors and option bounds.
Each answer is the documented exit code and one line on stderr naming the culprit; nothing of the
user's or of the published build changes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading

import pytest
from conftest import REPO, Outcome
from test_failures import _fingerprint

from leakcli.errors import ExitCode

RAW = "datasets/maven-fuzzy-factory/raw"
ORDERS = f"{RAW}/orders.csv"
SESSIONS = f"{RAW}/website_sessions.csv"
CAT = "contracts/metric-catalog.json"
MANIFEST = "contracts/source-manifest.json"
DAMAGED = ("leakcli: error: target/leakcli.duckdb: cannot be read: the database is damaged or not a DuckDB file; "
           "rebuild it with `leakcli apply --full-refresh`")


def _line(out: Outcome, code: int, *words: str) -> str:
    """The single line a failed command leaves on stderr: the exit code, no traceback, and `words` in it."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    (line,) = lines
    assert line.startswith("leakcli: error: ") and len(line) <= 300, line
    for word in words:
        assert word in line, line
    return line


def _questions(out: Outcome, code: str) -> list[dict]:
    return [a for a in out.json()["ambiguities"] if a["code"] == code]


def _not_info(out: Outcome) -> list[tuple[str, str]]:
    return [(a["code"], a["severity"]) for a in out.json()["ambiguities"] if a["severity"] != "info"]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder) -> dict[str, str]:
    """Every file under `folder` (links not followed) and its digest."""
    return {str(p.relative_to(folder)): ("link:" + os.readlink(p) if p.is_symlink() else _sha(p))
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


@contextlib.contextmanager
def _never_hangs(fifo):
    """A safety net, not a timing assertion: should leakcli ever block opening `fifo` for reading, a
    writer opens and closes it every 30 s, so the reader gets an empty file and the test fails instead
    of hanging."""
    stop = threading.Event()

    def release():
        while not stop.wait(30):
            with contextlib.suppress(OSError):  # ENXIO: nobody is reading, nothing to release
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def _replace_line(path, number: int, old: str, new: str) -> None:
    """Replace `old` by `new` in line `number` (1-based, the header is line 1) of a CSV."""
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[number - 1], (lines[number - 1], old)
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_text("".join(lines))


# -- 1. a FIFO is never read ------------------------------------------------------------------------
def test_a_fifo_in_the_data_dir_is_a_question_and_nothing_hangs(project, leak):
    (project.raw / "orders.csv").unlink()
    os.mkfifo(project.raw / "orders.csv")
    with _never_hangs(project.raw / "orders.csv"):
        out, applied = leak("plan", "--json"), leak("apply")
    assert out.exit_code == ExitCode.USAGE, out.stderr
    (q,) = _questions(out, "missing_file")
    assert q["severity"] == "blocking" and q["location"] == ORDERS
    assert q["question"] == "'orders.csv' of table 'orders' is not a regular file (a folder, pipe or device): " \
                            "where is the CSV?"
    _line(applied, ExitCode.USAGE, f"{ORDERS}: 1 blocking question(s) open; apply changed nothing",
          "is not a regular file")
    assert not (project.root / "target/leakcli.duckdb").exists()


def test_a_fifo_for_a_contract_is_one_line_naming_it(project, leak):
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    (project.root / "contracts/decisions.json").unlink()
    os.mkfifo(project.root / "contracts/decisions.json")
    for command in (["plan"], ["apply"], ["verify"]):
        with _never_hangs(project.root / "contracts/decisions.json"):
            out = leak(*command)
        assert _line(out, ExitCode.USAGE) == (
            "leakcli: error: contracts/decisions.json: cannot read file: is not a regular file (a pipe, socket or "
            "device); fix it and run `leakcli plan`"), command
    assert _fingerprint(project) == before


# -- 2. a damaged published database ----------------------------------------------------------------
def _truncate(db):
    assert db.stat().st_size > 1 << 20
    os.truncate(db, 1 << 20)


def _zero_header(db):
    with db.open("r+b") as fh:
        fh.write(b"\0" * 8192)


@pytest.mark.parametrize("damage", [_truncate, _zero_header, lambda db: os.truncate(db, 0)],
                         ids=["truncated-1MiB", "header-zeroed", "emptied"])
def test_a_damaged_database_is_named_by_every_reader_and_apply_rebuilds_it(project, leak, damage):
    assert leak("apply").exit_code == 0
    damage(project.root / "target/current/leakcli.duckdb")
    for command in (["verify"], ["show", "mart__priority_actions"], ["report"]):
        out = leak(*command)
        assert _line(out, ExitCode.EXECUTION) == DAMAGED, command
        assert out.stdout == ""
    assert not (project.root / "target/report.html").exists()  # no report of a build that cannot be read
    out = leak("verify", "--json")
    assert _line(out, ExitCode.EXECUTION) == DAMAGED
    assert out.json()["error"]["exit_code"] == 3 and out.json()["error"]["file"] == "target/leakcli.duckdb"

    out = leak("plan", "--json")
    assert out.exit_code == 0, out.stderr
    assert _not_info(out) == [("damaged_build", "warning")]
    (q,) = _questions(out, "damaged_build")
    assert q["location"] == "target/leakcli.duckdb" and "apply rebuilds every model from scratch" in q["question"]
    actions = {m["name"]: m["action"] for m in out.json()["models"]}
    assert len(actions) == 9 and set(actions.values()) <= {"create", "rebuild"}

    out = leak("apply")
    assert out.exit_code == 0, out.stderr
    assert "leakcli: warning: target/leakcli.duckdb: The published build cannot be read" in out.stderr
    total = len(project.read_json("contracts/acceptance-tests.json")["tests"])
    assert leak("verify", "--json").json()["summary"] == {"total": total, "passed": total, "failed": 0,
                                                          "warned": 0, "errored": 0}


def test_a_database_whose_free_blocks_were_cut_from_its_end_is_not_damaged(project, leak):
    """Rebuilding a mart in a copy of the published database frees blocks; DuckDB may shorten the file
    by the free ones at its end. Such a file is whole: only blocks in use must be there."""
    import duckdb

    assert leak("apply").exit_code == 0
    db = project.root / "target/current/leakcli.duckdb"
    catalog = project.read_json("contracts/metric-catalog.json")
    shortened = False
    for sessions in (200, 100, 200, 100):
        catalog["thresholds"]["min_sessions"] = sessions
        project.write_json("contracts/metric-catalog.json", catalog)
        out = leak("apply")
        assert out.exit_code == 0, out.stderr
        for command in (["verify"], ["show", "mart__priority_actions"], ["plan"]):
            assert leak(*command).exit_code == 0, (sessions, command)
        con = duckdb.connect(str(db), read_only=True)
        ((total, size),) = con.execute("select total_blocks, block_size from pragma_database_size()").fetchall()
        con.close()
        shortened |= db.stat().st_size < total * size
    assert shortened  # the case this test is for did happen


# -- 3. --force never writes over a database or a build ---------------------------------------------
REFUSED_OUTPUTS = [
    (["report", "--out", "target/current/leakcli.duckdb"], "is a database; leakcli never writes over one, --force"),
    (["report", "--out", "target/leakcli.duckdb"], "target/leakcli.duckdb: is a symbolic link"),
    (["verify", "--junit-xml", "target/current/leakcli.duckdb"], "is a database; leakcli never writes over one"),
    (["plan", "--out", "target/current/leakcli.duckdb"], "is a database; leakcli never writes over one"),
    (["report", "--out", "{tmp}/copy.duckdb"], "copy.duckdb: is a database"),
    (["report", "--out", "target/current/run_results.json"], "belongs to one of leakcli's builds; no command writes"),
    (["verify", "--junit-xml", "target/current/exports/mart__priority_actions.csv"],
     "belongs to one of leakcli's builds"),
    (["plan", "--out", "target/compiled/stg__orders.sql"], "belongs to one of leakcli's builds"),
]


def test_force_never_writes_over_a_database_or_a_build(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    shutil.copyfile(project.root / "target/current/leakcli.duckdb", tmp_path / "copy.duckdb")
    before = _fingerprint(project)
    for args, words in REFUSED_OUTPUTS:
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        named = project.root / args[2]
        named_before = _sha(named)
        _line(leak(*args, "--force"), ExitCode.USAGE, words)
        assert _sha(named) == named_before, args
    assert _fingerprint(project) == before
    assert not (project.root / "target/report.html").exists()


def test_force_never_writes_into_a_build_folder(project, leak):
    assert leak("apply").exit_code == 0
    build = str((project.root / "target" / os.readlink(project.root / "target/current")).relative_to(project.root))
    before = _tree(project.root / "target")
    for args in (["generate", "--scale", "0.01", "--out", build], ["profile", "--out", f"{build}/exports"],
                 ["export", "dbt", build], ["generate", "--scale", "0.01", "--out", "target/previous"]):
        _line(leak(*args, "--force"), ExitCode.USAGE, "belongs to one of leakcli's builds")
    assert _tree(project.root / "target") == before


# -- 4. export dbt stays inside OUT_DIR -------------------------------------------------------------
def test_export_into_a_foreign_folder_needs_force_and_keeps_its_files(project, leak, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    assert _line(leak("export", "dbt", str(mine)), ExitCode.USAGE) == (
        f"leakcli: error: {mine}: holds files leakcli did not write; pass --force to overwrite it, or choose an "
        "empty folder; see `leakcli --help`")
    assert [p.name for p in mine.iterdir()] == ["keep.txt"]
    assert leak("export", "dbt", str(mine), "--force").exit_code == 0
    assert (mine / "keep.txt").read_text() == "mine" and (mine / "dbt_project.yml").is_file()


def test_a_garbage_export_marker_is_refused_in_one_line(project, leak, tmp_path):
    out_dir = tmp_path / "dbt"
    assert leak("export", "dbt", str(out_dir)).exit_code == 0
    (out_dir / ".leakcli").write_bytes(b"\x00\xff\xfe not json \x1b[31m")
    before = _tree(out_dir)
    assert _line(leak("export", "dbt", str(out_dir)), ExitCode.USAGE) == (
        f"leakcli: error: {out_dir}: is a folder leakcli made for something else (builds or data), not a dbt "
        "export; choose another folder; see `leakcli --help`")
    assert _tree(out_dir) == before


def test_an_export_marker_naming_files_outside_removes_none_of_them(project, leak, tmp_path):
    """A forged marker's paths outside OUT_DIR are ignored (nothing outside is removed or written)."""
    out_dir = tmp_path / "dbt"
    assert leak("export", "dbt", str(out_dir)).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    marker = json.loads((out_dir / ".leakcli").read_text())
    marker["files"] += ["../victim.txt", str(victim), "models/../../victim.txt"]
    (out_dir / ".leakcli").write_text(json.dumps(marker))
    out = leak("export", "dbt", str(out_dir))
    assert out.exit_code == 0, out.stderr
    assert victim.read_text() == "precious"
    assert not [f for f in json.loads((out_dir / ".leakcli").read_text())["files"] if "victim" in f]


@pytest.mark.parametrize("link", ["README.md", "models/staging"])
def test_a_link_inside_the_export_leading_out_is_never_written_through(project, leak, tmp_path, link):
    out_dir = tmp_path / "dbt"
    assert leak("export", "dbt", str(out_dir)).exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious")
    shutil.rmtree(out_dir / link) if (out_dir / link).is_dir() else (out_dir / link).unlink()
    (out_dir / link).symlink_to(victim if link == "README.md" else outside)
    for force in ([], ["--force"]):
        _line(leak("export", "dbt", str(out_dir), *force), ExitCode.USAGE, f"{out_dir}: {link}",
              "would lead out of the folder (through a link)")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"] and victim.read_text() == "precious"


# -- 5. data checks of new files --------------------------------------------------------------------
@pytest.mark.parametrize("stamp", ["1969-12-31 23:59:59", "9999-01-01 00:00:00"])
def test_a_timestamp_far_outside_the_profile_blocks(project, leak, stamp):
    assert leak("profile").exit_code == 0
    _replace_line(project.raw / "website_sessions.csv", 2, "2014-01-03 10:00:00", stamp)
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    (q,) = _questions(out, "out_of_range")
    assert q["severity"] == "blocking" and q["location"] == SESSIONS
    assert "Column website_sessions.created_at holds 1 value(s) far outside the range its profile saw" in q["question"]
    assert f"{MANIFEST}#/checks/range_slack_days" in q["question"] and f"'{stamp}' (1)" in q["question"]
    _line(leak("apply"), ExitCode.USAGE, f"{SESSIONS}: 1 blocking question(s) open; apply changed nothing")
    assert not (project.root / "target/leakcli.duckdb").exists()


def test_a_negative_price_is_below_its_minimum(project, leak):
    refunded = {line.split(",")[3] for line in (project.raw / "order_item_refunds.csv").read_text().splitlines()[1:]}
    assert "1" not in refunded  # order 1 (line 2) has no refund: no relation question on top
    _replace_line(project.raw / "orders.csv", 2, ",49.99,", ",-49.99,")
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    assert _not_info(out) == [("below_minimum", "blocking")]
    (q,) = _questions(out, "below_minimum")
    assert q["location"] == ORDERS
    assert q["question"] == ("Column orders.price_usd holds 1 value(s) below its minimum 0 "
                             f"({MANIFEST}#/tables/2/columns/6/minimum): '-49.99' (1). Fix the data, or is the "
                             "minimum wrong?")
    _line(leak("apply"), ExitCode.USAGE, f"{ORDERS}: 1 blocking question(s) open")


def test_an_order_before_its_session_is_a_warning_with_file_and_line(project, leak):
    _replace_line(project.raw / "orders.csv", 3, "2014-01-03 11:06:00", "2014-01-03 10:59:00")  # session 2: 11:00
    out = leak("plan", "--json")
    assert out.exit_code == 0, out.stderr
    assert _not_info(out) == [("relation", "warning")]
    (q,) = _questions(out, "relation")
    assert q["location"] == f"{ORDERS}:3"
    assert q["question"] == ("1 orders row(s) have a created_at before the created_at of their website_sessions "
                             "(2014-01-03 10:59:00 < 2014-01-03 11:00:00, first at line 3; "
                             f"{MANIFEST}#/relations/1): which time is right?")
    out = leak("apply")
    assert out.exit_code == 0, out.stderr
    assert f"leakcli: warning: {ORDERS}:3: 1 orders row(s) have a created_at before" in out.stderr


# -- 6. UTF-16 --------------------------------------------------------------------------------------
def test_a_utf16_csv_is_named_as_not_utf8(project, leak):
    path = project.raw / "orders.csv"
    path.write_text(path.read_text(), encoding="utf-16")
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    (q,) = [a for a in out.json()["ambiguities"] if a["severity"] == "blocking"]
    assert q["location"] == ORDERS
    assert q["question"] == ("'orders.csv' is not UTF-8 text: it looks like UTF-16 (it holds NUL bytes): "
                             "save it as UTF-8?")
    _line(leak("apply"), ExitCode.USAGE, f"{ORDERS}: 1 blocking question(s) open", "looks like UTF-16")


def test_a_utf16_contract_is_one_line_naming_it(project, leak):
    path = project.root / "contracts/decisions.json"
    path.write_text(path.read_text(), encoding="utf-16")
    assert _line(leak("plan"), ExitCode.USAGE) == ("leakcli: error: contracts/decisions.json: not UTF-8 at byte 0; "
                                                   "fix it and run `leakcli plan`")


# -- 7. control characters never reach the terminal raw ---------------------------------------------
def test_an_escape_sequence_in_a_value_is_shown_escaped(project, leak):
    path = project.raw / "website_sessions.csv"
    path.write_text(path.read_text().replace("gsearch,nonbrand", "gs\x1b[31mearch,nonbrand", 2))
    outs = {"plan": leak("plan"), "apply": leak("apply")}
    assert outs["plan"].exit_code == 0 and outs["apply"].exit_code == 0, outs["apply"].stderr
    assert "'gs\\x1b[31mearch' (2)" in outs["plan"].stdout  # the unaccepted value, escaped
    assert "'gs\\x1b[31mearch' (2)" in outs["apply"].stderr
    outs["show"] = leak("show", "stg__website_sessions", "--limit", "2")
    outs["show-cols"] = leak("show", "stg__website_sessions", "--limit", "2", "-c", "website_session_id,utm_source")
    outs["json"] = leak("show", "stg__website_sessions", "--limit", "2", "--json")
    outs["verify"] = leak("verify")
    assert "gs\\x1b[31mearch" in outs["show"].stdout + outs["show-cols"].stdout
    assert outs["json"].json()["rows"][0]["utm_source"] == "gs\x1b[31mearch"  # JSON carries the value itself
    for name, out in outs.items():
        assert "\x1b" not in out.stdout and "\x1b" not in out.stderr, name


@pytest.mark.parametrize("case", ["warning", "published", "blocking"])
def test_an_escape_sequence_in_a_folder_name_is_shown_escaped(project, leak, tmp_path, case):
    data = tmp_path / "data\x1b[31mdir"
    shutil.copytree(project.raw, data)
    if case == "warning":  # apply's warning notice names the file
        path = data / "website_sessions.csv"
        path.write_text(path.read_text().replace("gsearch,nonbrand", "tiktok,nonbrand", 1))
        out = leak("apply", "--data-dir", str(data))
    elif case == "published":  # the notice of the data the published build was made from
        assert leak("apply", "--data-dir", str(data)).exit_code == 0
        out = leak("apply")
    else:  # two blocking questions: the second is its own line
        (data / "orders.csv").unlink()
        (data / "website_pageviews.csv").unlink()
        out = leak("apply", "--data-dir", str(data))
        assert out.exit_code == ExitCode.USAGE
    assert "data\\x1b[31mdir" in out.stderr
    assert "\x1b" not in out.stderr and "\x1b" not in out.stdout


# -- 8. a saved plan edited by hand -----------------------------------------------------------------
def test_a_saved_plan_whose_sql_was_edited_is_refused(project, leak):
    assert leak("plan", "--out", "target/plan.json").exit_code == 0

    def edit(doc):
        step = next(m for m in doc["models"] if m["name"] == "stg__orders")
        assert "    price_usd,\n" in step["sql"]
        step["sql"] = step["sql"].replace("    price_usd,\n", "    price_usd * 2 as price_usd,\n")

    project.edit_json("target/plan.json", edit)
    assert _line(leak("apply", "target/plan.json"), ExitCode.USAGE) == (
        "leakcli: error: target/plan.json: saved plan is stale: the SQL of stg__orders in it is not what the "
        "project renders (was it edited?); run `leakcli plan --out FILE` again")
    assert not (project.root / "target/leakcli.duckdb").exists()


# -- 9. CSVs that are links -------------------------------------------------------------------------
def test_csvs_that_are_links_to_files_elsewhere_are_read(project, leak, tmp_path):
    real, links = tmp_path / "real", tmp_path / "links"
    shutil.copytree(project.raw, real)
    links.mkdir()
    for csv in real.glob("*.csv"):
        (links / csv.name).symlink_to(csv)
    out = leak("apply", "--data-dir", str(links), "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["dataset"]["path"] == str(links.resolve())
    summary = leak("verify", "--json").json()["summary"]
    assert summary["passed"] == summary["total"] == 15
    _replace_line(real / "orders.csv", 4, ",49.99,", ",48.99,")  # an edit of the file the link leads to is seen
    actions = {m["name"]: m["action"] for m in leak("plan", "--json").json()["models"]}
    assert actions["stg__orders"] == "update" and actions["stg__website_sessions"] == "unchanged"


def test_a_project_csv_linked_to_a_file_outside_the_project_is_read(project, leak, tmp_path):
    outside = tmp_path / "orders.csv"
    (project.raw / "orders.csv").rename(outside)
    (project.raw / "orders.csv").symlink_to(outside)
    assert leak("apply").exit_code == 0
    assert project.query("select count(*) from stg__orders") == [(121,)]
    assert leak("verify").exit_code == 0


# -- 10. LEAKCLI_MEMORY_LIMIT -----------------------------------------------------------------------
def _not_a_size(value: str) -> str:
    return (f"leakcli: error: LEAKCLI_MEMORY_LIMIT: '{value}' is not a memory size; give a size such as 4GB or "
            "512MiB, or unset it")


@pytest.mark.parametrize("value", ["0", "-1GB", "1e999GB", "4 G B"])
def test_a_memory_limit_that_is_not_a_size_is_refused(project, leak, value):
    for command in (["plan"], ["apply"]):
        assert _line(leak(*command, env={"LEAKCLI_MEMORY_LIMIT": value}), ExitCode.USAGE) == _not_a_size(value)
    assert not (project.root / "target/leakcli.duckdb").exists()


def test_a_nonsense_memory_limit_is_one_line_naming_the_variable(project, leak):
    env = {"LEAKCLI_MEMORY_LIMIT": "nonsense"}
    for command in (["plan"], ["apply"]):
        assert _line(leak(*command, env=env), ExitCode.USAGE) == _not_a_size("nonsense"), command
    out = leak("plan", "--json", env=env)
    assert out.json()["error"]["file"] == "LEAKCLI_MEMORY_LIMIT" and out.json()["error"]["exit_code"] == 2
    assert not (project.root / "target/leakcli.duckdb").exists()
    assert leak("apply").exit_code == 0
    assert _line(leak("verify", env=env), ExitCode.USAGE) == _not_a_size("nonsense")


@pytest.mark.parametrize("size", ["1KB", "0%", "0.0000001%", "10mb"])
def test_a_memory_limit_too_small_is_named_by_verify(project, leak, size):
    assert leak("apply").exit_code == 0
    assert _line(leak("verify", env={"LEAKCLI_MEMORY_LIMIT": size}), ExitCode.USAGE) == (
        f"leakcli: error: LEAKCLI_MEMORY_LIMIT: {size} is too small to work in; give at least 32MB, e.g. 4GB, or "
        f"unset it")


def test_a_memory_limit_is_read_as_duckdb_reads_it_lower_case_included(project, leak):
    assert leak("apply", "--full-refresh", env={"LEAKCLI_MEMORY_LIMIT": "512mb"}).exit_code == 0


@pytest.mark.parametrize("built", [False, True], ids=["fresh", "built"])
def test_a_memory_limit_too_small_to_work_in_is_named_by_apply(project, leak, built):
    if built:
        assert leak("apply").exit_code == 0
    out = leak("apply", "--full-refresh", env={"LEAKCLI_MEMORY_LIMIT": "1KB"})
    line = _line(out, ExitCode.USAGE, "LEAKCLI_MEMORY_LIMIT")
    assert "too small to work in" in line and "damaged" not in line and "blocking" not in line


# -- 11. thresholds by their meaning ----------------------------------------------------------------
def test_a_threshold_no_segment_can_reach_is_a_blocking_question(project, leak):
    largest = max(len((project.raw / f).read_text().splitlines()) - 1 for f in
                  ("website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv"))
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_sessions=largest + 1))
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    (q,) = _questions(out, "threshold_meaning")
    assert q["severity"] == "blocking" and q["location"] == f"{CAT}#/thresholds/min_sessions"
    assert q["question"].startswith(f"min_sessions is {largest + 1:,}, more than the {largest:,} rows of the "
                                    "largest source file: no segment can reach it")
    _line(leak("apply"), ExitCode.USAGE, f"{CAT}#/thresholds/min_sessions: 1 blocking question(s) open")
    assert _fingerprint(project) == before


def test_apply_of_a_new_project_refuses_a_threshold_no_segment_can_reach(project, leak):
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_sessions=100_000))
    assert leak("plan").exit_code == ExitCode.USAGE
    _line(leak("apply"), ExitCode.USAGE, f"{CAT}#/thresholds/min_sessions: 1 blocking question(s) open")
    assert not (project.root / "target/leakcli.duckdb").exists()


@pytest.mark.parametrize("value, words", [
    ("1e999", "1e999 is not a finite number (too large for a double)"),
    ('"5"', "schema violation: must be a whole number (found '5')"),
    ("1e308", "schema violation: must be a whole number (found 1e+308)"),
    ("0", "schema violation: must be at least 1 (found 0)"),
])
def test_a_threshold_that_is_not_a_count_is_refused_at_its_pointer(project, leak, value, words):
    project.edit_text(CAT, '"min_sessions": 5,', f'"min_sessions": {value},')
    assert _line(leak("plan"), ExitCode.USAGE) == (
        f"leakcli: error: {CAT}#/thresholds/min_sessions: {words}; fix it and run `leakcli plan`")
    _line(leak("apply"), ExitCode.USAGE, f"{CAT}#/thresholds/min_sessions")


@pytest.mark.parametrize("value, words", [
    ("13", "schema violation: must be at most priority_lookback_months (6) (found 13)"),
    ("0", "schema violation: must be at least 1 (found 0)"),
    ("2.5", "schema violation: must be a whole number (found 2.5)"),
])
def test_recent_months_outside_the_window_are_refused_at_their_pointer(project, leak, value, words):
    """Rev 4: the recent months are the last recent_months months of the window, 1 to priority_lookback_months."""
    project.edit_text(CAT, '"recent_months": 3', f'"recent_months": {value}')
    assert _line(leak("plan"), ExitCode.USAGE) == (
        f"leakcli: error: {CAT}#/thresholds/recent_months: {words}; fix it and run `leakcli plan`")


# -- 12. selector grammar ---------------------------------------------------------------------------
DBT_ONLY = ("the selector method '{m}' is dbt's, and leakcli does not support it; select by model name, shell "
            "wildcard (stg__*) and graph operators (+m, m+, @m)")


@pytest.mark.parametrize("option, value, message", [
    ("--select", "+", "--select: '+' matches no model; name a model of the registry (leakcli plan lists them), "
                      "or a wildcard"),
    ("--select", "tag:x", "--select: 'tag:x': " + DBT_ONLY.format(m="tag:")),
    ("--select", "config.materialized:table",
     "--select: 'config.materialized:table': " + DBT_ONLY.format(m="config.materialized:")),
    ("--select", "stg__orders,", "--select: 'stg__orders,' has an empty atom: a comma joins two selections; write "
                                 "them as 'a,b' with a model (or wildcard) on each side"),
    ("--exclude", "tag:x", "--exclude: 'tag:x': " + DBT_ONLY.format(m="tag:")),
])
def test_a_selector_leakcli_cannot_read_is_one_usage_line(project, leak, option, value, message):
    for command in ("plan", "apply"):
        out = leak(command, option, value)
        assert _line(out, ExitCode.USAGE) == f"leakcli: error: {message}", command
        assert out.stdout == ""
    assert not (project.root / "target/leakcli.duckdb").exists()


# -- 13. option bounds ------------------------------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["show", "mart__priority_actions", "--limit", "1000001"],
     "leakcli show: Invalid value for '--limit': Input should be less than or equal to 1000000"),
    (["show", "mart__priority_actions", "--limit", "-1"],
     "leakcli show: Invalid value for '--limit': Input should be greater than or equal to 0"),
    (["generate", "--scale", "nan"], "Invalid value for '--scale': must be a finite number greater than 0, not nan"),
    (["generate", "--scale", "inf"], "Invalid value for '--scale': must be a finite number greater than 0, not inf"),
    (["generate", "--scale", "1e999"], "must be a finite number greater than 0, not inf"),
    (["generate", "--scale", "-1"], "must be a finite number greater than 0, not -1"),
    (["generate", "--seed", "-1"], "leakcli generate: Invalid value for '--seed': Input should be greater than or "
                                   "equal to 0"),
    (["generate", "--seed", str(2**63)], "Input should be less than or equal to 9223372036854775807"),
    (["diff", "--samples", "1001"], "leakcli diff: Invalid value for '--samples'"),
])
def test_an_option_out_of_bounds_is_one_usage_line(project, leak, tmp_path, args, words):
    if args[0] == "generate":
        args = [*args, "--out", str(tmp_path / "gen")]
    out = leak(*args)
    line = _line(out, ExitCode.USAGE, words)
    assert line.endswith(f"; see `leakcli {args[0]} --help`") and out.stdout == ""
    assert not (tmp_path / "gen").exists()


def test_show_limit_zero_counts_the_rows_and_shows_none(project, leak):
    assert leak("apply").exit_code == 0
    n = project.query("select count(*) from mart__priority_actions")[0][0]
    out = leak("show", "mart__priority_actions", "--limit", "0")
    assert out.exit_code == 0 and out.stdout.splitlines() == [f"mart__priority_actions: 0 of {n} row(s)"]
    doc = leak("show", "mart__priority_actions", "--limit", "0", "--json").json()
    assert doc["rows"] == [] and doc["total"] == n


# -- 14. verify without the data it was built from --------------------------------------------------
def test_verify_names_a_data_file_that_is_gone(project, leak):
    assert leak("apply").exit_code == 0
    (project.raw / "orders.csv").unlink()
    line = ("leakcli: error: datasets/maven-fuzzy-factory/raw/orders.csv: the data the published build was made "
            "from is gone (1 of 4 required files); name it with --data-dir (or rebuild with leakcli apply)")
    out = leak("verify")
    assert _line(out, ExitCode.USAGE) == line and out.stdout == ""
    out = leak("verify", "--json")
    assert _line(out, ExitCode.USAGE) == line
    assert out.json()["error"]["file"] == ORDERS and out.json()["error"]["exit_code"] == 2


# -- 15. an interrupted first apply -----------------------------------------------------------------
def test_an_interrupted_first_apply_says_nothing_was_published(project, leak):
    from leakcli.progress import inject

    with inject("model mart__core_leak_summary", KeyboardInterrupt):
        out = leak("apply")
    assert out.exit_code == ExitCode.INTERRUPTED
    assert out.stderr == ("leakcli: error: target/leakcli.duckdb: apply interrupted; nothing was published; "
                          "run `leakcli apply` again\n")
    assert not (project.root / "target/current").exists() and list((project.root / "target/builds").iterdir()) == []
    assert _line(leak("verify"), ExitCode.USAGE, "nothing is built yet")


# -- the package itself -----------------------------------------------------------------------------
def test_no_file_of_the_package_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git work tree")
    folders = sorted({p.parent.relative_to(REPO) for p in (REPO / "leakcli").rglob("*.py")})
    probes = [f"{folder}/probe_module.py" for folder in folders]
    done = subprocess.run(["git", "check-ignore", "--no-index", *probes], cwd=REPO, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 0: some are ignored, 1: none is
    assert done.stdout.split() == []


@pytest.mark.parametrize("env", [None, "40MB"])
def test_running_out_of_memory_names_the_limit_to_raise(monkeypatch, env):
    from leakcli.engine.connection import OutOfMemory, connect, execute, one_row

    if env:
        monkeypatch.setenv("LEAKCLI_MEMORY_LIMIT", env)
    con = connect(memory_limit="32MB")
    execute(con, "set temp_directory = ''")  # nowhere to spill
    with pytest.raises(OutOfMemory) as caught:
        one_row(con, "select len(list(x)) from range(50000000) t(x)")
    con.close()
    where = "LEAKCLI_MEMORY_LIMIT" if env else "phase-plan.json#/engine/memory_limit"
    assert caught.value.one_line().startswith(f"{where}: DuckDB ran out of memory within its limit (failed to")
    assert caught.value.exit_code == ExitCode.EXECUTION


def test_a_memory_limit_too_small_in_the_phase_plan_is_refused_at_its_pointer(project, leak):
    project.edit_json("phase-plan.json", lambda d: d.setdefault("engine", {}).update(memory_limit="1KB"))
    line = _line(leak("plan"), ExitCode.USAGE, "phase-plan.json#/engine/memory_limit", "too small to work in")
    assert "32MB" in line
