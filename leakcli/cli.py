"""The command line: parse options, call one core function, hand the result to the reporter.

Exit codes (LEAK-SPEC §10): 0 ok; 1 an error-severity acceptance test failed; 2 usage error,
invalid contract, blocking ambiguity or stale plan; 3 execution failed; 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from leakcli.errors import ExitCode, Interrupted, LeakError, exit_code_for, is_interrupt
from leakcli.jsonout import envelope

if TYPE_CHECKING:
    from leakcli.report import Reporter

T = TypeVar("T")

app = typer.Typer(
    name="leakcli",
    help="Find where the Maven Fuzzy Factory shop leaks revenue: plan, apply, verify.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
DataOpt = Annotated[str | None, typer.Option(
    "--data-dir",
    help="Directory of the Maven CSVs. Default: $LEAKCLI_DATA_DIR, else "
    "datasets/maven-fuzzy-factory/raw/, else the embedded synthetic dataset.")]
ProjectOpt = Annotated[Path, typer.Option("--project-dir", envvar="LEAKCLI_PROJECT_DIR",
                                          help="Project root holding phase-plan.json.")]
SelectOpt = Annotated[list[str] | None, typer.Option(
    "--select", "-s", help="Models to build, with dbt graph operators: model, +model, model+.")]
FullOpt = Annotated[bool, typer.Option("--full-refresh", help="Rebuild every selected model.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]


def _run(reporter: Reporter, debug: bool, fn: Callable[[], T]) -> T:
    """The one error boundary: a LeakError becomes a one-line message and its exit code."""
    try:
        return fn()
    except LeakError as caught:
        if debug:
            raise
        exc: LeakError = caught
    except (KeyboardInterrupt, RuntimeError) as caught:  # RuntimeError: DuckDB's form of Ctrl-C only
        if debug or not is_interrupt(caught):
            raise
        exc = Interrupted("interrupted; the previous build is unchanged")
    reporter.error(exc)
    if reporter.json_mode:
        reporter.emit_json(envelope(error=exc.to_dict()))
    raise typer.Exit(int(exit_code_for(exc)))


def _reporter(json_mode: bool) -> Reporter:
    from leakcli.report import Reporter

    return Reporter(json_mode=json_mode)


def _root(project_dir: Path) -> Path:
    return project_dir.resolve()


@app.command()
def plan(
    json_mode: JsonOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan (for `apply PLAN_FILE`).")] = None,
    data_dir: DataOpt = None,
    select: SelectOpt = None,
    full_refresh: FullOpt = False,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Read every contract, check them against each other and the data, report open questions,
    and show the DAG and what apply would do. Exits 2 when a blocking question is open."""
    from leakcli.plan import PlanRequest, build_plan, save_plan

    reporter = _reporter(json_mode)
    req = PlanRequest(_root(project_dir), data_dir, tuple(select or ()), full_refresh)
    result = _run(reporter, debug, lambda: build_plan(req))
    if out is not None:
        _run(reporter, debug, lambda: save_plan(result, out))
        reporter.notice(f"plan saved to {out}")
    reporter.plan(result)
    if result.blocking:
        raise typer.Exit(int(ExitCode.USAGE))


@app.command()
def apply(
    plan_file: Annotated[Path | None, typer.Argument(help="A plan saved by `plan --out`.")] = None,
    json_mode: JsonOpt = False,
    data_dir: DataOpt = None,
    select: SelectOpt = None,
    full_refresh: FullOpt = False,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Render the ref-linked SQL and build the models in DuckDB, all or nothing."""
    from leakcli.apply import ApplyRequest
    from leakcli.apply import apply as run_apply

    reporter = _reporter(json_mode)
    req = ApplyRequest(_root(project_dir), data_dir, tuple(select or ()), full_refresh, plan_file,
                       progress=reporter.progress, notice=reporter.notice)
    reporter.apply(_run(reporter, debug, lambda: run_apply(req)))


@app.command()
def verify(
    json_mode: JsonOpt = False,
    data_dir: DataOpt = None,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Run the acceptance tests against the built database. Exits 1 when an error-severity test fails."""
    from leakcli.verify import VerifyRequest
    from leakcli.verify import verify as run_verify

    reporter = _reporter(json_mode)
    report = _run(reporter, debug, lambda: run_verify(VerifyRequest(_root(project_dir), data_dir)))
    reporter.verify(report)
    if not report.ok:
        raise typer.Exit(int(ExitCode.TESTS_FAILED))


@app.command()
def profile(
    json_mode: JsonOpt = False,
    data_dir: DataOpt = None,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Write datasets/maven-fuzzy-factory/profile/<table>.json from the data."""
    from leakcli.profile import ProfileRequest, write_profiles

    reporter = _reporter(json_mode)
    result = _run(reporter, debug, lambda: write_profiles(ProfileRequest(_root(project_dir), data_dir)))
    reporter.lines(f"Profiled {result.data.label} data at {result.data.path}:", result.written,
                   envelope(dataset=result.data.describe(), written=result.written))


@app.command()
def generate(
    scale: Annotated[float, typer.Option(help="Size relative to the real shop (1 = same size).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Write a synthetic Maven Fuzzy Factory dataset with the real schema and key relations."""
    from leakcli.generate import GenerateRequest
    from leakcli.generate import generate as run_generate

    reporter = _reporter(json_mode)
    req = GenerateRequest(_root(project_dir), scale, seed, out)
    result = _run(reporter, debug, lambda: run_generate(req))
    reporter.rows(f"Generated {result.path} (scale {scale}, seed {seed}) in {result.seconds:.1f}s",
                  ["file", "rows"], [[f, f"{n:,}"] for f, n in result.rows.items()], result.to_dict())


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="A built model.")],
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    json_mode: JsonOpt = False,
    project_dir: ProjectOpt = Path("."),
    debug: DebugOpt = False,
) -> None:
    """Preview the first rows of a built model."""
    from leakcli.show import show_rows

    reporter = _reporter(json_mode)
    columns, rows, doc = _run(reporter, debug, lambda: show_rows(_root(project_dir), model, limit))
    reporter.rows(f"{model} (first {len(rows)} rows)", columns, rows, doc)
