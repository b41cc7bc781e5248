"""What leakcli remembers between runs (target/.cache/leakcli.json, leakcli/cache.py): one object,
one switch. With the cache off (--no-cache, LEAKCLI_NO_CACHE=1) every answer is the same, only slower;
a cache that is damaged, forged or of another version is ignored, never trusted."""

from __future__ import annotations

import json

import pytest

CACHE = "target/.cache/leakcli.json"


def _marts(project) -> dict[str, list[tuple]]:
    return {m: project.query(f'select * from "{m}" order by all')
            for m in ("mart__core_leak_summary", "mart__priority_actions")}


def _plan(leak, *args: str, env: dict[str, str] | None = None) -> dict:
    doc = leak("plan", "--json", *args, env=env).json()
    return {"fingerprint": doc["fingerprint"], "models": [(m["name"], m["action"]) for m in doc["models"]],
            "questions": [(a["code"], a["location"]) for a in doc["ambiguities"]]}


@pytest.mark.parametrize("switch", ["--no-cache", "LEAKCLI_NO_CACHE=1"])
def test_the_cache_off_gives_the_same_plan_and_marts_and_keeps_nothing(project, leak, switch):
    args, env = ((switch,), None) if switch.startswith("--") else ((), {"LEAKCLI_NO_CACHE": "1"})
    assert leak("apply", *args, env=env).exit_code == 0
    assert not (project.root / CACHE).exists()  # nothing kept
    uncached = _marts(project)
    cold = _plan(leak, *args, env=env)

    assert leak("apply", "--full-refresh").exit_code == 0  # the same data, with the cache on
    assert (project.root / CACHE).is_file()
    assert _marts(project) == uncached
    cached = _plan(leak)
    assert cached["models"] == [(name, "unchanged") for name, _ in cold["models"]]
    assert _plan(leak, *args, env=env) == cached  # off again, after a build with it: the same plan
    assert cached["questions"] == cold["questions"]


def test_with_the_cache_off_nothing_is_taken_from_it(project, leak):
    from leakcli.progress import counting

    assert leak("apply").exit_code == 0
    with counting() as seen:
        leak("plan")
    assert seen["sql parsed"] == 0 and seen["database opened"] == 0  # the cache and state.json stand in
    with counting() as seen:
        leak("plan", "--no-cache")
    assert seen["sql parsed"] >= 9 and seen["database opened"] >= 1  # everything asked anew


@pytest.mark.parametrize("damage", ["not json", "another version", "forged entries"])
def test_a_damaged_or_foreign_cache_is_ignored(project, leak, damage):
    assert leak("apply").exit_code == 0
    before = _marts(project)
    path = project.root / CACHE
    if damage == "not json":
        path.write_text("{ not json")
    elif damage == "another version":
        project.edit_json(CACHE, lambda doc: doc.update(version=99))
    else:  # each section of the right version, every entry of the wrong shape
        def forge(doc: dict) -> None:
            for section in doc.values():
                if isinstance(section, dict):
                    section["entries"] = {k: {"identity": "x"} for k in section["entries"]}
        project.edit_json(CACHE, forge)
    plan = leak("plan", "--json")
    assert plan.exit_code == 0, plan.stderr
    assert {m["action"] for m in plan.json()["models"]} == {"unchanged"}
    assert leak("apply", "--full-refresh").exit_code == 0
    assert _marts(project) == before
    assert json.loads(path.read_text())["version"] == 3  # written whole again by apply
