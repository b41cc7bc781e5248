"""At ten times the shop and beyond (opt-in: LEAKCLI_SCALE=10 python -m pytest tests/test_scale.py -s).

Generates the synthetic shop at that scale, then plan, apply and verify it under the project's
memory limit, and compares both marts with the independent computation of the spec. Kept out of the
default run (minutes of work): the `scale` marker."""

from __future__ import annotations

import math
import os

import pytest
import spec_oracle
from conftest import make_project

SCALE = float(os.environ.get("LEAKCLI_SCALE", "0"))
pytestmark = [pytest.mark.scale,
              pytest.mark.skipif(not SCALE, reason="set LEAKCLI_SCALE (e.g. 10) to run the scale checks")]


def test_plan_apply_verify_at_scale_and_marts_match_the_spec(tmp_path_factory, leak, monkeypatch):
    data = tmp_path_factory.mktemp("data") / f"scale-{SCALE:g}"
    project = make_project(tmp_path_factory.mktemp("scale") / "proj", data=None)
    monkeypatch.chdir(project.root)
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(min_sessions=100, min_orders=10))
    assert leak("generate", "--scale", f"{SCALE:g}", "--out", str(data)).exit_code == 0
    assert leak("plan", "--data-dir", str(data)).exit_code == 0
    assert leak("apply", "--data-dir", str(data)).exit_code == 0
    out = leak("verify", "--json")
    assert out.exit_code == 0 and out.json()["summary"]["passed"] == 15
    thresholds = project.read_json("contracts/metric-catalog.json")["thresholds"]
    expected = spec_oracle.summary(data, thresholds)
    got = {(r["session_month"], r["utm_source"], r["utm_campaign"], r["device_type"], r["landing_page"]): r
           for r in project.rows("select * from mart__core_leak_summary")}
    assert set(got) == set(expected)
    close = lambda a, b: a is b if a is None or b is None else (  # noqa: E731
        math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.01) if isinstance(a, float) or isinstance(b, float)
        else a == b)
    assert [(k, col) for k, row in expected.items() for col, v in row.items() if not close(got[k][col], v)] == []
    prio = spec_oracle.priority(expected, thresholds)
    rows = project.rows("select * from mart__priority_actions order by priority_rank")
    assert [(e["priority_rank"], col) for r, e in zip(rows, prio, strict=True) for col, v in e.items()
            if not close(r[col], v)] == []
