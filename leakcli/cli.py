"""The command line: parse options, call one core function, hand the result to the reporter (exit codes: errors.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from typer.core import TyperGroup

from leakcli.errors import ExitCode, Interrupted, LeakError, UsageError, exit_code_for, is_interrupt

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.outputs.terminal import Reporter

T = TypeVar("T")


class _Group(TyperGroup):
    """Every failure is one line on stderr, usage errors of the parser included, with the documented exit code;
    SIGTERM stops a command as Ctrl-C does (exit 130); dbt's and Terraform's command words answered with ours."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        from leakcli.outputs.helptext import familiar

        if args and args[0] not in self.commands and familiar(args[0]):
            ctx.fail(f"No such command '{args[0]}' ({familiar(args[0])})")
        return super().resolve_command(ctx, args)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        from leakcli.outputs.helptext import tidy_help, usage_error
        from leakcli.outputs.terminal import Reporter
        from leakcli.progress import sigterm_interrupts

        tidy_help(self)
        reporter = Reporter(json_mode="--json" in (sys.argv[1:] if args is None else list(args)))
        try:
            with sigterm_interrupts():
                code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                    standalone_mode=False, windows_expand_args=windows_expand_args, **extra)
        except typer.TyperException as exc:  # the parser's errors (Click's, as Typer carries them)
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help was printed as it was made: once
                text = exc.format_message()
                if text.strip():
                    typer.echo(text)
                code = 0
            else:
                code = exc.exit_code
                reporter.failed(usage_error(exc), code)
        except typer.Abort:
            code = int(ExitCode.INTERRUPTED)
            reporter.failed(Interrupted("interrupted"), code)
        if standalone_mode:
            sys.exit(code or 0)
        return code


app = typer.Typer(
    name="leakcli",
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Find where the Maven Fuzzy Factory shop leaks revenue: plan, apply, verify.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
)

def _version(value: bool) -> None:
    if value:
        from leakcli import __version__

        typer.echo(f"leakcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version,
                                          is_eager=True)] = False,
) -> None:
    """Find where the Maven Fuzzy Factory shop leaks revenue: plan, apply, verify."""


def _model_names(incomplete: str) -> list[str]:
    """Shell completion of model names, from the registry of the project in the current folder."""
    from leakcli.contracts.load import model_names

    return [n for n in model_names() if n.startswith(incomplete.lstrip("+@"))]


def _finite(value: float) -> float:
    import math

    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"must be a finite number greater than 0, not {value:g}")
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
DataOpt = Annotated[str | None, typer.Option(
    "--data-dir", metavar="DIR",
    help="Directory of the Maven CSVs. Default: $LEAKCLI_DATA_DIR, else the real data the published build was "
    "made from, else datasets/maven-fuzzy-factory/raw/, else the embedded synthetic dataset.")]
SyntheticOpt = Annotated[bool, typer.Option("--synthetic", help="Build on the embedded synthetic dataset "
                                            "(generated once under the target directory).")]
VerifyDataOpt = Annotated[str | None, typer.Option(
    "--data-dir", metavar="DIR",
    help="Directory of the Maven CSVs that tests of the sources read. Default: the one the published build was "
    "made from.")]
ProjectOpt = Annotated[Path | None, typer.Option(
    "--project-dir", metavar="DIR", envvar="LEAKCLI_PROJECT_DIR",
    help="Project root holding phase-plan.json. Default: the current folder or the nearest one above it.")]
TargetOpt = Annotated[Path | None, typer.Option(
    "--target-dir", metavar="DIR", envvar="LEAKCLI_TARGET_DIR",
    help="Where builds and artifacts go (dbt's --target-path). Default: target/ in the project.")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    "--select", "-s", metavar="MODELS", autocompletion=_model_names, help="The models, in dbt's grammar: a space "
    "joins selections, a comma intersects them; +m, m+, 2+m, m+1, @m; shell wildcards (stg__*).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="MODELS", autocompletion=_model_names,
    help="Models to leave out, in the grammar of --select.")]
FullOpt = Annotated[bool, typer.Option("--full-refresh", help="Rebuild every selected model.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite what leakcli did not write (or an existing "
                                        "output) where this command writes.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Remember nothing from earlier runs and keep nothing "
                                          "for later ones (also LEAKCLI_NO_CACHE=1): the same answer, slower.")]
JunitOpt = Annotated[Path | None, typer.Option("--junit-xml", metavar="FILE",
                                               help="Also write JUnit XML to this file.")]


def _run(reporter: Reporter, debug: bool, fn: Callable[[], T]) -> T:
    """The one error boundary: a LeakError becomes a one-line message and its exit code."""
    from leakcli.progress import tracking

    try:
        with tracking(reporter):
            return fn()
    except LeakError as caught:
        if debug:
            raise
        exc: LeakError = caught
    except (KeyboardInterrupt, RuntimeError) as caught:  # RuntimeError: DuckDB's form of Ctrl-C only
        if debug or not is_interrupt(caught):
            raise
        exc = Interrupted("interrupted; the published build is unchanged", file=reporter.database,
                          hint="run the command again")
    reporter.failed(exc)
    raise typer.Exit(int(exit_code_for(exc)))


def _project(json_mode: bool, debug: bool, project_dir: Path | None, target_dir: Path | None, *,
             no_cache: bool = False, anywhere: bool = False, reads: str | None = None,
             through: tuple[str, ...] = ("current",)) -> tuple[Reporter, Project]:
    """The reporter, and the project (found upward), its target and cache, made once, or one line saying why not;
    `anywhere`: generate needs no project. A command that `reads` the published build `through` target/current
    (diff: and previous) is refused when one is not leakcli's link; a warning for each name someone replaced."""
    from leakcli.context import Project
    from leakcli.outputs.terminal import Reporter
    from leakcli.paths import PROJECT_FILE, find_root
    from leakcli.store.layout import check_published

    reporter = Reporter(json_mode=json_mode)

    def find() -> Project:
        if target_dir is not None and not str(target_dir).strip():
            raise UsageError("--target-dir is empty", hint="name a folder for the builds, or leave the option out")
        here = Path.cwd()
        lone = anywhere and project_dir is None and not any((d / PROJECT_FILE).exists() for d in (here, *here.parents))
        return Project.at(here if lone else find_root(project_dir), None if target_dir is None else here / target_dir,
                          no_cache=no_cache)

    project = _run(reporter, debug, find)
    reporter.database = project.rel(project.paths.database)
    for line in _run(reporter, debug, lambda: check_published(project.paths.target, reads, through)) if reads else []:
        reporter.notice(f"warning: {line}")
    return reporter, project


@app.command()
def plan(
    json_mode: JsonOpt = False,
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE",
                                             help="Save the plan (for `apply PLAN_FILE`).")] = None,
    data_dir: DataOpt = None,
    synthetic: SyntheticOpt = False,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    full_refresh: FullOpt = False,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="Exit 4 when apply would change "
                                                    "something (0: nothing to do, 2: blocked).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every file read.")] = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    no_cache: NoCacheOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Read every contract, check them against each other and the data, report open questions,
    and show the DAG and what apply would do. Exits 2 when a blocking question is open."""
    from leakcli.plan.planner import PlanRequest
    from leakcli.plan.saved import plan_and_save

    reporter, project = _project(json_mode, debug, project_dir, target_dir, no_cache=no_cache, reads="plan")
    req = PlanRequest(data_dir=data_dir, synthetic=synthetic, select=tuple(select or ()),
                      exclude=None if exclude is None else tuple(exclude), full_refresh=full_refresh)
    result = _run(reporter, debug, lambda: plan_and_save(project, req, out, force=force))
    reporter.plan(result, out=out, verbose=verbose)
    if result.blocking:  # as apply would stop: a row that does not read is 3, any other question 2
        raise typer.Exit(int(max(a.rule.exit_code for a in result.blocking)))
    if detailed_exitcode and result.changes:
        raise typer.Exit(int(ExitCode.CHANGES))


@app.command()
def apply(
    plan_file: Annotated[Path | None, typer.Argument(help="A plan saved by `plan --out`.")] = None,
    json_mode: JsonOpt = False,
    data_dir: DataOpt = None,
    synthetic: SyntheticOpt = False,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    full_refresh: FullOpt = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    no_cache: NoCacheOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Render the ref-linked SQL, build the models in DuckDB, audit the build with the error-severity
    acceptance tests, and publish it only when they pass: all or nothing."""
    from leakcli.commands.apply import ApplyRequest
    from leakcli.commands.apply import apply as run_apply
    from leakcli.plan.planner import PlanRequest

    reporter, project = _project(json_mode, debug, project_dir, target_dir, no_cache=no_cache)
    req = ApplyRequest(plan=PlanRequest(data_dir=data_dir, synthetic=synthetic, select=tuple(select or ()),
                                        exclude=None if exclude is None else tuple(exclude),
                                        full_refresh=full_refresh),
                       plan_file=plan_file, force=force, progress=reporter.progress, notice=reporter.notice)
    reporter.apply(_run(reporter, debug, lambda: run_apply(project, req)))


@app.command()
def verify(
    json_mode: JsonOpt = False,
    fmt: Annotated[Literal["table", "markdown"], typer.Option(
        "--format", metavar="FORMAT", help="table, or markdown (for $GITHUB_STEP_SUMMARY).")] = "table",
    junit_xml: JunitOpt = None,
    data_dir: VerifyDataOpt = None,
    full_check: Annotated[bool, typer.Option("--full-check", help="Also rebuild every model from scratch in a "
                                             "scratch database and compare it with the published build.")] = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    no_cache: NoCacheOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run the acceptance tests against the built database. Exits 1 when an error-severity test fails, 2 when a
    test cannot run (its contract is wrong)."""
    from leakcli.commands.verify import verify as run_verify
    from leakcli.outputs.formats import save_junit

    reporter, project = _project(json_mode, debug, project_dir, target_dir, no_cache=no_cache, reads="verify")
    report = _run(reporter, debug, lambda: run_verify(project, data_dir=data_dir, full_check=full_check))
    if junit_xml is not None:
        _run(reporter, debug, lambda: save_junit(report, junit_xml, project.paths, force=force))
    reporter.verify(report, fmt)
    if report.broken is not None:  # a test that cannot run is a contract to fix, not a failed build
        reporter.error(report.broken)
        raise typer.Exit(int(report.broken.exit_code))
    if not report.ok:
        raise typer.Exit(int(ExitCode.TESTS_FAILED))


@app.command()
def test(
    select: Annotated[list[str] | None, typer.Option("--select", "-s", metavar="MODELS|IDS",
                                                     help="Models (apply's grammar) or test ids (UT-06).")] = None,
    json_mode: JsonOpt = False,
    junit_xml: JunitOpt = None,
    create: Annotated[str | None, typer.Option("--create", metavar="MODEL", autocompletion=_model_names,
                                               help="Write a new test of MODEL from the published build.")] = None,
    where: Annotated[str | None, typer.Option(metavar="EXPR", help="With --create: the rows to expect.")] = None,
    limit: Annotated[int, typer.Option(help="With --create: at most this many rows.", min=1, max=1000)] = 5,
    test_id: Annotated[str | None, typer.Option("--id", metavar="ID", help="With --create: its id.")] = None,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run the models' unit tests (contracts/unit-tests.json) in memory. Exits 1 on a failure, 2 on an invalid test."""
    from leakcli.commands.unittest import TestRequest, unit_test
    from leakcli.outputs.formats import save_junit
    from leakcli.outputs.unittests import unit_junit

    reporter, project = _project(json_mode, debug, project_dir, target_dir)
    req = TestRequest(select=tuple(select or ()), create=create, where=where, limit=limit, test_id=test_id)
    report = _run(reporter, debug, lambda: unit_test(project, req))
    if junit_xml is not None:
        _run(reporter, debug, lambda: save_junit(unit_junit(report), junit_xml, project.paths, force=force))
    reporter.unit_tests(report)
    if not report.ok:
        raise typer.Exit(int(ExitCode.TESTS_FAILED))


@app.command()
def diff(
    old: Annotated[Path | None, typer.Argument(help="Old database file. Default: target/previous.")] = None,
    new: Annotated[Path | None, typer.Argument(help="New database file. Default: target/current.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", metavar="MODEL", autocompletion=_model_names,
                                                    help="Compare this model (repeatable). "
                                                    "Default: the marts.")] = None,
    samples: Annotated[int, typer.Option(help="Sample rows per change.", min=0, max=1000)] = 3,
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show what the last apply did to the answer: the published build against the previous one (or
    two database files), per mart rows added, removed and changed on the grain, and rank moves."""
    from leakcli.commands.diff import DiffRequest, diff_builds

    reporter, project = _project(json_mode, debug, project_dir, target_dir, reads=None if old or new else "diff",
                       through=("previous", "current"))  # two files named: no build of target/ is read
    req = DiffRequest(old=old, new=new, models=tuple(model or ()), samples=samples)
    reporter.diff(_run(reporter, debug, lambda: diff_builds(project, req)))


@app.command()
def report(
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE",
                                             help="Where to write it. Default: target/report.html.")] = None,
    json_mode: JsonOpt = False,
    data_dir: VerifyDataOpt = None,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    no_cache: NoCacheOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write one self-contained HTML report of the published build for the people who act on it."""
    from leakcli.commands.report import report_data
    from leakcli.outputs.report import write_report

    reporter, project = _project(json_mode, debug, project_dir, target_dir, no_cache=no_cache, reads="report")
    reporter.report(_run(reporter, debug, lambda: write_report(
        project.paths, out, lambda: report_data(project, data_dir=data_dir), force=force)))


export_app = typer.Typer(name="export", help="Hand the pipeline to another tool.", no_args_is_help=True)
app.add_typer(export_app)


@export_app.command("dbt")
def export_dbt(
    out_dir: Annotated[str, typer.Argument(metavar="OUT_DIR",
                                           help="Folder for the dbt project (new, empty, or written by leakcli).")],
    data_dir: DataOpt = None,
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the pipeline as a dbt project for dbt-duckdb: one model per template with ref() and source(),
    the sources with their read options, schema.yml from the registry, the acceptance tests as data tests."""
    from leakcli.commands.export import ExportRequest
    from leakcli.commands.export import export_dbt as run_export

    reporter, project = _project(json_mode, debug, project_dir, target_dir, reads="export dbt")
    req = ExportRequest(out=out_dir, data_dir=data_dir, force=force)
    reporter.export(_run(reporter, debug, lambda: run_export(project, req)))


@app.command()
def profile(
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Folder for the profiles. Default: "
                                             "datasets/maven-fuzzy-factory/profile/.")] = None,
    json_mode: JsonOpt = False,
    data_dir: DataOpt = None,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write one profile per source table (<table>.json) from the data; existing profiles are
    replaced only with --force."""
    from leakcli.sources.profile import ProfileRequest, write_profiles

    reporter, project = _project(json_mode, debug, project_dir, target_dir, reads="profile")
    req = ProfileRequest(data_dir=data_dir, out=out, force=force)
    reporter.profile(_run(reporter, debug, lambda: write_profiles(project, req)))


@app.command()
def generate(
    scale: Annotated[float, typer.Option(help="Size relative to the real shop (1 = same size).",
                                         callback=_finite)] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.",
                                      min=0, max=2**63 - 1)] = 42,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Output folder. Default: the embedded "
                                             "dataset target/synthetic/maven-fuzzy-factory/.")] = None,
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    force: ForceOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write a synthetic Maven Fuzzy Factory dataset with the real schema and key relations; an
    existing dataset is replaced only with --force."""
    from leakcli.sources.generate import GenerateRequest
    from leakcli.sources.generate import generate as run_generate

    reporter, project = _project(json_mode, debug, project_dir, target_dir, anywhere=True)
    req = GenerateRequest(scale=scale, seed=seed, out=out, force=force)
    reporter.generate(_run(reporter, debug, lambda: run_generate(project.paths, req)))


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="A built model.", autocompletion=_model_names)],
    limit: Annotated[int, typer.Option(help="Rows to show.", min=0, max=1_000_000)] = 10,
    columns: Annotated[str | None, typer.Option("--columns", "-c", metavar="COLS",
                                                help="Columns to show, comma-separated.")] = None,
    where: Annotated[str | None, typer.Option(metavar="EXPR",
                                              help="Keep rows where this SQL expression holds.")] = None,
    order_by: Annotated[str | None, typer.Option("--order-by", metavar="EXPR",
                                                 help="Order rows by these SQL expressions.")] = None,
    vertical: Annotated[bool, typer.Option("--vertical", "-x", help="One row at a time, a line per column "
                                           "(also when a row does not fit the terminal).")] = False,
    fmt: Annotated[Literal["table", "csv"], typer.Option("--format", metavar="FORMAT",
                                                         help="table, or csv (raw values).")] = "table",
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = None,
    target_dir: TargetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Preview rows of a built model, formatted to fit the terminal."""
    from leakcli.commands.show import ShowRequest, show_rows

    reporter, project = _project(json_mode, debug, project_dir, target_dir, reads="show")
    cols = tuple(c.strip() for c in columns.split(",") if c.strip()) if columns is not None else ()
    req = ShowRequest(model=model, limit=limit, columns=cols, where=where, order_by=order_by)
    reporter.show(_run(reporter, debug, lambda: show_rows(project, req)), fmt, vertical)
