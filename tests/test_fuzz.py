"""Fuzzing: perturbed fixture CSVs and mutated contracts end in success or in a LeakError with a
documented exit code, never in any other exception. LEAKCLI_FUZZ_EXAMPLES sets a longer run."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from conftest import make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakcli.errors import ExitCode, LeakError

EXAMPLES = int(os.environ.get("LEAKCLI_FUZZ_EXAMPLES", "20"))
CSVS = ["website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv"]
CONTRACTS = ["contracts/source-manifest.json", "contracts/model-registry.json", "contracts/metric-catalog.json",
             "contracts/join-contracts.json", "contracts/acceptance-tests.json", "contracts/decisions.json",
             "contracts/unit-tests.json", "ir/stage-01.json", "phase-plan.json"]
DOCUMENTED = {ExitCode.TESTS_FAILED, ExitCode.USAGE, ExitCode.EXECUTION}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=not os.environ.get("LEAKCLI_FUZZ_EXAMPLES"))

csv_edit = st.tuples(
    st.sampled_from(CSVS),
    st.sampled_from(["byte", "drop_line", "dup_line", "truncate", "swap_header", "blank_field"]),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from([b",", b"\n", b"\r\n", b"\xff", b"N/A", b'"', b"", b"-1", b"9" * 30, b"NULL", b"x", b"\t"]),
)
json_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8),
                        st.lists(st.text(max_size=4), max_size=2))
contract_edit = st.tuples(st.sampled_from(CONTRACTS), st.sampled_from(["delete", "replace", "rename"]),
                          st.integers(min_value=0, max_value=10_000), json_values)


def _perturb_csv(path: Path, kind: str, pos: int, token: bytes) -> None:
    data = path.read_bytes()
    lines = data.split(b"\n")
    if kind == "byte" and data:
        i = pos % len(data)
        data = data[:i] + token + data[i + 1:]
    elif kind == "drop_line" and len(lines) > 1:
        del lines[pos % len(lines)]
        data = b"\n".join(lines)
    elif kind == "dup_line" and len(lines) > 1:
        i = 1 + pos % (len(lines) - 1)
        lines.insert(i, lines[i])
        data = b"\n".join(lines)
    elif kind == "truncate":
        data = data[: pos % (len(data) + 1)]
    elif kind == "swap_header":
        head = lines[0].split(b",")
        i, j = pos % len(head), (pos // 7) % len(head)
        head[i], head[j] = head[j], head[i]
        data = b"\n".join([b",".join(head), *lines[1:]])
    elif kind == "blank_field" and len(lines) > 2:
        i = 1 + pos % (len(lines) - 2)
        fields = lines[i].split(b",")
        fields[pos % len(fields)] = token
        lines[i] = b",".join(fields)
        data = b"\n".join(lines)
    path.write_bytes(data)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _mutate_json(path: Path, kind: str, pos: int, value) -> None:
    doc = json.loads(path.read_text())
    candidates = [p for p in _paths(doc) if p]
    target = candidates[pos % len(candidates)]
    parent = doc
    for key in target[:-1]:
        parent = parent[key]
    last = target[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif isinstance(parent, dict):
        parent[str(value) + "_renamed"] = parent.pop(last)
    path.write_text(json.dumps(doc))


def _run(root: Path) -> None:
    """plan, apply and verify, each on its own: success or a documented LeakError."""
    from leakcli.commands.apply import ApplyRequest, apply
    from leakcli.commands.verify import verify
    from leakcli.context import Project as Context
    from leakcli.plan.planner import PlanRequest, build_plan

    for step in (lambda: build_plan(Context.at(root), PlanRequest()), lambda: apply(Context.at(root), ApplyRequest()),
                 lambda: verify(Context.at(root))):
        try:
            step()
        except LeakError as exc:
            assert exc.exit_code in DOCUMENTED, exc
            assert exc.one_line() and "\n" not in exc.one_line()


@FUZZ
@given(st.lists(csv_edit, min_size=1, max_size=3))
def test_perturbed_csvs_never_crash(edits):
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "proj")
        for name, kind, pos, token in edits:
            _perturb_csv(project.raw / name, kind, pos, token)
        _run(project.root)


@FUZZ
@given(st.lists(contract_edit, min_size=1, max_size=2))
def test_mutated_contracts_never_crash(edits):
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "proj")
        _build(project.root)  # a good build first, so verify meets the mutated contracts too
        for rel, kind, pos, value in edits:
            _mutate_json(project.root / rel, kind, pos, value)
        _run(project.root)


_BUILT: dict[str, Path] = {}


def _build(root: Path) -> None:
    """Copy a good build of the fixture project (made once) into `root`'s target/."""
    from leakcli.commands.apply import ApplyRequest, apply
    from leakcli.context import Project as Context

    if "target" not in _BUILT:
        cache = Path(tempfile.mkdtemp()) / "proj"
        shutil.copytree(root, cache)
        apply(Context.at(cache), ApplyRequest())
        _BUILT["target"] = cache / "target"
    shutil.copytree(_BUILT["target"], root / "target")
