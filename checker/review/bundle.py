"""The design-review bundle (`pgcheck report`): diagrams, catalogues and tables generated
from the model, byte-for-byte the same for the same model.

`build_bundle(settings)` returns {relative path: bytes}; the command writes it to a folder
or compares it with one. Nothing here reads a clock or an absolute path: every table is
sorted, every budget is a count of states (a time budget would make the output depend on
the machine), and the SVG comes from Graphviz `dot`, which is deterministic for one input.

Why one module of this size: the bundle is one deterministic function of the model; its
sections (diagrams, matrix, catalogues) share the settings and the explored graphs.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Bounds, Explorer
from pgcheck.checker.lang.spec import Spec, TracedModel
from pgcheck.checker.lang.types import Enum, Fifo, Ref
from pgcheck.checker.review.index_page import Link, Table, index_html
from pgcheck.checker.run.check import CheckRun, native_unavailable, run_check
from pgcheck.checker.traces.itf import trace_to_itf
from pgcheck.checker.traces.itf_read import parse_trace
from pgcheck.checker.traces.viewer import render_html
from pgcheck.model import load, make_config
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import MODES

from pgcheck import __version__

# The fields each entity kind's diagram is projected onto (docs/model.md, "State").
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "session": ("pc", "ps", "q"),
    "carrier": ("loc", "cur"),
    "sched": ("newconn", "parked", "runnable"),
}
# How a field shows in a diagram node when the value itself would split nodes by identity.
ABSTRACT = {"cur": "attached", "newconn": "len", "parked": "len", "runnable": "len"}


@dataclass(frozen=True)
class Settings:
    """What a bundle is generated from. The defaults are the committed docs/review/."""

    diagram_sessions: int = 2
    diagram_carriers: int = 2
    max_carriers: int = 3
    max_sessions: int = 5
    budget: int = 5_000_000  # distinct states per matrix configuration: a guard, not reached by the defaults
    engine: str = "auto"  # the matrix's engine: native (generated C) where a C compiler is, else python
    options: tuple[tuple[str, Any], ...] = ()

    def options_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass
class Graph:
    """A projected state machine: nodes are tuples of key-field values."""

    kind: str
    fields: tuple[str, ...]
    initial: set[tuple[str, ...]] = field(default_factory=set)
    edges: dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]] = field(default_factory=dict)

    def nodes(self) -> list[tuple[str, ...]]:
        out = set(self.initial)
        for a, b in self.edges:
            out.add(a)
            out.add(b)
        return sorted(out)

    def labels(self) -> set[str]:
        return {name for names in self.edges.values() for name in names}


# ------------------------------------------------------------------ configurations


def diagram_config(mode: str, s: Settings) -> ModelConfig:
    carriers = s.diagram_carriers if mode == "pooled" else None
    return make_config(mode, carriers, s.diagram_sessions, s.options_dict())


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def describe_config(cfg: ModelConfig) -> str:
    if cfg.mode == "pooled":
        return f"{cfg.mode}, {_n(cfg.carriers, 'carrier')} x {_n(cfg.sessions, 'session')}"
    return f"{cfg.mode}, {_n(cfg.sessions, 'session')}"


# Behaviour options that still explore in about a second at one session and show the whole
# session lifecycle: cancel, terminate, close, deep wait, idle timeout, stale generations.
LIFECYCLE_OPTIONS: dict[str, Any] = {
    "commands": ("query", "begin", "sleep"),
    "cancels": 1,
    "terminates": 1,
    "client_close": True,
    "idle_session_timeout": True,
    "reschedules": 1,
    "transport_changes": 1,
}


def lifecycle_config(mode: str, s: Settings) -> ModelConfig:
    opts = dict(LIFECYCLE_OPTIONS)
    opts.update(s.options_dict())
    return make_config(mode, 1 if mode == "pooled" else None, 1, opts)


def diagram_sets(s: Settings) -> list[tuple[str, str, ModelConfig, tuple[str, ...]]]:
    """(file prefix, mode, configuration, kinds drawn): the configured sizes with every kind,
    then one session with the lifecycle options for the session and carrier machines."""
    out = [("", m, diagram_config(m, s), tuple(KEY_FIELDS)) for m in MODES]
    out += [("lifecycle-", m, lifecycle_config(m, s), ("session", "carrier")) for m in MODES]
    return out


def options_text(cfg: ModelConfig) -> str:
    if not cfg.options:
        return "the defaults of `pgcheck list`"
    return ", ".join(f"{k}={_opt(v)}" for k, v in sorted(cfg.options.items()))


def witness_configs(s: Settings) -> list[ModelConfig]:
    """Where witness traces come from, in order: the diagram configurations, then one with
    more sessions than carriers and one with every witness's behaviour switched on."""
    rich = {"commands": ("query", "begin", "sleep"), "cancels": 1, "notifies": 1, "reschedules": 1}
    rich.update(s.options_dict())
    return [
        *(diagram_config(m, s) for m in MODES),
        make_config("pooled", 2, 3, s.options_dict()),
        make_config("pooled", 1, 1, rich),
    ]


def explore_graph(spec: Spec) -> CheckRun:
    """The whole state graph without symmetry reduction, so an edge keeps instance identity."""
    run = run_check(spec, keep_graph=True, symmetry=False, engine="python", default_trace_dir=None)
    if run.result.verdict in ("violation", "incomplete") and run.result.violation is None:
        raise UsageError(f"the diagram configuration did not finish: {run.result.stop_reason}")
    return run


# ------------------------------------------------------------------ projection


def _show(ty: Any, raw: Any, how: str | None) -> str:
    if how == "len":
        return str(len(raw))
    if how == "attached":
        return "attached" if raw >= 0 else "free"
    if isinstance(ty, Enum):
        return str(ty.values[raw])
    if isinstance(ty, Ref):
        return "-" if raw < 0 else f"{ty.kind[0]}{raw}"
    if isinstance(ty, Fifo):
        return "[" + " ".join(str(x) for x in raw) + "]"
    return str(ty.to_itf(raw))


def project(model: TracedModel, kind: str, state: tuple[Any, ...], instance: int | None) -> tuple[str, ...]:
    decl = model.kinds[kind]
    return tuple(
        _show(decl.fields[f], state[model.slot_of[(kind, instance, f)]], ABSTRACT.get(f)) for f in KEY_FIELDS[kind]
    )


def graph_of(run: CheckRun) -> Explorer:
    explorer = run.explorer
    if not isinstance(explorer, Explorer):
        raise TypeError("the report needs the explored graph of the python engine")
    return explorer


def project_graph(run: CheckRun, kind: str) -> Graph:
    """Every explored edge, seen from each instance of `kind`: an edge of the diagram where
    the instance's key fields change, labelled by the action that changed them."""
    model = run.model
    explorer = graph_of(run)
    decl = model.kinds[kind]
    instances: list[int | None] = [None] if decl.count is None else list(decl.instances)
    g = Graph(kind, KEY_FIELDS[kind])
    states = explorer.states
    init = model.init
    for i in instances:
        g.initial.add(project(model, kind, init, i))
    seen: dict[int, list[tuple[str, ...]]] = {}

    def views(fp: int) -> list[tuple[str, ...]]:
        got = seen.get(fp)
        if got is None:
            got = seen[fp] = [project(model, kind, states[fp], i) for i in instances]
        return got

    for src, bi, dst in explorer.edges:
        action = model.bindings[bi].action
        for pa, pb in zip(views(src), views(dst), strict=True):
            if pa != pb:
                g.edges.setdefault((pa, pb), set()).add(action)
    return g


# ------------------------------------------------------------------ rendering diagrams


def _node_text(node: tuple[str, ...]) -> str:
    return " · ".join(node)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: Graph, title: str) -> str:
    nodes = g.nodes()
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}
    out = [
        f"digraph {g.kind} {{",
        f"  label={_dot_quote(title)};",
        "  labelloc=t; rankdir=TB; fontname=Helvetica;",
        "  node [shape=box, style=rounded, fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=8];",
        "  start [shape=point];",
    ]
    for n in nodes:
        extra = ", penwidth=2" if n in g.initial else ""
        out.append(f"  {ids[n]} [label={_dot_quote(_node_text(n))}{extra}];")
    for n in sorted(g.initial):
        out.append(f"  start -> {ids[n]};")
    for (a, b), names in sorted(g.edges.items()):
        out.append(f"  {ids[a]} -> {ids[b]} [label={_dot_quote(chr(10).join(sorted(names)))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'").replace("#", "no.").replace(":", " ")


def to_mermaid(g: Graph) -> str:
    nodes = g.nodes()
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}
    out = ["stateDiagram-v2"]
    for n in nodes:
        out.append(f'    state "{_mermaid_text(_node_text(n))}" as {ids[n]}')
    for n in sorted(g.initial):
        out.append(f"    [*] --> {ids[n]}")
    for (a, b), names in sorted(g.edges.items()):
        out.append(f"    {ids[a]} --> {ids[b]} : {_mermaid_text(', '.join(sorted(names)))}")
    return "\n".join(out) + "\n"


def dot_to_svg(source: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError("Graphviz 'dot' is not installed; install the graphviz package (./run tests does)")
    done = subprocess.run([exe, "-Tsvg"], input=source.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise UsageError(f"dot failed: {done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    # The generator comment names the Graphviz version; the picture does not depend on it.
    text = re.sub(r"<!-- Generated by graphviz.*?-->\n?", "", done.stdout.decode(), count=1, flags=re.S)
    return text.encode()


# ------------------------------------------------------------------ tables


def md_table(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def natural_key(text: str) -> tuple[Any, ...]:
    """S2 before S10, L3 before L10, C1 after S30 (ids compare by prefix, then number)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


def natural_rows(rows: Iterable[list[Any]]) -> list[list[Any]]:
    return sorted(rows, key=lambda row: natural_key(str(row[0])))


@dataclass
class MatrixRow:
    cfg: ModelConfig
    distinct: int | None  # None: skipped
    generated: int
    depth: int
    verdict: str
    invariants: dict[str, str]
    witnesses: dict[str, str]


def matrix_configs(s: Settings) -> list[ModelConfig]:
    out = []
    for mode in MODES:
        carrier_counts: list[int | None] = list(range(1, s.max_carriers + 1)) if mode == "pooled" else [None]
        for c in carrier_counts:
            for n in range(1, s.max_sessions + 1):
                out.append(make_config(mode, c, n, s.options_dict()))
    return out


def run_matrix(s: Settings) -> list[MatrixRow]:
    """Each configuration in order of size; once one exceeds the state budget, the larger
    session counts of the same mode and carrier count are skipped (they would too)."""
    rows: list[MatrixRow] = []
    over: set[tuple[str, int]] = set()
    for cfg in matrix_configs(s):
        key = (cfg.mode, cfg.carriers if cfg.mode == "pooled" else 0)
        if key in over:
            rows.append(MatrixRow(cfg, None, 0, 0, "skipped (budget)", {}, {}))
            continue
        engine = s.engine if s.engine != "auto" or native_unavailable(load(cfg).trace()) is None else "python"
        run = run_check(load(cfg), bounds=Bounds(max_states=s.budget), engine=engine, default_trace_dir=None)
        r = run.result
        inv: dict[str, str] = {}
        for p, _ in run.model.invariants:
            if r.violation is not None and r.violation.property_id == p.id:
                inv[p.id] = "VIOLATED"
            elif r.verdict == "ok":
                inv[p.id] = "holds"
            elif r.verdict == "incomplete":
                inv[p.id] = "holds so far"
            else:
                inv[p.id] = "not refuted"
        wit: dict[str, str] = {}
        for p, _ in run.model.witnesses:
            if p.id in r.witnesses_reached:
                wit[p.id] = f"reached (depth {r.witnesses_reached[p.id]})"
            else:
                wit[p.id] = "not reached" if r.verdict == "ok" else "not reached so far"
        verdict = "ok" if r.verdict == "ok" else r.verdict
        if r.verdict == "incomplete":
            verdict = "budget reached"
            over.add(key)
        rows.append(MatrixRow(cfg, r.distinct, r.generated, r.depth, verdict, inv, wit))
    return rows


def _short(cfg: ModelConfig) -> str:
    if cfg.mode == "pooled":
        return f"pooled {cfg.carriers}x{cfg.sessions}"
    return f"{'tps' if cfg.mode == 'thread-per-session' else cfg.mode} {cfg.sessions}"


# ------------------------------------------------------------------ optional catalogues


BUG_COLUMNS = ["name", "source", "expected", "caught_by", "status", "length", "states", "config", "counterexample"]


def seeded_bugs() -> tuple[list[list[str]], dict[str, bytes]]:
    """Every seeded bug of the catalogue run at its smallest configuration (the Python engine,
    as `pgcheck mutants`): a table row each, and a `pgcheck view` page of its counterexample.
    Run times are left out: they differ between runs."""
    from pgcheck.model.mutations import CATALOGUE
    from pgcheck.model.mutations import describe_config as mutation_config
    from pgcheck.model.mutations.check import check_mutation

    rows, pages = [], {}
    for m in sorted(CATALOGUE, key=lambda m: m.name):
        o = check_mutation(m)
        link = ""
        if o.run is not None and o.run.trace_doc is not None:
            name = f"bugs/{m.name}.html"
            pages[name] = render_html(parse_trace(json.dumps(o.run.trace_doc), f"{m.name}.itf.json")).encode()
            link = f"[{m.name}.html]({name})"
        rows.append([m.name, m.source, m.expected, _plain(o.caught_by), o.status, _plain(o.length), _plain(o.states),
                     mutation_config(m.smallest), link])
    return rows, pages


def _opt(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def _plain(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={_plain(x)}" for k, x in sorted(v.items()))
    return "" if v is None else str(v)


def liveness_section(configs: list[ModelConfig]) -> list[str] | None:
    """Liveness properties (id, form, statement, citation) and their verdict in each of
    `configs`, when the build has temporal properties (specs/liveness.py) and a liveness check."""
    try:
        importlib.import_module("pgcheck.specs.liveness")
    except ImportError:
        return None
    props: dict[str, list[str]] = {}
    verdicts: dict[str, dict[str, str]] = {}
    for cfg in configs:
        spec = load(cfg)
        options: dict[str, Any] = {"liveness": True}
        run = run_check(spec, engine="python", default_trace_dir=None, **options)
        for traced in getattr(run.model, "temporal", []):
            p = traced.prop
            props.setdefault(p.id, [p.id, str(getattr(p, "form", "")), p.statement, p.cite])
        column = verdicts.setdefault(_short(cfg), {})
        report = getattr(run, "liveness", None)
        if report is None:
            note = str(getattr(run, "liveness_note", "")) or "not checked"
            for pid in props:
                column.setdefault(pid, note)
            continue
        for outcome in report.outcomes:
            column[outcome.prop.id] = outcome.verdict
        for pid in report.skipped:
            column[pid] = "does not apply"
    columns = sorted(verdicts)
    rows = [props[pid] + [verdicts[c].get(pid, "n/a") for c in columns] for pid in sorted(props, key=natural_key)]
    if not rows:
        return ["No liveness properties are declared.\n"]
    return [md_table(["id", "form", "statement", "citation", *columns], rows)]


def build_bundle(s: Settings) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    setting_lines = [
        f"- diagrams and coverage: each mode at {s.diagram_sessions} sessions "
        f"({s.diagram_carriers} carriers in pooled mode), and each mode at one session (one carrier) with "
        "the lifecycle options (cancels, terminates, client close, pg_sleep, idle timeout, stale generations; "
        "listed on each diagram page); "
        "the whole state graph, without symmetry reduction;",
        f"- property matrix: each mode, carriers 1-{s.max_carriers} (pooled), sessions 1-{s.max_sessions}, "
        "each explored completely (with symmetry reduction; the native engine, the model generated as C, where "
        f"a C compiler is), so a verdict is final; a guard of {s.budget:,} distinct states per configuration stops "
        "a run that would exceed it, reported as such, and the larger ones of its row are skipped;",
        "- model options: " + (", ".join(f"{k}={_opt(v)}" for k, v in s.options) or "the defaults of `pgcheck list`") + ".",
    ]
    runs: dict[str, CheckRun] = {}
    for prefix, mode, cfg, _ in diagram_sets(s):
        runs[prefix + mode] = explore_graph(load(cfg))

    # Diagrams.
    diagram_links: list[str] = []
    diagram_rows: list[list[str | Link]] = []
    for prefix, mode, cfg, kinds in diagram_sets(s):
        run = runs[prefix + mode]
        for kind in kinds:
            g = project_graph(run, kind)
            stem = f"{prefix}{mode}-{kind}"
            base = f"diagrams/{stem}"
            title = f"{kind} ({', '.join(KEY_FIELDS[kind])}) - {describe_config(cfg)}"
            dot = to_dot(g, title)
            files[base + ".dot"] = dot.encode()
            files[base + ".svg"] = dot_to_svg(dot)
            md = [
                f"# {kind} state machine, {describe_config(cfg)}",
                "",
                f"Options: {options_text(cfg)}.",
                "",
                f"Projected from the explored state graph ({run.result.distinct:,} states, "
                f"{len(graph_of(run).edges):,} transitions) onto `{', '.join(KEY_FIELDS[kind])}`"
                + (" (`cur` as attached/free; queues by length)" if kind != "session" else "")
                + "; an edge is drawn where an action changes those fields of one instance, labelled with the actions.",
                "",
                f"{len(g.nodes())} nodes, {len(g.edges)} edges. Picture: [{stem}.svg]({stem}.svg).",
                "",
                "```mermaid",
                to_mermaid(g).rstrip("\n"),
                "```",
                "",
            ]
            files[base + ".md"] = "\n".join(md).encode()
            diagram_links.append(
                f"| {describe_config(cfg)}{' (lifecycle options)' if prefix else ''} | {kind} "
                f"| [{stem}.md]({base}.md) | [svg]({base}.svg) |"
            )
            diagram_rows.append([describe_config(cfg) + (" (lifecycle options)" if prefix else ""), kind,
                                 Link(f"{stem}.md", f"{base}.md"), Link("svg", f"{base}.svg")])

    # Action coverage.
    cov: list[str] = ["# Action coverage", "", "Per action of each diagram configuration: how many bindings it has, "
                      "how often a guard held (fired) and how often that reached a new state.", ""]
    for prefix, mode, cfg, _ in diagram_sets(s):
        run = runs[prefix + mode]
        r = run.result
        agg: dict[str, list[int]] = {}
        for bd in run.model.bindings:
            row = agg.setdefault(bd.action, [0, 0, 0])
            row[0] += 1
            row[1] += r.fired[bd.index]
            row[2] += r.new_states[bd.index]
        never = sorted(act for act, v in agg.items() if v[1] == 0)
        cov += [f"## {describe_config(cfg)}", "", f"Options: {options_text(cfg)}.", ""]
        cov.append(md_table(["action", "bindings", "fired", "new states"],
                            [[act, *v] for act, v in sorted(agg.items())]))
        cov.append(f"Never fired here: {', '.join(never) if never else 'none'}.\n")
    files["coverage.md"] = "\n".join(cov).encode()

    # Property catalogue over the matrix.
    matrix = run_matrix(s)
    ref_model = runs["pooled"].model
    props = ["# Property catalogue", ""]
    props += ["Every invariant and witness of the model, with its statement, citation "
              "(`scheduler-digest.md`) and verdict in each configuration of the matrix.", ""]
    props.append(md_table(["id", "kind", "statement", "citation"],
                          natural_rows([p.id, p.kind, p.statement, p.cite]
                                       for p, _ in ref_model.invariants + ref_model.witnesses)))
    live = liveness_section([diagram_config(m, s) for m in MODES])
    props += ["## Liveness properties", ""]
    if live is None:
        props.append("Liveness properties: not available in this build.\n")
    else:
        props.append("Verdicts in the diagram configurations (the whole graph, fairness as declared).\n")
        props += live
    checked = [r for r in matrix if r.distinct is not None]
    for title, attr in (("Invariants", "invariants"), ("Witnesses", "witnesses")):
        for mode in MODES:
            cols = [r for r in checked if r.cfg.mode == mode]
            ids = sorted({pid for r in cols for pid in getattr(r, attr)}, key=natural_key)
            props += [f"## {title}, {mode}", ""]
            rows = [[pid] + [getattr(r, attr).get(pid, "n/a") for r in cols] for pid in ids]
            props.append(md_table(["id"] + [_short(r.cfg) for r in cols], rows) if rows else "none declared\n")
    props.append("n/a: the property is not part of that configuration's model.\n")
    files["properties.md"] = "\n".join(props).encode()

    sizes = ["# State-space sizes", "",
             f"Each configuration explored completely (symmetry reduction on); guard: {s.budget:,} distinct states.", ""]
    sizes.append(md_table(["configuration", "distinct", "generated", "depth", "verdict"],
                          [[describe_config(r.cfg), "" if r.distinct is None else f"{r.distinct:,}",
                            f"{r.generated:,}" if r.distinct is not None else "", r.depth if r.distinct is not None else "",
                            r.verdict] for r in matrix]))
    sizes += ["## Diagram configurations (no symmetry reduction)", ""]
    sizes.append(md_table(["configuration", "distinct", "transitions", "depth"],
                          [[describe_config(cfg) + (" (lifecycle options)" if prefix else ""),
                            f"{runs[prefix + m].result.distinct:,}", f"{len(graph_of(runs[prefix + m]).edges):,}",
                            runs[prefix + m].result.depth] for prefix, m, cfg, _ in diagram_sets(s)]))
    files["sizes.md"] = "\n".join(sizes).encode()

    bug_rows, bug_pages = seeded_bugs()
    files.update(bug_pages)
    bug_md = ["# Seeded bugs", "",
              "Each bug of the catalogue (`model/mutations/`, `docs/bugs.md`) at its smallest configuration, as "
              "`pgcheck mutants` runs it (run times left out), with a `pgcheck view` page of the counterexample "
              "it produces: why the property broke, the lanes, every state.", "",
              md_table(BUG_COLUMNS, bug_rows)]
    files["seeded-bugs.md"] = "\n".join(bug_md).encode()

    # One example trace of each witness, from the first configuration reaching it.
    witness_links: list[str] = []
    witness_rows: list[list[str | Link]] = []
    seen: set[str] = set()
    declared: set[str] = set()
    for cfg in witness_configs(s):
        run = run_check(load(cfg), engine="python", default_trace_dir=None)
        explorer = graph_of(run)
        for p, _ in sorted(run.model.witnesses, key=lambda w: natural_key(w[0].id)):
            declared.add(p.id)
            if p.id in seen or p.id not in run.result.witness_states:
                continue
            seen.add(p.id)
            steps = explorer.trace_to(run.result.witness_states[p.id])
            doc = trace_to_itf(run.model, steps, kind="witness", prop=p)
            name = f"witnesses/{p.id}.html"
            html = render_html(parse_trace(json.dumps(doc), name))
            files[name] = html.encode()
            witness_links.append(f"| [{p.id}]({name}) | {describe_config(cfg)} | {len(steps) - 1} | {p.statement} |")
            witness_rows.append([Link(p.id, name), describe_config(cfg), str(len(steps) - 1), p.statement])
    missing = sorted(declared - seen)

    index = [
        "# Design-review bundle",
        "",
        "Generated from the model by `pgcheck report --out docs/review`; "
        "`pgcheck report --check docs/review` fails when these files are out of date. Do not edit by hand.",
        "",
        f"pgcheck {__version__}, model `{ref_model.name}`. Configuration:",
        "",
        *setting_lines,
        "",
        "## Contents",
        "",
        "- [Property catalogue](properties.md): invariants, liveness properties and witnesses, with verdicts per configuration",
        "- [Action coverage](coverage.md)",
        "- [State-space sizes](sizes.md)",
        "- [Seeded bugs](seeded-bugs.md), each with its counterexample page (`bugs/`)",
        "- [index.html](index.html): this index as one page to open in a browser",
        "",
        "## State-machine diagrams",
        "",
        "| configuration | entity | diagram (Mermaid) | picture |",
        "|---|---|---|---|",
        *diagram_links,
        "",
        "## Witness traces",
        "",
        "A shortest run to each witness (`pgcheck view` pages; they open in a browser from disk). "
        "Configurations tried, in order: " + "; ".join(
            describe_config(c) + (" with " + options_text(c) if c.options else "") for c in witness_configs(s)) + ".",
        "",
        "| witness | configuration | steps | statement |",
        "|---|---|---|---|",
        *witness_links,
        "",
        f"Declared but not reached in these configurations: {', '.join(missing) if missing else 'none'}.",
        "",
        "## Seeded bugs",
        "",
        "Each bug of the catalogue at its smallest configuration, with the `pgcheck view` page of its counterexample.",
        "",
        "| bug | expected | status | steps |",
        "|---|---|---|---|",
        *(f"| {f'[{r[0]}](bugs/{r[0]}.html)' if r[-1] else r[0]} | {r[2]} | {r[4]} | {r[5]} |" for r in bug_rows),
        "",
    ]
    files["README.md"] = "\n".join(index).encode()
    bug_table: list[list[str | Link]] = [
        [Link(r[0], f"bugs/{r[0]}.html") if r[-1] else r[0], r[1], r[2], r[4], r[5], r[7]] for r in bug_rows
    ]
    files["index.html"] = index_html(
        "Design-review bundle",
        [f"pgcheck {__version__}, model {ref_model.name}. Generated by pgcheck report --out docs/review; "
         "pgcheck report --check docs/review fails when it is out of date.", *(ln.lstrip("- ") for ln in setting_lines)],
        [Link("Property catalogue: invariants, liveness properties, witnesses, verdicts per configuration",
              "properties.md"),
         Link("Action coverage", "coverage.md"), Link("State-space sizes", "sizes.md"),
         Link("Seeded bugs (table)", "seeded-bugs.md"), Link("README.md (this index as Markdown)", "README.md")],
        [Table("Seeded bugs", "Each caught at its smallest configuration; the page shows the counterexample and why "
               "the property broke.", ["bug", "source", "expected", "status", "steps", "configuration"], bug_table),
         Table("Witness traces", "A shortest run to each witness.", ["witness", "configuration", "steps", "statement"],
               witness_rows),
         Table("State-machine diagrams", "Projected from the whole explored graph.",
               ["configuration", "entity", "diagram (Mermaid)", "picture"], diagram_rows)],
    ).encode()
    return dict(sorted(files.items()))
