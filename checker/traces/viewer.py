"""The counterexample viewer (`pgcheck view`): one self-contained HTML page per trace.

Python turns the trace into a page model: the header (property, configuration), the
steps (label, changed fields, scheduler events), every state as formatted text, and the
lanes (one row per carrier, per session, per scheduler queue and per client; one column
per state). The page's script (viewer_page.py) only draws that model, with `textContent`,
never `innerHTML`. The model is embedded as JSON in a `<script type="application/json">`
element with `<`, `>` and `&` escaped, so no string from the trace can end the element.

Rendering is generic: every entity kind and field in `#meta.entities` shows up in the state
panel. The known runtime fields (carrier.cur/loc, session.pc/ps/q/car/pcar, the queues of
`sched`, the `cl_` client fields) are used only to draw the lanes, and may be absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pgcheck.checker.traces.explanation import read_explanation, read_lasso_notes, tree_lines
from pgcheck.checker.traces.itf_read import NO_REF, Trace, format_meta, format_plain
from pgcheck.checker.traces.viewer_page import DATA_TOKEN, PAGE

CARRIER, SESSION, SCHED = "carrier", "session", "sched"
QUEUE_FIELDS = ("newconn", "parked", "runnable")
CLIENT_PREFIX = "cl_"
# The client's side of the connection: its protocol state (`cl`) and the unread bytes of the
# current message on the backend's socket (`inbuf`), then every `cl_` field.
CLIENT_STATE, CLIENT_INPUT = "cl", "inbuf"
CLIENT_WORDS = {"byte": "sent type byte", "sent": "sent message", "result": "got result"}
INPUT_WORDS = {"empty": "socket empty", "byte": "socket: type byte", "whole": "socket: whole message",
               "body": "socket: body"}


@dataclass
class Cell:
    """One lane at one state: main text, a second line, a style class, event marks."""

    t: str
    s: str = ""
    c: str = ""
    m: list[str] = field(default_factory=list)
    chg: bool = False


@dataclass
class Lane:
    group: str
    label: str
    entity: str
    hl: bool
    cells: list[Cell]


@dataclass(frozen=True)
class Event:
    """A scheduler event on one entity at one step: attach, park, wake, lease, resume, ..."""

    entity: str
    kind: str
    text: str


def css_token(value: str) -> str:
    """A value reduced to characters safe in a class name."""
    return re.sub(r"[^a-z0-9_-]", "", value.lower())[:32] or "x"


def _record(trace: Trace, index: int, kind: str, i: int | None) -> Mapping[str, Any]:
    value = trace.states[index].get(kind)
    if i is None:
        return value if isinstance(value, Mapping) else {}
    if isinstance(value, list) and i < len(value) and isinstance(value[i], Mapping):
        return value[i]
    return {}


def _ref(record: Mapping[str, Any], name: str) -> int | None:
    value = record.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value != NO_REF else None


def _count(trace: Trace, kind: str) -> int:
    entity = trace.entities.get(kind)
    return entity.count or 0 if entity and not entity.singleton else 0


# ---- scheduler events ---------------------------------------------------------------------


def session_events(trace: Trace, index: int) -> list[Event]:
    """What happened to each session in step `index`: park, poll, wake, lease, attach, resume ...

    A resume (leaving `leased`, or the park state going back to `none` while attached) on a
    carrier other than the one it parked on (`pcar` before the step) is a migrated resume.
    """
    if index == 0 or SESSION not in trace.entities:
        return []
    out: list[Event] = []
    for i in range(_count(trace, SESSION)):
        before, after = _record(trace, index - 1, SESSION, i), _record(trace, index, SESSION, i)
        name = trace.instance_name(SESSION, i)
        q0, q1 = before.get("q"), after.get("q")
        car0, car1 = _ref(before, "car"), _ref(after, "car")
        carrier = trace.ref_label(CARRIER, car1)
        if q0 != q1 and isinstance(q1, str):
            if q1.startswith("parked"):
                out.append(Event(name, "park", "parked"))
            elif q1 == "polling":
                out.append(Event(name, "poll", "taken for polling"))
            elif q1 == "runnable":
                out.append(Event(name, "wake", "runnable"))
            elif q1 == "leased":
                out.append(Event(name, "lease", "leased"))
        if car0 is None and car1 is not None:
            out.append(Event(name, "attach", f"attached to {carrier}"))
        elif car0 is not None and car1 is None:
            out.append(Event(name, "detach", f"detached from {trace.ref_label(CARRIER, car0)}"))
        resumed = (q0 == "leased" and q1 != "leased") or (
            before.get("ps") == "committed" and after.get("ps") == "none" and car1 is not None
        )
        if resumed:
            parked_on = _ref(before, "pcar")
            if parked_on is not None and car1 is not None and parked_on != car1:
                where = trace.ref_label(CARRIER, parked_on)
                text = f"migrated resume: parked on {where}, resumed on {carrier}"
                out.append(Event(name, "migrated", text))
            else:
                out.append(Event(name, "resume", f"resumed on {carrier}"))
    return out


# ---- lanes --------------------------------------------------------------------------------


def _carrier_cell(trace: Trace, index: int, i: int) -> Cell:
    rec = _record(trace, index, CARRIER, i)
    loc = rec.get("loc")
    cur = _ref(rec, "cur")
    loc_text = format_plain(loc) if loc is not None else ""
    text = loc_text
    if "cur" in rec:
        text = trace.ref_label(SESSION, cur) if cur is not None else "idle"
    sub = loc_text if "cur" in rec else ""
    batch = rec.get("batch")
    if isinstance(batch, list) and batch:  # the sessions this poller holds, in the order taken
        sub += " " + trace.format_value(CARRIER, "batch", batch)
    cell = Cell(text, sub, "loc-" + css_token(loc_text) if loc_text else "")
    if cur is not None:
        cell.c += " busy"
    if index > 0:
        prev = _ref(_record(trace, index - 1, CARRIER, i), "cur")
        if prev != cur:
            cell.m.append("attach" if prev is None else "detach" if cur is None else "switch")
    return cell


def _session_state(rec: Mapping[str, Any]) -> str:
    """The design-level state of a session (scheduler-digest.md §2.2) from ps, q and car."""
    q, ps, attached = rec.get("q"), rec.get("ps"), _ref(rec, "car") is not None
    if isinstance(q, str) and q not in ("none", ""):
        return "parked" if q.startswith("parked") else q
    if attached:
        return "parking" if ps == "prepared" else "running"
    if ps == "committed":
        return "committing"
    if rec.get("pc") in ("start", None) and "pc" in rec:
        return "unstarted"
    return "detached" if "car" in rec else "unknown"


def _session_cell(trace: Trace, index: int, i: int, events: list[Event]) -> Cell:
    rec = _record(trace, index, SESSION, i)
    state = _session_state(rec)
    car = _ref(rec, "car")
    sub = []
    if car is not None:
        sub.append("@" + trace.ref_label(CARRIER, car))
    if "pc" in rec:
        sub.append(format_plain(rec["pc"]))
    name = trace.instance_name(SESSION, i)
    marks = [e.kind for e in events if e.entity == name]
    return Cell(state, " ".join(sub), "st-" + css_token(state), marks)


def _queue_cell(trace: Trace, index: int, queue: str) -> Cell:
    rec = _record(trace, index, SCHED, None)
    text = trace.format_value(SCHED, queue, rec.get(queue, []))
    changed = index > 0 and _record(trace, index - 1, SCHED, None).get(queue) != rec.get(queue)
    empty = not rec.get(queue)
    return Cell(text.strip("[]") or "·", "", "queue empty" if empty else "queue", chg=changed)


def _client_part(trace: Trace, rec: Mapping[str, Any], name: str) -> str:
    value = trace.format_value(SESSION, name, rec.get(name))
    if name == CLIENT_STATE:
        return CLIENT_WORDS.get(value, value)
    if name == CLIENT_INPUT:
        return INPUT_WORDS.get(value, f"socket: {value}")
    return f"{name.removeprefix(CLIENT_PREFIX)} {value}"


def _client_cell(trace: Trace, index: int, i: int, fields: list[str]) -> Cell:
    """What the client did (`cl`: sent a type byte, a whole message, got a result), the input
    waiting on the backend's socket (`inbuf`), then the other client fields."""
    rec = _record(trace, index, SESSION, i)
    prev = _record(trace, index - 1, SESSION, i) if index > 0 else rec
    parts = [_client_part(trace, rec, f) for f in fields]
    changed = [f.removeprefix(CLIENT_PREFIX) for f in fields if prev.get(f) != rec.get(f)]
    style = "client"
    if rec.get(CLIENT_STATE) == "byte" or rec.get(CLIENT_INPUT) not in (None, "empty"):
        style += " pending"  # a half-sent message or input waiting: what S9 and L1 speak of
    return Cell(parts[0] if parts else "", " · ".join(parts[1:]), style, changed, bool(changed))


def _client_fields(trace: Trace) -> list[str]:
    names = _field_names(trace, SESSION)
    return [f for f in (CLIENT_STATE, CLIENT_INPUT) if f in names] + [f for f in names if f.startswith(CLIENT_PREFIX)]


def _reads_cell(trace: Trace, index: int, path: str) -> Cell:
    """One field the property's deciding part reads, at one state."""
    value = trace.flat(index).get(path, "")
    changed = index > 0 and trace.flat(index - 1).get(path, "") != value
    return Cell(value, "", "reads", chg=changed)


def _generic_cell(trace: Trace, index: int, kind: str, i: int | None) -> Cell:
    """A lane for an entity kind the viewer has no drawing for: its first field."""
    rec = _record(trace, index, kind, i)
    if not rec:
        return Cell("")
    first = next(iter(rec))
    changed = index > 0 and _record(trace, index - 1, kind, i) != rec
    return Cell(trace.format_value(kind, first, rec[first]), first, "generic", chg=changed)


def _field_names(trace: Trace, kind: str) -> list[str]:
    entity = trace.entities.get(kind)
    names = list(entity.fields) if entity and entity.fields else []
    for _, _, rec in (r for r in trace.records(trace.states[0]) if r[0] == kind):
        names += [n for n in rec if n not in names]
    return names


def build_lanes(trace: Trace, events: list[list[Event]]) -> list[Lane]:
    """The fields the violated property reads, carriers, sessions, scheduler queues, clients,
    then any other entity kind."""
    hl = {trace.instance_name(k, i) for k, i in trace.highlight}
    states = range(len(trace.states))
    lanes: list[Lane] = []
    why = read_explanation(trace.meta, len(trace.states))
    for path in why.reads if why else []:
        owner = path.rpartition(".")[0]
        lanes.append(Lane("reads", path, owner, owner in hl, [_reads_cell(trace, s, path) for s in states]))
    for i in range(_count(trace, CARRIER)):
        name = trace.instance_name(CARRIER, i)
        cells = [_carrier_cell(trace, s, i) for s in states]
        lanes.append(Lane("carrier", f"carrier {trace.ref_label(CARRIER, i)}", name, name in hl, cells))
    for i in range(_count(trace, SESSION)):
        name = trace.instance_name(SESSION, i)
        cells = [_session_cell(trace, s, i, events[s]) for s in states]
        lanes.append(Lane("session", f"session {trace.ref_label(SESSION, i)}", name, name in hl, cells))
    if SCHED in trace.entities:
        sched_fields = _field_names(trace, SCHED)
        typed = [f for f in sched_fields if trace.field_type(SCHED, f).get("type") == "fifo"]
        queues = typed or [f for f in QUEUE_FIELDS if f in sched_fields]
        for queue in queues:
            cells = [_queue_cell(trace, s, queue) for s in states]
            lanes.append(Lane("queue", f"{SCHED}.{queue}", SCHED, SCHED in hl, cells))
    client_fields = _client_fields(trace)
    if client_fields:
        for i in range(_count(trace, SESSION)):
            name = trace.instance_name(SESSION, i)
            cells = [_client_cell(trace, s, i, client_fields) for s in states]
            lanes.append(Lane("client", f"client {trace.ref_label(SESSION, i)}", name, name in hl, cells))
    for kind, entity in trace.entities.items():
        if kind in (CARRIER, SESSION, SCHED) or entity.singleton:
            continue
        for i in range(entity.count or 0):
            name = trace.instance_name(kind, i)
            cells = [_generic_cell(trace, s, kind, i) for s in states]
            lanes.append(Lane("other", f"{kind} {trace.ref_label(kind, i)}", name, name in hl, cells))
    return lanes


# ---- the page model -----------------------------------------------------------------------


def _type_text(ftype: Mapping[str, Any]) -> str:
    """A field type as one short line: `enum off|loop|in_step`, `ref session`, `int 0..3`."""
    tname = str(ftype.get("type", "?"))
    if tname == "enum":
        return "enum " + "|".join(format_plain(v) for v in ftype.get("values", []))
    if tname == "int":
        return f"int {format_plain(ftype.get('min'))}..{format_plain(ftype.get('max'))}"
    if tname == "ref":
        return f"ref {format_plain(ftype.get('kind'))} (none = -1)"
    if tname == "set":
        of = ftype.get("of")
        members = format_plain(of) if isinstance(of, str) else "{" + ", ".join(map(str, of or [])) + "}"
        return "set of " + members
    if tname == "fifo":
        return f"fifo of {format_plain(ftype.get('kind'))}, capacity {format_plain(ftype.get('capacity'))}"
    return tname


def _involved(trace: Trace, index: int) -> list[str]:
    step = trace.steps[index]
    if step is None:
        return []
    out = []
    for name, value in step.params.items():
        kind = trace.param_kind(name)
        if kind is not None and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out.append(trace.instance_name(kind, value))
    return out


def page_model(trace: Trace) -> dict[str, Any]:
    """Everything the page draws, as plain JSON data (strings already formatted)."""
    meta = trace.meta
    prop = trace.checked_property
    events = [session_events(trace, s) for s in range(len(trace.states))]
    kinds = []
    for entity in trace.entities.values():
        names = _field_names(trace, entity.name)
        fields = [{"name": n, "type": _type_text(entity.fields.get(n, {}))} for n in names]
        kinds.append({"name": entity.name, "abbrev": entity.abbrev, "count": entity.count, "fields": fields})
    states = []
    for s in range(len(trace.states)):
        state: dict[str, dict[str, str]] = {}
        for kind, i, rec in trace.records(trace.states[s]):
            state[trace.instance_name(kind, i)] = {f: trace.format_value(kind, f, v) for f, v in rec.items()}
        states.append(state)
    steps = []
    for s in range(len(trace.states)):
        step = trace.steps[s]
        steps.append({
            "action": step.action if step else "initial state",
            "params": trace.param_text(step.params) if step else "",
            "changes": [[c.path, c.before, c.after] for c in trace.changes(s)],
            "events": [asdict(e) for e in events[s]],
            "involved": _involved(trace, s),
        })
    why = read_explanation(trace.meta, len(trace.states))
    notes = read_lasso_notes(trace.meta)
    return {
        "why": None if why is None else {
            "state": why.state,
            "rows": [[depth, n.text, n.value, n.path, n.shown, n.total] for depth, n in tree_lines(why.tree)],
            "reads": why.reads,
            "property_reads": why.property_reads,
            "cut": why.cut,
        },
        "lasso": None if notes is None else {
            "never": notes.never, "fair_under": notes.fair_under, "instance": notes.instance,
        },
        "file": Path(trace.name).name,
        "kind": trace.kind,
        "property": None if prop is None else {
            k: format_plain(prop.get(k, "")) for k in ("id", "kind", "statement", "citation")
        },
        "config": [[key, format_meta(meta.get(key))] for key in
                   ("model", "mode", "mutation", "engine", "seed", "version") if key in meta],
        "params": [[k, format_plain(v)] for k, v in trace.params.items()],
        "highlight": [trace.instance_name(k, i) for k, i in trace.highlight],
        "loop": trace.loop,
        "entities": kinds,
        "steps": steps,
        "states": states,
        "lanes": [asdict(lane) for lane in build_lanes(trace, events)],
    }


def embed_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` can close or open a tag."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def render_html(trace: Trace) -> str:
    """The whole page: static HTML/CSS/JS with the page model embedded as JSON."""
    return PAGE.replace(DATA_TOKEN, embed_json(page_model(trace)), 1)


def default_output(trace_path: Path) -> Path:
    """`bug.itf.json` -> `bug.html`, next to the trace."""
    name = trace_path.name
    for suffix in (".itf.json", ".json"):
        if name.endswith(suffix):
            return trace_path.with_name(name[: -len(suffix)] + ".html")
    return trace_path.with_name(name + ".html")
