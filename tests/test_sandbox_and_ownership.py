"""The plan/apply promise against an attacker and a careless user: plan runs nothing,
SQL is exactly one SELECT that reads files only through source(), nothing of the user's is
overwritten, and every failure is one line with its exit code, the published build intact."""

from __future__ import annotations

import os

import pytest
from test_failures import _fingerprint

from leakcli.errors import ExitCode

INTERRUPTED = ("leakcli: error: target/leakcli.duckdb: apply interrupted; the previous build is unchanged; "
               "run `leakcli apply` again")

ORDERS = "templates/stg__orders.sql"
CAT = "contracts/metric-catalog.json"


def _one_line(out, code, *words):
    assert out.exit_code == code, out.stderr
    lines = out.stderr.splitlines()
    errors = [line for line in lines if line.startswith("leakcli: error: ")]
    assert errors, out.stderr
    assert "Traceback" not in out.stderr and len(errors[0]) <= 300
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _blocking(leak, code, location, *words):
    """The blocking question of `code` at `location` (a part of it); its text holds `words`."""
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE, out.stderr
    found = [a for a in out.json()["ambiguities"]
             if a["severity"] == "blocking" and a["code"] == code and location in a["location"]]
    assert found, out.json()["ambiguities"]
    text = found[0]["location"] + " " + found[0]["question"]
    for word in words:
        assert word in text, text
    return found[0]


# -- plan runs nothing ------------------------------------------------------------------------------
@pytest.mark.parametrize("code, words", [
    ("{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}", ["Python internals", ":12"]),
    ("{{ ref.__globals__ }}", ["Python internals", "'__globals__'"]),
    ("{% for i in range(10**10) %}{% endfor %}", ["too large"]),
    ("{{ 'x' * 10**8 }}", ["too large"]),
    ("{{ lipsum() }}", ["'lipsum' is undefined"]),
])
def test_a_template_cannot_run_python(project, leak, code, words):
    (project.root / ORDERS).write_text((project.root / ORDERS).read_text() + code + "\n")
    _blocking(leak, "render_error", ORDERS, *words)
    assert not (project.root / "PWNED").exists()


def test_a_template_that_loops_for_ever_is_stopped(project, leak):
    project.edit_json("phase-plan.json", lambda d: d.setdefault("engine", {}).update(render_seconds=0.5))
    (project.root / ORDERS).write_text((project.root / ORDERS).read_text()
                                       + "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}"
                                         "{% endfor %}\n")
    _blocking(leak, "render_error", ORDERS, "more than 0.5 s")


@pytest.mark.parametrize("tail, words", [
    ("; copy (select 1) to '{out}'", ["2 SQL statements"]),
    ("; attach '{out}' as x", ["2 SQL statements"]),
    (" union all select * from read_csv('/etc/passwd')", ["table function read_csv()", "source()"]),
    (" union all select * from '/etc/passwd'", ["reads '/etc/passwd' directly"]),
    (" union all select * from glob('/etc/*')", ["table function glob()"]),
])
def test_a_template_is_exactly_one_select_that_reads_files_only_through_source(project, leak, tmp_path, tail, words):
    out_file = tmp_path / "leaked.csv"
    text = (project.root / ORDERS).read_text().rstrip() + tail.format(out=out_file) + "\n"
    (project.root / ORDERS).write_text(text)
    _blocking(leak, "not_one_select", ORDERS, *words)
    out = leak("apply")
    _one_line(out, ExitCode.USAGE, "blocking question")
    assert not out_file.exists() and not (project.root / "target/leakcli.duckdb").exists()


def test_a_metric_fragment_cannot_smuggle_a_statement(project, leak, tmp_path):
    out_file = tmp_path / "leaked.csv"
    project.edit_json(CAT, lambda d: d["metrics"][0].update(
        sql=f"1); copy (select 1) to '{out_file}'; select (1"))
    _blocking(leak, "not_one_select", "contracts/metric-catalog.json#/metrics/0/sql", "3 SQL statements")
    assert not out_file.exists()


def test_an_acceptance_test_cannot_escape_its_query(project, leak, tmp_path):
    out_file = tmp_path / "leaked.csv"
    assert leak("apply").exit_code == 0
    tests = project.read_json("contracts/acceptance-tests.json")
    tests["tests"][4]["condition"] = f"true), false); copy (select 1) to '{out_file}'; select ((true"
    project.write_json("contracts/acceptance-tests.json", tests)
    _blocking(leak, "not_one_select", "contracts/acceptance-tests.json#/tests/4/condition")
    out = leak("verify", "--json")  # verify runs what is built, and refuses the bad query
    assert out.exit_code == ExitCode.USAGE
    at05 = next(r for r in out.json()["results"] if r["id"] == "AT-05")
    assert at05["status"] == "error" and "SQL statements" in at05["message"]
    assert not out_file.exists()


def test_verify_reads_no_file_outside_the_data_and_the_build(project, leak):
    assert leak("apply").exit_code == 0
    tests = project.read_json("contracts/acceptance-tests.json")
    tests["tests"][10]["query"] = "select * from read_text('/etc/hostname')"
    project.write_json("contracts/acceptance-tests.json", tests)
    out = leak("verify", "--json")
    result = next(r for r in out.json()["results"] if r["id"] == "AT-11")
    assert result["status"] == "error" and "read_text()" in result["message"]


def test_contract_paths_stay_inside_the_project(project, leak, tmp_path):
    project.edit_json("phase-plan.json", lambda d: d["phases"][0].update(ir="ir/../../outside.json"))
    _one_line(leak("plan"), ExitCode.USAGE, "phase-plan.json#/phases/0/ir", "points outside the project")
    project.edit_json("phase-plan.json", lambda d: d["phases"][0].update(ir="ir/stage-01.json"))
    secret = tmp_path / "secret.sql"
    secret.write_text("select 1 as order_id")
    (project.root / ORDERS).unlink()
    (project.root / ORDERS).symlink_to(secret)
    _blocking(leak, "render_error", ORDERS, "points outside the project")


# -- never destroy what leakcli did not write ------------------------------------------------------
def test_generate_never_empties_a_folder_it_did_not_create(leak, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    _one_line(leak("generate", "--scale", "0.01", "--out", str(mine)), ExitCode.USAGE,
              "holds files leakcli did not write", "--force")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert leak("generate", "--scale", "0.01", "--out", str(mine), "--force").exit_code == 0
    assert (mine / "notes.txt").read_text() == "keep me" and (mine / "orders.csv").exists()


def test_generate_into_the_current_folder_is_refused(leak, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.docx").write_text("mine")
    _one_line(leak("generate", "--scale", "0.01", "--out", "."), ExitCode.USAGE, "did not write")
    assert [p.name for p in tmp_path.iterdir()] == ["report.docx"]


def test_generate_does_not_replace_a_dataset_without_force(project, leak):
    assert leak("generate", "--scale", "0.01").exit_code == 0
    first = (project.root / "target/synthetic/maven-fuzzy-factory/orders.csv").read_bytes()
    out = leak("generate", "--scale", "0.02", "--seed", "7")
    _one_line(out, ExitCode.USAGE, "target/synthetic/maven-fuzzy-factory", "embedded synthetic dataset", "--force")
    assert (project.root / "target/synthetic/maven-fuzzy-factory/orders.csv").read_bytes() == first
    assert leak("generate", "--scale", "0.02", "--seed", "7", "--force").exit_code == 0
    assert (project.root / "target/synthetic/maven-fuzzy-factory/orders.csv").read_bytes() != first


def test_profile_does_not_replace_the_committed_profiles_without_force(project, leak, tmp_path):
    assert leak("profile").exit_code == 0
    orders = project.root / "datasets/maven-fuzzy-factory/profile/orders.json"
    before = orders.read_bytes()
    (project.raw / "orders.csv").write_text((project.raw / "orders.csv").read_text().replace("49.99", "48.99"))
    _one_line(leak("profile"), ExitCode.USAGE, "datasets/maven-fuzzy-factory/profile", "--force", "--out")
    assert orders.read_bytes() == before
    assert leak("profile", "--out", str(tmp_path / "p")).exit_code == 0
    assert (tmp_path / "p/orders.json").exists() and orders.read_bytes() == before
    assert leak("profile", "--force").exit_code == 0 and orders.read_bytes() != before


def test_plan_out_never_writes_over_a_database_a_link_or_a_foreign_file(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    _one_line(leak("plan", "--out", "target/leakcli.duckdb"), ExitCode.USAGE, "symbolic link")
    _one_line(leak("plan", "--out", "target/current/leakcli.duckdb"), ExitCode.USAGE, "is a database")
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    _one_line(leak("plan", "--out", str(notes)), ExitCode.USAGE, "is not a plan saved by leakcli plan", "--force")
    assert notes.read_text() == '{"mine": true}'
    link = tmp_path / "link.json"
    link.symlink_to(notes)
    _one_line(leak("plan", "--out", str(link)), ExitCode.USAGE, "symbolic link")
    assert leak("plan", "--out", "target/plan.json").exit_code == 0
    assert leak("plan", "--out", "target/plan.json").exit_code == 0  # its own plan: replaced
    assert _fingerprint(project)[0] == before[0]


def test_a_symlinked_lock_file_is_refused(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (project.root / "target/.leakcli.lock").unlink()
    (project.root / "target/.leakcli.lock").symlink_to(victim)
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_orders=2))
    _one_line(leak("apply"), ExitCode.USAGE, "target/.leakcli.lock", "symbolic link")
    assert victim.read_text() == "precious"


def test_apply_refuses_a_target_folder_it_did_not_create(project, leak):
    (project.root / "target").mkdir()
    (project.root / "target/thesis.tex").write_text("mine")
    _one_line(leak("apply"), ExitCode.USAGE, "target: holds files leakcli did not write", "--force")
    assert [p.name for p in (project.root / "target").iterdir()] == ["thesis.tex"]
    assert leak("apply", "--force").exit_code == 0
    assert (project.root / "target/thesis.tex").read_text() == "mine"


# -- one clear line for every failure --------------------------------------------------------------
def test_a_full_disk_during_the_export_keeps_the_published_build(project, leak):
    import errno

    from leakcli.progress import inject

    assert leak("apply").exit_code == 0
    before = _fingerprint(project)

    def full():
        return OSError(errno.ENOSPC, "No space left on device", str(project.root / "target/builds/x/exports"))

    with inject("exporting", full):
        out = leak("apply", "--full-refresh")
    _one_line(out, ExitCode.EXECUTION, "cannot write the build: No space left on device")
    assert _fingerprint(project) == before


def test_a_damaged_database_is_one_line_and_apply_rebuilds_it(project, leak):
    assert leak("apply").exit_code == 0
    db = (project.root / "target/leakcli.duckdb").resolve()
    db.write_bytes(db.read_bytes()[:20000])
    for command in (["verify"], ["show", "mart__priority_actions"]):
        _one_line(leak(*command), ExitCode.EXECUTION, "target/leakcli.duckdb: cannot be read",
                  "leakcli apply --full-refresh")
    out = leak("plan", "--json")
    assert out.exit_code == 0
    assert [a["code"] for a in out.json()["ambiguities"] if a["severity"] == "warning"] == ["damaged_build"]
    assert leak("apply").exit_code == 0 and leak("verify").exit_code == 0


@pytest.mark.parametrize("content, words", [
    (None, ["saved plan is a directory"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00", ["not UTF-8"]),
    (b'{"schema_version": 1, "inputs": {}, "models": 3}', ["does not match the plan schema"]),
    (b"[" * 100_000, ["nested too deeply"]),
])
def test_a_bad_plan_file_is_one_line(project, leak, tmp_path, content, words):
    path = tmp_path / "plan.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    _one_line(leak("apply", str(path)), ExitCode.USAGE, *words)
    assert not (project.root / "target/leakcli.duckdb").exists()


@pytest.mark.parametrize("args, words", [
    (["show", "mart__priority_actions", "--limit", "1e20"], ["--limit", "show --help"]),
    (["plan", "--no-such-option"], ["No such option", "plan --help"]),
    (["apply", "a", "b"], ["unexpected extra argument"]),
    (["plan", "--data-dir", ""], ["--data-dir: is empty"]),
    (["verify", "--data-dir", ""], ["--data-dir: is empty"]),
    (["apply", "--select", ""], ["--select: is empty"]),
])
def test_usage_errors_are_one_line(project, leak, args, words):
    assert leak("apply").exit_code == 0
    out = leak(*args)
    assert len(out.stderr.splitlines()) == 1
    _one_line(out, ExitCode.USAGE, *words)


def test_a_usage_error_with_json_still_prints_one_json_document(project, leak):
    out = leak("plan", "--json", "--bogus")
    assert out.exit_code == ExitCode.USAGE
    assert out.json()["error"]["exit_code"] == 2 and out.json()["schema_version"] == 1


@pytest.mark.parametrize("old, new, pointer", [
    ('"min_sessions": 5', '"min_sessions": NaN', "#/thresholds/min_sessions"),
    ('"min_orders": 1,', '"min_orders": -Infinity,', "#/thresholds/min_orders"),
    ('"min_orders": 1,', '"min_orders": 1, "min_orders": 2,', "#/thresholds/min_orders"),
])
def test_nan_and_repeated_keys_are_refused_at_their_pointer(project, leak, old, new, pointer):
    project.edit_text(CAT, old, new)
    _one_line(leak("plan"), ExitCode.USAGE, CAT + pointer)


def test_a_cr_only_file_reads_and_a_long_header_stays_one_short_line(project, leak):
    orders = project.raw / "orders.csv"
    orders.write_bytes(orders.read_bytes().replace(b"\n", b"\r"))
    assert leak("apply").exit_code == 0
    orders.write_bytes(b",".join(b"col%d" % i for i in range(50_000)) + b"\r" + b"1\r" * 1000)
    line = _one_line(leak("apply"), ExitCode.USAGE, "datasets/maven-fuzzy-factory/raw/orders.csv")
    assert len(line) <= 300


def test_interrupt_by_sigterm_in_process_is_exit_130(project, leak):
    import signal

    from leakcli.progress import inject

    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_orders=2))

    def sigterm():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler turns it into KeyboardInterrupt here
        return AssertionError("SIGTERM did not stop the apply")

    with inject("model mart__core_leak_summary", sigterm):
        out = leak("apply")
    assert out.exit_code == ExitCode.INTERRUPTED
    assert out.stderr.strip() == INTERRUPTED
    assert _fingerprint(project) == before
