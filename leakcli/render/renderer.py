"""Render the Jinja SQL templates of the registry (StrictUndefined, in the sandbox of sandbox.py).

Templates reach generated models with `{{ ref('m') }}` and raw files with `{{ source('maven', 't') }}`;
both are recorded while rendering, so the DAG comes from rendering, not from guessing. Everything
else a template needs (thresholds, labels, metric formulas, joins, the priority rule and action
texts) comes from the contracts through the helpers below.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, TypeVar

from leakcli.contracts.load import Contracts, inside
from leakcli.engine.sqltext import quote_ident, source_relation, sql_literal
from leakcli.errors import RenderError
from leakcli.files import read_text
from leakcli.progress import count
from leakcli.render import sandbox

if TYPE_CHECKING:
    from jinja2 import Environment, Template

    from leakcli.cache import Cache, Section

T = TypeVar("T")
Helper = Callable[..., str]
SENTINEL = "\x00ref:{}\x00"
SENTINEL_RE = re.compile("\x00ref:([^\x00]*)\x00")
SOURCE_SEP = "\x01"
JINJA_DELIMITERS = ("{{", "{%", "{#", "}}", "%}", "#}")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}")


@dataclass
class Rendered:
    """One template rendered: its SQL, and the refs, sources, metrics and joins rendering found."""

    name: str
    template: str
    sql: str
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    literal_names: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    text_sha256: str = ""  # of the template as read
    raw: str = ""  # the SQL with ref() and source() as markers: resolve() puts other relations in their place

    def resolve(self, relation: Callable[[str, str | None], str]) -> str:
        """The SQL with each `ref('m')` as `relation(m, None)` and each `source('s', 't')` as
        `relation(s, t)` (an incremental build reads some relations restricted to a partition)."""
        def one(m: re.Match[str]) -> str:
            name, sep, table = m.group(1).partition(SOURCE_SEP)
            return relation(name, table if sep else None)

        return SENTINEL_RE.sub(one, self.raw).strip() + "\n"



@functools.cache
def _code_digest() -> str:
    """What rendering is made of on leakcli's side: this module, the sandbox and the SQL quoting."""
    from pathlib import Path

    from leakcli.engine import sqltext as sql

    digest = hashlib.sha256()
    for module in (__file__, sandbox.__file__, sql.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def render_memo(cache: Cache) -> Section:
    """This module's section of the cache: render key -> a Rendered's fields."""
    return cache.section("render", "1")


def renderer_for(contracts: Contracts, memo: Section | None = None) -> Renderer:
    """The one renderer of these contracts in this command: each template renders once; `memo`
    remembers renders across commands."""
    return _renderers(contracts, memo)


@functools.lru_cache(maxsize=4)
def _renderers(contracts: Contracts, memo: Section | None) -> Renderer:
    return Renderer(contracts, memo=memo)


class Renderer:
    """`dbt`: render for a dbt project, where ref() and source() stay dbt's own calls and the rest
    of the text is kept from Jinja (`leakcli export dbt`)."""

    def __init__(self, contracts: Contracts, *, dbt: bool = False, memo: Section | None = None) -> None:
        self.contracts = contracts
        self.memo = memo
        self.dbt = dbt
        self.catalog = contracts.catalog
        self.seconds = contracts.phase_plan.engine.render_seconds  # one template or fragment
        self.metrics = {m.name: m for m in self.catalog.metrics}
        self._models: dict[str, Rendered] = {}
        self.joins = {j.name: j for j in contracts.joins.joins}
        self._templates: dict[str, Template] = {}
        # what rendering reads besides a template's text (no digests: contracts made in memory, not cached)
        self._key_base = json.dumps([_code_digest(), sorted(contracts.digests.items())]) \
            if contracts.digests and not dbt and memo is not None else None

    @functools.cached_property
    def env(self) -> Environment:
        """The sandboxed Jinja environment, made (and Jinja imported) only when a template must
        compile: renders the cache knows need neither."""
        from jinja2 import Environment

        env = sandbox.environment()
        assert isinstance(env, Environment)
        return env

    def with_contracts(self, contracts: Contracts) -> Renderer:
        """A renderer of other contracts (a unit test's catalog with its vars) that shares this one's
        compiled templates: only rendering is done again, never compiling."""
        other = Renderer(contracts, dbt=self.dbt, memo=self.memo)
        other._templates = self._templates
        if "env" in self.__dict__:
            other.__dict__["env"] = self.env
        return other

    # -- public -----------------------------------------------------------------------------------
    def template(self, text: str) -> Template:
        """`text` compiled once per renderer (a metric's fragment is used by many models)."""
        if text not in self._templates:
            self._templates[text] = self.env.from_string(text)
        return self._templates[text]

    def render_model(self, name: str) -> Rendered:
        """The model's template rendered (once per renderer)."""
        if name not in self._models:
            self._models[name] = self._render_model(name)
        return self._models[name]

    def _render_model(self, name: str) -> Rendered:
        model = self.contracts.models[name]
        path = model.template
        if not inside(self.contracts.root, path):
            raise RenderError(f"template of model '{name}' points outside the project", file=path, model=name)
        try:
            text = read_text(self.contracts.root / path)
        except FileNotFoundError:
            raise RenderError(
                f"template of model '{name}' is missing", file=path, model=name
            ) from None
        except UnicodeDecodeError as exc:
            raise RenderError(f"template is not UTF-8 (at byte {exc.start})", file=path, model=name,
                              hint="save it as UTF-8") from None
        except OSError as exc:
            raise RenderError(f"cannot read template: {exc.strerror or exc}", file=path, model=name) from None
        return self.render_text(name, path, text)

    def render_sql(self, label: str, text: str) -> Rendered:
        """Render a snippet (an acceptance-test query) with the same helpers."""
        return self.render_text(label, label, text)

    def render_text(self, name: str, path: str, text: str) -> Rendered:
        """`text` rendered; what rendered before from the same text, contracts and leakcli code comes
        from the cache without running Jinja (a template that fails is never cached)."""
        if self._key_base is None or self.memo is None:
            return self._render_text(name, path, text)
        key = hashlib.sha256(json.dumps([self._key_base, name, path, text]).encode()).hexdigest()
        out = _remembered(self.memo.get(key))
        if out is None:
            out = self._render_text(name, path, text)
            self.memo.put(key, asdict(out))
        return out

    def _render_text(self, name: str, path: str, text: str) -> Rendered:
        from jinja2 import TemplateError, TemplateSyntaxError
        from jinja2.exceptions import SecurityError

        count(f"template rendered: {name}")
        out = Rendered(name=name, template=path, sql="")
        try:
            if any(mark in text for mark in ("{{", "{%", "{#")):
                raw = sandbox.render(self.template(text), dict(self._context(out)), self.seconds)
            else:  # no Jinja in it: it renders to itself (keep_trailing_newline, no line statements)
                raw = text
        except SecurityError as exc:
            what = "reaches Python internals" if "unsafe" in str(exc) else "is refused by the sandbox"
            raise RenderError(f"{what}: {exc}", file=path, line=_template_line(exc), model=name) from None
        except OverflowError as exc:
            raise RenderError(f"a loop or value is too large: {exc}", file=path, line=_template_line(exc),
                              model=name) from None
        except sandbox.RenderTimeout as exc:
            raise RenderError(f"rendering takes more than {self.seconds:g} s: is a loop too large?",
                              file=path, line=_template_line(exc), model=name) from None
        except RecursionError:
            raise RenderError("rendering recurses too deeply", file=path, model=name) from None
        except TemplateSyntaxError as exc:
            raise RenderError(
                f"Jinja syntax error: {exc.message}", file=path, line=exc.lineno, model=name
            ) from None
        except RenderError as exc:
            exc.file = exc.file or path
            exc.model = name
            exc.line = exc.line or _template_line(exc)
            raise
        except TemplateError as exc:
            raise RenderError(
                f"cannot render: {exc.message}", file=path, line=_template_line(exc), model=name
            ) from None
        out.text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        out.literal_names = self._literal_model_names(SENTINEL_RE.sub("", raw))
        out.raw = raw
        out.sql = _dbt_text(raw).strip() + "\n" if self.dbt else out.resolve(_relation)
        return out

    # -- helpers exposed to templates --------------------------------------------------------------
    def _context(self, out: Rendered) -> dict[str, Helper]:
        """Every name a template may call: the graph (ref, source), the catalog's rules, the priority rule."""
        context = self._graph_helpers(out)
        context.update(self._catalog_helpers(out, context))
        context.update(self._priority_helpers(context))
        return context

    def _graph_helpers(self, out: Rendered) -> dict[str, Helper]:
        """ref() and source(), recorded while rendering: the DAG comes from rendering."""
        def ref(name: str) -> str:
            if name not in out.refs:
                out.refs.append(name)
            return SENTINEL.format(name)

        def source(source_name: str, table: str) -> str:
            if (source_name, table) not in out.sources:
                out.sources.append((source_name, table))
            return SENTINEL.format(f"{source_name}{SOURCE_SEP}{table}")

        return {"ref": ref, "source": source}

    def _catalog_helpers(self, out: Rendered, context: dict[str, Helper]) -> dict[str, Helper]:
        """Thresholds and labels, metric formulas, joins, totals and baselines of the contracts."""
        catalog = self.catalog
        baselines = {b.name: b for b in catalog.baselines}

        def var(name: str) -> str:
            for section in (catalog.thresholds.model_dump(), catalog.labels):
                if name in section:
                    return sql_literal(section[name])
            raise RenderError(f"var('{name}') is neither a threshold nor a label of the metric catalog")

        def metric(name: str) -> str:
            if name not in self.metrics:
                raise RenderError(f"metric('{name}') is not in contracts/metric-catalog.json")
            if name not in out.metrics:
                out.metrics.append(name)
            return "(" + sandbox.render(self.template(self.metrics[name].sql), dict(context), self.seconds) + ")"

        def join(name: str) -> str:
            if name not in self.joins:
                raise RenderError(f"join('{name}') is not in contracts/join-contracts.json")
            j = self.joins[name]
            out.joins.append(name)
            on = " and ".join(f"{j.right.alias}.{quote_ident(rk)} = {j.left.alias}.{quote_ident(lk)}"
                              for lk, rk in zip(j.left.keys, j.right.keys, strict=False))
            return f"{j.type} join {context['ref'](j.right.model)} as {j.right.alias} on {on}"

        def measure_columns(prefix: str = "") -> str:
            """The catalog's measures, each `metric(m) as prefix + m`."""
            return ",\n        ".join(f"{metric(m)} as {quote_ident(prefix + m)}" for m in catalog.measures)

        def totals() -> str:
            return ",\n        ".join(f"cast(sum({quote_ident(t.column)}) as {t.type}) as {quote_ident(t.column)}"
                                      for t in catalog.totals)

        return {"var": var, "metric": metric, "join": join, "measure_columns": measure_columns,
                "totals": totals,
                "baseline_prefix": lambda name: _lookup(baselines, name, "baseline_prefix").prefix}

    def _priority_helpers(self, context: dict[str, Helper]) -> dict[str, Helper]:
        """The priority rule: scopes and their baselines, the (all) label, the expected sums, statuses,
        rank order, primary leak and action texts."""
        priority = self.catalog.priority
        scopes = {s.name: s for s in priority.scopes}
        baselines = {b.name: b for b in self.catalog.baselines}

        def fragment(text: str) -> str:
            """A condition of the catalog, rendered with the same helpers (var() and the labels)."""
            return "(" + sandbox.render(self.template(text), dict(context), self.seconds) + ")"

        def expected_sums(name: str) -> str:
            """Each expected sum of the catalog at the baseline of scope `name`, in the same months."""
            scope = _lookup(scopes, name, "expected_sums")
            prefix = _lookup(baselines, scope.baseline, "expected_sums").prefix
            return ",\n        ".join(f"{e.sql.replace('{x}', prefix)} as {quote_ident(e.column)}"
                                      for e in priority.expectation)

        def primary_leak() -> str:
            """Fixed for a scope that names its primary leak; else the largest leak, ties in order."""
            leaks = priority.leaks
            whens = [f"when action_scope = {sql_literal(s.name)} then {sql_literal(s.primary_leak)}"
                     for s in priority.scopes if s.primary_leak]
            for i, leak in enumerate(leaks[:-1]):
                later = " and ".join(f"{leak.column} >= {o.column}" for o in leaks[i + 1 :])
                whens.append(f"when {later} then {sql_literal(leak.name)}")
            return f"case {' '.join(whens)} else {sql_literal(leaks[-1].name)} end"

        def action_status() -> str:
            """The first status whose condition holds, in the catalog's order."""
            whens = [f"when {fragment(st.when)} then {sql_literal(st.name)}" for st in priority.statuses]
            return f"case {' '.join(whens)} end"

        def recommended_action() -> str:
            """The catalog's text for the row's status and primary leak (the unpaid one for unpaid traffic)."""
            unpaid = fragment(priority.unpaid.when) if priority.unpaid else None
            whens = []
            for t in priority.texts:
                match = (f"action_status = {sql_literal(t.status)} and primary_leak in "
                         f"({', '.join(sql_literal(leak) for leak in t.leaks)})")
                if t.unpaid_text and unpaid:
                    whens.append(f"when {match} and {unpaid} then {self.format_text(t.unpaid_text)}")
                whens.append(f"when {match} then {self.format_text(t.text)}")
            return f"case {' '.join(whens)} end"

        def priority_order() -> str:
            terms = []
            for r in priority.rank_by:
                column = quote_ident(r.column)
                if r.values:
                    column = f"list_position([{', '.join(sql_literal(v) for v in r.values)}], {column})"
                if r.when:  # a term of some rows only (e.g. of one status): the others have none, last
                    terms.append(f"case when {fragment(r.when)} then {column} end {r.order} nulls last")
                else:
                    terms.append(f"{column} {r.order}")
            return ", ".join(terms)

        return {
            "any_flag": lambda: "(" + " or ".join(priority.flag_columns) + ")",
            "all_label": lambda: sql_literal(priority.all_label),
            "scope": lambda name: sql_literal(_lookup(scopes, name, "scope").name),
            "scope_gap": lambda name: quote_ident(_lookup(scopes, name, "scope_gap").gap),
            "scope_keep": lambda name: "(" + _lookup(scopes, name, "scope_keep").keep + ")",
            "expected_sums": expected_sums,
            "priority_order": priority_order,
            "primary_leak": primary_leak,
            "action_status": action_status,
            "recommended_action": recommended_action,
        }

    def format_text(self, text: str) -> str:
        """An action text with `{column}` and `{column:format}` placeholders as one SQL expression;
        each format is the catalog's SQL for `{value}` (contracts/metric-catalog.json#/formats)."""
        formats = self.catalog.formats
        pieces: list[str] = []
        last = 0
        for m in PLACEHOLDER_RE.finditer(text):
            column, kind = m.group(1), m.group(2) or "text"
            if kind not in formats:
                raise RenderError(f"placeholder '{m.group(0)}' names format '{kind}', which is not in "
                                  f"contracts/metric-catalog.json#/formats")
            if m.start() > last:
                pieces.append(sql_literal(text[last : m.start()]))
            pieces.append("(" + formats[kind].sql.replace("{value}", quote_ident(column)) + ")")
            last = m.end()
        if last < len(text):
            pieces.append(sql_literal(text[last:]))
        return "concat(" + ", ".join(pieces) + ")"

    def _literal_model_names(self, sql: str) -> list[str]:
        """Generated models named in the SQL itself (outside comments and string literals)."""
        sql = re.sub(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)
        names = []
        for name in self.contracts.models:
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", sql):
                names.append(name)
        return names


def _relation(name: str, table: str | None) -> str:
    """The relation a model reads for ref(name), or for source(name, table)."""
    return quote_ident(name if table is None else source_relation(name, table))


def _remembered(known: object) -> Rendered | None:
    """A render the cache kept, if it has exactly the shape of one (a damaged entry is none)."""
    text = ("name", "template", "sql", "text_sha256", "raw")
    lists = ("refs", "literal_names", "metrics", "joins")
    if not isinstance(known, dict) or set(known) != {*text, *lists, "sources"}:
        return None
    if not all(isinstance(known[k], str) for k in text) or not all(
            isinstance(known[k], list) and all(isinstance(v, str) for v in known[k]) for k in lists):
        return None
    sources = known["sources"]
    if not isinstance(sources, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in sources):
        return None
    return Rendered(**{k: known[k] for k in (*text, *lists)}, sources=[(s, t) for s, t in sources])


def _lookup(table: dict[str, T], name: str, what: str) -> T:
    if name not in table:
        raise RenderError(f"{what}('{name}') is not in contracts/metric-catalog.json")
    return table[name]


def action_placeholders(text: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER_RE.finditer(text)]


def action_formats(text: str) -> list[str]:
    return [m.group(2) for m in PLACEHOLDER_RE.finditer(text) if m.group(2)]


def _dbt_text(raw: str) -> str:
    """The rendered SQL for dbt: `{{ ref('m') }}` and `{{ source('s', 't') }}` in place of the
    relations; any other text that Jinja would read as its own is kept raw."""
    parts = SENTINEL_RE.split(raw)  # text, name, text, name, ..., text
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            if SOURCE_SEP in part:
                source, table = part.split(SOURCE_SEP, 1)
                out.append(f"{{{{ source({sql_literal(source)}, {sql_literal(table)}) }}}}")
            else:
                out.append(f"{{{{ ref({sql_literal(part)}) }}}}")
        elif any(d in part for d in JINJA_DELIMITERS):
            out.append("{% raw %}" + part.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}")
                       + "{% endraw %}")
        else:
            out.append(part)
    return "".join(out)


def _template_line(exc: BaseException) -> int | None:
    """The template line of a runtime error, from the traceback frames Jinja rewrites."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
