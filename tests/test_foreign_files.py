"""Issue 31: what someone else put where leakcli keeps its own names. The readers (plan, verify, show,
report, diff, export dbt, profile) read the published build through target/current, never through
the stable link target/leakcli.duckdb: a foreign file there is named in one warning line, exit codes
unchanged; a foreign `current` is refused in one line; apply refuses, before it reads or builds
anything, a file or folder where one of its links belongs, and never writes over it. The lock path
is named when it is not a lock file, and a model named too long for a file is asked about by plan."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from leakcli.errors import ExitCode

DB = "target/leakcli.duckdb"
REGISTRY = "contracts/model-registry.json"


def _only_line(out, code, prefix, *words):
    """The command exited `code`; stderr holds exactly one line starting with `prefix`, and no traceback."""
    assert out.exit_code == code, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, out.stderr
    assert len(lines[0]) <= 300, lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _builds(project):
    return sorted(p.name for p in (project.root / "target/builds").iterdir())


def _another_database(project, path):
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("create table mart__priority_actions as select 42 as answer")
    con.close()


FOREIGN = {
    "another database": _another_database,
    "random bytes": lambda project, path: path.write_bytes(os.urandom(5000)),
    "a folder": lambda project, path: (path.mkdir(), (path / "notes.txt").write_text("mine")),
    "a link elsewhere": lambda project, path: path.symlink_to(project.root / "contracts/model-registry.json"),
}


def _what_stands(path):
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return ("folder", sorted(p.name for p in path.iterdir()))
    return ("file", path.read_bytes())


@pytest.fixture
def built(project, leak):
    assert leak("apply").exit_code == 0
    return project


# -- a foreign file where the stable link was ------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_the_readers_name_a_foreign_file_at_the_stable_link_and_read_the_published_build(built, leak, kind):
    stable = built.root / DB
    stable.unlink()
    FOREIGN[kind](built, stable)
    before = _what_stands(stable)
    verify = leak("verify", "--json")
    line = _only_line(verify, ExitCode.OK, "leakcli: warning: ", "leakcli: warning: target/leakcli.duckdb: is ",
                      "not leakcli's link to the published database", "verify reads target/current/leakcli.duckdb")
    assert ("`leakcli apply` points it back" if kind == "a link elsewhere" else "move it away") in line
    assert verify.json()["summary"]["failed"] == 0  # one JSON document: the published build's tests
    show = leak("show", "mart__priority_actions", "--json", "--limit", "1")
    _only_line(show, ExitCode.OK, "leakcli: warning: ", "show reads target/current/leakcli.duckdb")
    assert "answer" not in show.stdout and show.json()["rows"]
    plan = leak("plan", "--json")
    _only_line(plan, ExitCode.OK, "leakcli: warning: ", "plan reads target/current/leakcli.duckdb")
    assert {m["action"] for m in plan.json()["models"]} == {"unchanged"}
    assert _what_stands(stable) == before


def test_every_reader_says_so_once(built, leak):
    assert leak("apply", "--full-refresh").exit_code == 0  # a second build: diff has two to compare
    stable = built.root / DB
    stable.unlink()
    stable.write_bytes(b"not a database")
    for args in (["report"], ["diff"], ["export", "dbt", "dbt_out"], ["profile", "--out", "profiles"]):
        _only_line(leak(*args), ExitCode.OK, "leakcli: warning: ", "target/leakcli.duckdb: is a file",
                   f"{args[0] if args[0] != 'export' else 'export dbt'} reads target/current/leakcli.duckdb")
    assert stable.read_bytes() == b"not a database"


def test_apply_refuses_a_foreign_file_at_the_stable_link_before_building(built, leak):
    stable = built.root / DB
    stable.unlink()
    stable.write_bytes(b"precious")
    builds = _builds(built)
    _only_line(leak("apply", "--full-refresh"), ExitCode.USAGE, "leakcli: error: ",
               "target/leakcli.duckdb: is a file where apply keeps its link to the published database",
               "move it away")
    assert stable.read_bytes() == b"precious" and _builds(built) == builds


def test_a_link_elsewhere_at_the_stable_name_is_pointed_back_by_apply(built, leak):
    stable = built.root / DB
    stable.unlink()
    stable.symlink_to(built.root / REGISTRY)
    assert leak("apply").exit_code == 0
    assert os.readlink(stable) == "current/leakcli.duckdb"
    assert leak("verify").stderr == ""


def test_nothing_published_and_a_file_at_the_stable_link_is_read_by_no_one(built, leak):
    shutil.rmtree(built.root / "target/builds")
    for name in ("current", "compiled", "exports"):
        (built.root / "target" / name).unlink()
    stable = built.root / DB
    stable.unlink()
    _another_database(built, stable)
    out = leak("verify")
    assert out.exit_code == ExitCode.USAGE and "nothing is built yet" in out.stderr
    _only_line(out, ExitCode.USAGE, "leakcli: warning: ", "target/leakcli.duckdb: is a file",
               "nothing is published (target/current is missing)")
    # not the layout of leakcli 0.1 (no compiled/ beside it): apply does not take it in as a build
    _only_line(leak("apply"), ExitCode.USAGE, "leakcli: error: ", "target/leakcli.duckdb: is a file where apply")
    assert built.query("select answer from mart__priority_actions") == [(42,)]


def test_a_target_as_leakcli_0_1_left_it_is_taken_in_by_apply(built, leak):
    target = built.root / "target"
    build = target / os.readlink(target / "current")
    for name in ("leakcli.duckdb", "compiled", "exports", "current"):
        (target / name).unlink()
    for name in ("leakcli.duckdb", "compiled", "exports"):
        (build / name).rename(target / name)
    shutil.rmtree(target / "builds")
    _only_line(leak("verify"), ExitCode.USAGE, "leakcli: warning: target/leakcli.duckdb: is a file",
               "`leakcli apply` takes it in as a build (leakcli 0.1 left it)")
    assert leak("apply").exit_code == 0
    assert os.readlink(target / "leakcli.duckdb") == "current/leakcli.duckdb"
    assert leak("verify").stderr == ""


# -- a foreign `current`, `previous`, `rejected` -----------------------------------------------------
@pytest.mark.parametrize("kind", ["a folder", "a file", "a link elsewhere"])
def test_a_foreign_current_is_refused_by_readers_and_by_apply(built, leak, tmp_path, kind):
    current = built.root / "target/current"
    current.unlink()
    if kind == "a folder":
        current.mkdir()
        shutil.copyfile(built.root / "target/builds" / _builds(built)[0] / "leakcli.duckdb", current / "leakcli.duckdb")
    elif kind == "a file":
        current.write_text("mine")
    else:
        (tmp_path / "elsewhere").mkdir()
        current.symlink_to(tmp_path / "elsewhere")
    before, builds = _what_stands(current), _builds(built)
    words = ["target/current: is a link to", "not to one of leakcli's builds", "remove it"] \
        if kind == "a link elsewhere" else [f"target/current: is {kind} where leakcli keeps its link to the "
                                            "published build", "move it away"]
    for args in (["verify"], ["show", "mart__priority_actions"], ["plan"], ["report"], ["diff"]):
        _only_line(leak(*args), ExitCode.USAGE, "leakcli: error: ", *words)
    _only_line(leak("apply", "--full-refresh"), ExitCode.USAGE, "leakcli: error: ", "target/current: is ")
    assert _what_stands(current) == before and _builds(built) == builds


def test_a_current_that_leads_nowhere_reads_as_nothing_published_and_apply_builds_again(built, leak):
    current = built.root / "target/current"
    current.unlink()
    current.symlink_to("builds/gone")
    out = leak("verify")
    _only_line(out, ExitCode.USAGE, "leakcli: warning: ", "target/current: leads to builds/gone, which is gone")
    assert "nothing is built yet" in out.stderr
    assert leak("apply").exit_code == 0 and leak("verify").exit_code == 0


@pytest.mark.parametrize("pointer", ["previous", "rejected"])
def test_apply_never_writes_over_a_file_where_its_other_links_belong(built, leak, pointer):
    path = built.root / "target" / pointer
    if path.is_symlink():
        path.unlink()
    path.write_text("precious")
    builds = _builds(built)
    _only_line(leak("apply", "--full-refresh"), ExitCode.USAGE, "leakcli: error: ",
               f"target/{pointer}: is a file where apply keeps its link to", "move it away")
    assert path.read_text() == "precious" and _builds(built) == builds


# -- the lock path ----------------------------------------------------------------------------------
def test_a_folder_at_the_lock_path_is_named(built, leak):
    lock = built.root / "target/.leakcli.lock"
    lock.unlink()
    lock.mkdir()
    (lock / "notes").write_text("mine")
    _only_line(leak("apply", "--full-refresh"), ExitCode.USAGE, "leakcli: error: ",
               "target/.leakcli.lock: is a folder where apply keeps its lock file", "move it away")
    assert (lock / "notes").read_text() == "mine"


def test_a_fifo_at_the_lock_path_is_named_and_nothing_hangs(built, leak):
    lock = built.root / "target/.leakcli.lock"
    lock.unlink()
    os.mkfifo(lock)
    _only_line(leak("apply", "--full-refresh"), ExitCode.USAGE, "leakcli: error: ",
               "target/.leakcli.lock: is not a regular file where apply keeps its lock file")


# -- a model named too long for a file --------------------------------------------------------------
def _rename_model(project, old, length):
    """Give model `old` a name of `length` bytes everywhere (registry, IR, contracts, templates)."""
    new = "stg__" + "x" * (length - 5)
    for folder in ("contracts", "ir", "templates"):
        for path in (project.root / folder).rglob("*"):
            if path.is_file() and old in path.read_text():
                path.write_text(path.read_text().replace(old, new))
    template = project.root / "templates" / f"{old}.sql"
    if length + len(".sql") <= 255:
        template.rename(project.root / "templates" / f"{new}.sql")
    else:  # the template keeps its own (shorter) file name
        project.edit_text(REGISTRY, f"templates/{new}.sql", f"templates/{old}.sql")
    return new


def test_a_model_name_too_long_for_a_file_is_asked_by_plan_before_anything_is_written(project, leak):
    _rename_model(project, "stg__order_item_refunds", 250)
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE, out.stderr
    asked = [a for a in out.json()["ambiguities"] if a["code"] == "name_too_long"]
    assert len(asked) == 1 and asked[0]["severity"] == "blocking"
    assert asked[0]["location"] == f"{REGISTRY}#/models/3/name"
    assert "250 bytes long, more than the 247 a model name may have" in asked[0]["question"]
    assert "<name>.sql.tmp" in asked[0]["question"] and "255 bytes" in asked[0]["question"]
    line = _only_line(leak("apply"), ExitCode.USAGE, "leakcli: error: ", f"{REGISTRY}#/models/3/name: ",
                      "apply changed nothing")
    assert "Traceback" not in line and not (project.root / "target/builds").exists()
    _only_line(leak("export", "dbt", "dbt_out"), ExitCode.USAGE, "leakcli: error: ", f"{REGISTRY}#/models/3/name")
    assert not (project.root / "dbt_out").exists()


def test_the_longest_model_name_allowed_builds(project, leak):
    name = _rename_model(project, "stg__order_item_refunds", 247)
    assert leak("apply").exit_code == 0
    assert (project.root / "target/compiled" / f"{name}.sql").is_file()


def test_a_source_table_name_too_long_for_its_profile_is_asked_and_profile_writes_nothing(project, leak):
    long = "r" * 250
    doc = project.read_json("contracts/source-manifest.json")
    index = [t["name"] for t in doc["tables"]].index("order_item_refunds")
    for folder in ("contracts", "templates"):
        for path in (project.root / folder).rglob("*"):
            text = path.read_text() if path.is_file() else ""
            for old, new in (("'order_item_refunds'", f"'{long}'"), ('"order_item_refunds"', f'"{long}"'),
                             ("maven.order_item_refunds", f"maven.{long}")):
                text = text.replace(old, new)
            if path.is_file() and text != path.read_text():
                path.write_text(text)
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    asked = [a for a in out.json()["ambiguities"] if a["code"] == "name_too_long"]
    assert [a["location"] for a in asked] == [f"contracts/source-manifest.json#/tables/{index}/name"]
    _only_line(leak("profile", "--out", "profiles"), ExitCode.USAGE, "leakcli: error: ",
               f"contracts/source-manifest.json#/tables/{index}/name: is 250 bytes long")
    assert not (project.root / "profiles").exists()
    assert json.loads((project.root / "contracts/source-manifest.json").read_text())["tables"][index]["name"] == long
