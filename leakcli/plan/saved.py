"""The plan apply carries out: made once, from the request or from a plan saved by `plan --out`
(written whole, never over what is not a saved plan, read back against the Plan model, refused when
any of its inputs changed), after the synthetic default is written when it is the dataset."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts import load as contracts
from leakcli.contracts.records import Plan
from leakcli.errors import ContractError, StalePlanError, UsageError
from leakcli.files import read_bytes, read_json_file
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.sources.checks import SourceChecks
from leakcli.plan.planner import PlanRequest, build_plan, plan_and_checks
from leakcli.store.layout import guard_file, write_output


def _is_saved_plan(path: Path) -> bool:
    doc = read_json_file(path)
    return isinstance(doc, dict) and doc.get("schema_version") == 1 and "inputs" in doc and "models" in doc


def load_saved(path: Path) -> Plan:
    """A plan saved by `plan --out`, checked against the Plan model; anything else is one clear error."""
    shown = str(path)
    try:
        raw = read_bytes(path)
    except FileNotFoundError:
        raise UsageError("saved plan does not exist", file=shown) from None
    except IsADirectoryError:
        raise UsageError("saved plan is a directory, not a file written by `leakcli plan --out`",
                         file=shown) from None
    except OSError as exc:
        raise UsageError(f"cannot read the saved plan: {exc.strerror}", file=shown) from None
    doc = contracts.parse_json(raw, shown)
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or "inputs" not in doc:
        raise ContractError("not a saved leakcli plan (run `leakcli plan --out FILE`)", file=shown)
    plan, problems = contracts.validate(Plan, doc, shown)
    if plan is None:
        raise ContractError(f"saved plan does not match the plan schema: {problems[0].message}",
                            file=shown, pointer=problems[0].pointer)
    if any(m.parts is None or not m.sql for m in plan.models if m.action in ("create", "rebuild")):
        raise ContractError("saved plan holds no SQL: save it with `leakcli plan --out FILE`", file=shown)
    return plan


def save_plan(plan: Plan, out: Path, paths: Paths, *, force: bool = False) -> None:
    """Write the plan, with the SQL apply will run, for `apply PLAN_FILE`; never over a database, a
    link or a file that is not a saved plan (unless `force`)."""
    out = Path.cwd() / out
    guard_file(out, paths.rel(out), ours=_is_saved_plan(out), force=force, target=paths.target,
               what="a plan saved by leakcli plan")
    write_output(paths.target, out, paths.rel(out), json.dumps(plan.to_dict(with_sql=True), indent=2) + "\n",
                 "the plan")


def plan_and_save(project: Project, req: PlanRequest, out: Path | None, *, force: bool = False) -> Plan:
    """`leakcli plan`: the plan of `req`, saved to `out` (with the SQL apply will run) when given."""
    plan = build_plan(project, req)
    if out is not None:
        save_plan(plan, out, project.paths, force=force)
    return plan


def saved_request(saved: Plan, root: Path) -> PlanRequest:
    """The request a saved plan was made from, to plan it again now and compare."""
    data = saved.dataset
    data_dir = str(root / data.path) if data.origin in ("option", "environment", "published") else None
    return PlanRequest(data_dir=data_dir, select=tuple(saved.select), full_refresh=saved.full_refresh,
                       exclude=None if saved.exclude is None else tuple(saved.exclude),  # an absolute path stays
                       synthetic=data.origin == "synthetic_option")


def stale_reasons(saved: Plan, fresh: Plan) -> list[str]:
    """What changed since `saved` was made: its inputs, or the built database it was made against."""
    reasons = []
    for path in sorted(set(saved.inputs) | set(fresh.inputs)):
        before, now = saved.inputs.get(path), fresh.inputs.get(path)
        if before == now or before == "pending":
            continue
        if before is None:
            reasons.append(f"{path} is new")
        elif now is None:
            reasons.append(f"{path} is gone")
        else:
            reasons.append(f"{path} changed")
    if not reasons and [(m.name, m.action) for m in saved.models] != [(m.name, m.action) for m in fresh.models]:
        reasons.append("the built database changed since the plan")
    steps = {m.name: m for m in fresh.models} if not reasons else {}  # changed inputs change the SQL anyway
    for step in saved.models:  # a plan file edited by hand: apply runs what the project says, or nothing
        other = steps.get(step.name)
        # a plan of the synthetic default not written yet knew no sha256: its fingerprints differ, its SQL not
        mine = (step.sql,) if saved.dataset.pending else (step.sql, step.fingerprint)
        if other is not None and step.action in ("create", "rebuild") and mine != (
                (other.sql,) if saved.dataset.pending else (other.sql, other.fingerprint)):
            reasons.append(f"the SQL of {step.name} in it is not what the project renders (was it edited?)")
    return reasons


def plan_for_apply(project: Project, req: PlanRequest, plan_file: Path | None,
                   materialize: Callable[[], None]) -> tuple[Plan, SourceChecks]:
    """The plan apply carries out, made once: from `req`, or from the saved plan `plan_file`, which
    must still be current. When its dataset is the synthetic default and not written yet,
    `materialize` (apply's) writes it first; the plan is then made of the files as they are."""
    saved = load_saved(plan_file) if plan_file is not None else None
    fresh = saved_request(saved, project.root) if saved is not None else req
    # a saved plan names each file's sha256: they are hashed before anything else
    plan, checks = plan_and_checks(project, fresh, defer=True, hash_later=saved is None, materialize=materialize)
    if saved is not None:
        reasons = stale_reasons(saved, plan)
        if reasons:
            raise StalePlanError(f"saved plan is stale: {'; '.join(reasons)}",
                                 file=str(plan_file))
    return plan, checks
