"""`pgcheck list`: what can be checked — modes, options and bounds, actions, properties."""

from __future__ import annotations

import json
from typing import Any

import click

from pgcheck.checker.lang.spec import TracedModel
from pgcheck.model import load, make_config
from pgcheck.model.code.params import CODE_PARAMS
from pgcheck.model.config import DESIGN_ONLY, MODELS, PARAMS, Param
from pgcheck.model.mutations import CATALOGUE, describe_config
from pgcheck.model.vocabulary import MODES
from pgcheck.specs.liveness import RELIES
from pgcheck.specs.safety import NOT_APPLICABLE


def _default_text(p: Param) -> str:
    d = p.default
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, tuple):
        return ",".join(d)
    return str(d)


def _values_text(p: Param) -> str:
    if p.kind == "bool":
        return "true|false"
    if p.kind == "int":
        return f"{p.lo}..{p.hi}"
    return "comma list"


def _param_dict(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name,
        "group": p.group,
        "type": p.kind,
        "default": list(p.default) if isinstance(p.default, tuple) else p.default,
        "help": p.help,
    }
    if p.kind == "int":
        out["min"], out["max"] = p.lo, p.hi
    return out


def _params_of(which: str) -> list[Param]:
    if which == "code":
        return [x for x in PARAMS if x.name not in DESIGN_ONLY] + list(CODE_PARAMS)
    return list(PARAMS)


def catalogue(model: TracedModel) -> dict[str, Any]:
    """Everything `pgcheck list` shows, as plain data (the `--json` form)."""
    p = model.params
    which = p.get("model", "design")
    params = _params_of(which)
    return {
        "model": which,
        "modes": list(MODES),
        "config": {"mode": p["mode"], "carriers": p["carriers"], "sessions": p["sessions"]},
        "options": [_param_dict(x) for x in params if x.group in ("option", "code")],
        "gucs": [_param_dict(x) for x in params if x.group == "guc"],
        "fixes": [_param_dict(x) for x in params if x.group == "fix"],
        "bounds": [_param_dict(x) for x in params if x.group == "bound"],
        "assumptions": [_param_dict(x) for x in params if x.group == "assumption"],
        "actions": [
            {
                "name": a.name,
                "params": {k: v if isinstance(v, str) else repr(v) for k, v in a.params.items()},
                "fairness": a.fairness,
                "citation": a.cite,
                "doc": a.doc,
            }
            for a in model.actions
        ],
        "invariants": [{"id": q.id, "statement": q.statement, "citation": q.cite} for q, _ in model.invariants],
        "action_properties": [
            {"id": a.id, "statement": a.statement, "citation": a.cite, "client": a.id.startswith("CL")}
            for a in model.action_properties
        ],
        "ghosts": [{"field": f"{g.kind}.{g.field}", "doc": g.doc} for g in model.ghosts],
        "witnesses": [{"id": q.id, "statement": q.statement, "citation": q.cite} for q, _ in model.witnesses],
        "not_applicable": [{"id": k, "reason": v} for k, v in NOT_APPLICABLE.items()],
        "liveness": _liveness(model),
        "liveness_not_checked": [{"id": k, "reason": v} for k, v in model.meta.get("liveness_skipped", {}).items()],
        "relies": RELIES,
        "mutations": [
            {"name": m.name, "source": m.source, "kind": m.kind, "expected": m.expected, "config": describe_config(m.smallest)}
            for m in CATALOGUE
        ],
    }


def _liveness(model: TracedModel) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for o in model.temporal:
        p = o.prop
        if any(x["id"] == p.id for x in out):
            continue
        out.append(
            {
                "id": p.id, "form": p.form, "statement": p.statement, "citation": p.cite, "relies": list(p.relies),
                "each": p.each, "client": p.id.startswith("CL"),
            }
        )
    return out


def _lines(doc: dict[str, Any]) -> list[str]:
    cfg = doc["config"]
    shape = (
        f"{cfg['carriers']} carriers x {cfg['sessions']} sessions"
        if cfg["mode"] == "pooled"
        else f"{cfg['sessions']} sessions (each with its own carrier)"
    )
    which = doc["model"]
    title_model = (
        "model: code (the C scheduler of samwillis/multithreaded-postgres at c2c6ec31; docs/code-map.md)"
        if which == "code"
        else "model: design (scheduler-digest.md; docs/model.md)"
    )
    out = ["modes: " + ", ".join(doc["modes"]), title_model, ""]
    by_name = {x.name: x for x in _params_of(which)}
    sections = [("options", "options")]
    if which == "code":
        sections += [("GUCs of the C code", "gucs"), ("fix variants (docs/findings.md)", "fixes")]
    sections += [("environment assumptions (liveness)", "assumptions"), ("bounds", "bounds")]
    for title, key in sections:
        out.append(f"{title} (--option NAME=VALUE):")
        for item in doc[key]:
            p = by_name[item["name"]]
            out.append(f"  {p.name:<24} {_default_text(p):<26} {_values_text(p):<11} {p.help}")
        out.append("")
    out.append(f"actions of mode {cfg['mode']}, {shape}:")
    for a in doc["actions"]:
        params = ", ".join(f"{k}: {v}" for k, v in a["params"].items())
        fair = a["fairness"] or "-"
        out.append(f"  {a['name']}({params})  fairness {fair}  [{a['citation']}]  {a['doc']}".rstrip())
    out.append("")
    out.append("invariants:")
    for q in doc["invariants"]:
        out.append(f"  {q['id']:<5} {q['statement']}  [{q['citation']}]")
    out.append("action properties (rules about steps, checked on every transition; specs/steps.py):")
    for q in doc["action_properties"]:
        if not q["client"]:
            out.append(f"  {q['id']:<6} {q['statement']}  [{q['citation']}]")
    out.append("client properties (end-to-end guarantees, specs/client.py):")
    for q in doc["action_properties"]:
        if q["client"]:
            out.append(f"  {q['id']:<6} action property: {q['statement']}  [{q['citation']}]")
    for q in doc["liveness"]:
        if q["client"]:
            each = f" for each {q['each']}" if q["each"] else ""
            out.append(f"  {q['id']:<6} {q['form']}{each}: {q['statement']}  [{q['citation']}]")
    out.append("ghosts (history variables only properties read):")
    for g in doc["ghosts"]:
        out.append(f"  {g['field']:<26} {g['doc']}")
    out.append("witnesses:")
    for q in doc["witnesses"]:
        out.append(f"  {q['id']:<24} {q['statement']}  [{q['citation']}]")
    out.append("not applicable to the modeled shapes:")
    for q in doc["not_applicable"]:
        out.append(f"  {q['id']:<5} {q['reason']}")
    out.append("liveness properties (pgcheck explore --liveness; the client ones are listed above too):")
    for q in doc["liveness"]:
        each = f" for each {q['each']}" if q["each"] else ""
        out.append(f"  {q['id']:<5} {q['form']}{each}: {q['statement']}  [{q['citation']}]")
        out.append(f"        relies on: {', '.join(q['relies'])}")
    out.append("liveness properties not checked in this configuration:")
    for q in doc["liveness_not_checked"]:
        out.append(f"  {q['id']:<5} {q['reason']}")
    out.append("fairness and assumptions named above:")
    for k, v in doc["relies"].items():
        out.append(f"  {k}: {v}")
    out.append("mutations (seeded bugs, in the design model; pgcheck explore --model design --mutation NAME, pgcheck mutants):")
    for m in doc["mutations"]:
        out.append(f"  {m['name']:<36} {m['source']:<11} {m['kind']:<8} caught by {m['expected']:<6} at {m['config']}")
    return out


@click.command("list")
@click.option("--model", "model_name", type=click.Choice(MODELS), default="code", show_default=True,
              help="code: the C scheduler at c2c6ec31; design: scheduler-digest.md")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound")
@click.option("--json", "as_json", is_flag=True, help="print the catalogue as JSON")
def command(model_name: str, mode: str, carriers: int | None, sessions: int, options: tuple[str, ...], as_json: bool) -> None:
    """List the modes, options and bounds, and the actions and properties of a configuration."""
    from pgcheck.model import parse_options

    cfg = make_config(mode, carriers, sessions, parse_options(list(options)), model=model_name, given=True)
    doc = catalogue(load(cfg).trace())
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        for line in _lines(doc):
            click.echo(line)
