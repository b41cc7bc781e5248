"""The DAG (deterministic order, cycle paths, selection) and Jinja rendering (refs by rendering,
StrictUndefined, contract helpers), with a golden file for a compiled model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from leakcli.contracts import load as contracts
from leakcli.errors import CycleError, RenderError, UsageError
from leakcli.plan.graph import select, topological_order
from leakcli.render.renderer import Renderer

GOLDEN = REPO / "tests" / "golden"

names = st.lists(st.from_regex(r"[a-z]{1,3}(__[a-z]{1,3})?", fullmatch=True), min_size=1, max_size=12,
                 unique=True)


@st.composite
def dags(draw):
    nodes = draw(names)
    # edges only from earlier to later nodes of a random permutation: always acyclic
    perm = draw(st.permutations(nodes))
    parents = {n: [p for p in perm[:i] if draw(st.booleans())] for i, n in enumerate(perm)}
    return nodes, parents


@given(dags())
@settings(max_examples=200, deadline=None)
def test_topological_order_respects_every_edge_and_is_deterministic(dag):
    nodes, parents = dag
    order = topological_order(nodes, parents)
    assert sorted(order) == sorted(nodes)
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[p] < pos[n] for n, ps in parents.items() for p in ps)
    assert topological_order(list(nodes), dict(parents)) == order


@given(names)
def test_ref_extraction_round_trips(model_names):
    from leakcli.render.renderer import Renderer

    shipped = contracts.load(REPO)

    class Fake:
        root = Path(".")
        catalog = shipped.catalog
        joins = shipped.joins
        phase_plan = shipped.phase_plan
        models = {n: {} for n in model_names}
        digests: dict[str, str] = {}

    r = Renderer(Fake())  # type: ignore[arg-type]
    # no other word of the text can be a model name of the strategy (at most 3 letters a part)
    text = "select 1 from " + ", ".join(f"{{{{ ref('{n}') }}}}" for n in model_names)
    out = r.render_text("m", "m.sql", text)
    assert out.refs == model_names
    assert all(f'"{n}"' in out.sql for n in model_names)
    assert out.literal_names == []


def test_ties_follow_the_given_order():
    assert topological_order(["c", "a", "b"], {"c": ["a"], "b": ["a"]}) == ["a", "c", "b"]


def test_cycle_names_its_path():
    with pytest.raises(CycleError) as info:
        topological_order(["x", "y", "z", "w"], {"x": ["z"], "y": ["x"], "z": ["y"], "w": ["x"]})
    assert str(info.value) == "dependency cycle: x -> y -> z -> x"


def test_select_operators_and_errors():
    nodes = ["a", "b", "c", "d"]
    parents = {"b": ["a"], "c": ["b"], "d": ["a"]}
    assert select(["b"], nodes, parents) == {"b"}
    assert select(["+c"], nodes, parents) == {"a", "b", "c"}
    assert select(["a+"], nodes, parents) == {"a", "b", "c", "d"}
    assert select(["b+ d"], nodes, parents) == {"b", "c", "d"}  # a space joins (dbt)
    assert select(["b+,c"], nodes, parents) == {"c"}  # a comma intersects (dbt)
    assert select(["a+1"], nodes, parents) == {"a", "b", "d"}
    assert select(["@b"], nodes, parents) == {"a", "b", "c"}
    assert select(["*"], nodes, parents, exclude=["a+1"]) == {"c"}
    with pytest.raises(UsageError, match="'e' matches no model") as refused:
        select(["e"], nodes, parents)
    assert refused.value.one_line().startswith("--select: 'e' matches no model")


@pytest.fixture
def renderer():
    return Renderer(contracts.load(REPO))


def test_undefined_names_fail_with_template_and_line(renderer):
    with pytest.raises(RenderError) as info:
        renderer.render_text("m", "templates/m.sql", "select 1\nfrom {{ not_a_helper }}\n")
    assert info.value.file == "templates/m.sql" and info.value.line == 2
    assert "'not_a_helper' is undefined" in info.value.message


def test_syntax_error_names_the_line(renderer):
    with pytest.raises(RenderError) as info:
        renderer.render_text("m", "templates/m.sql", "select\n{{ ref('a' }}\n")
    assert info.value.line == 2 and info.value.message.startswith("Jinja syntax error")


def test_unknown_var_and_metric(renderer):
    with pytest.raises(RenderError, match="var\\('min_session'\\) is neither a threshold nor a label"):
        renderer.render_text("m", "t.sql", "{{ var('min_session') }}")
    with pytest.raises(RenderError, match="metric\\('cvr'\\) is not in contracts/metric-catalog.json"):
        renderer.render_text("m", "t.sql", "{{ metric('cvr') }}")


def test_join_renders_the_contract(renderer):
    out = renderer.render_text("int__session_outcomes", "t.sql", "{{ join('order_refunds') }}")
    assert out.sql.strip() == 'left join "int__order_refunds" as r on r."order_id" = o."order_id"'
    assert out.refs == ["int__order_refunds"]


def test_refs_are_collected_by_rendering(renderer):
    out = renderer.render_model("int__session_outcomes")
    assert out.refs == ["stg__website_sessions", "int__session_landing_pages", "stg__orders",
                        "int__order_refunds"]
    assert out.sources == [] and out.literal_names == []
    assert renderer.render_model("stg__orders").sources == [("maven", "orders")]


@pytest.mark.parametrize("model", ["int__session_outcomes", "mart__core_leak_summary", "mart__priority_actions"])
def test_compiled_sql_matches_golden(renderer, model):
    sql = renderer.render_model(model).sql
    golden = GOLDEN / f"{model}.sql"
    header = f"-- title: compiled {model} (regenerate with LEAKCLI_REGOLD=1 and review the diff)\n"
    if os.environ.get("LEAKCLI_REGOLD"):
        golden.write_text(header + sql)
    assert golden.read_text() == header + sql


def test_model_names_in_comments_and_strings_are_not_literal_references(renderer):
    text = "-- built from stg__orders\nselect 'stg__orders' as note /* stg__orders */\nfrom {{ ref('stg__orders') }}"
    out = renderer.render_text("m", "t.sql", text)
    assert out.literal_names == []
    out = renderer.render_text("m", "t.sql", "select * from stg__orders")
    assert out.literal_names == ["stg__orders"]
