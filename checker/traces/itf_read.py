"""Read a pgcheck ITF trace (docs/traces.md) into a checked, navigable `Trace`.

Every reader of traces (`pgcheck show`, `pgcheck view`) goes through `load_trace`, so a
bad file is refused in one place with one line that says what is wrong and what to do:
not JSON, truncated, not ITF, not written by pgcheck for the `pgruntime` model, or
internally inconsistent (a state without a declared variable, a step list of the wrong
length, a loop index out of range).

Besides loading, a `Trace` flattens each state into dotted field paths
(`session[1].q`, `sched.parked`) and formats values for people: references as `s1`/`c0`,
sets as `{a, b}`, FIFOs as `[s1, s0]` (head first). Both renderers use these, so the
terminal and the page always say the same thing.

Why one module of this size: reading, validating (one line per defect of a hostile file)
and naming go together, so every reader of a trace file sees the same checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.input import parse_json, read_input
from pgcheck.checker.printable import printable

SOURCE = "pgcheck"
MODEL = "pgruntime"
MODELS = (MODEL, "pgruntime-code")  # the design model and the code model (docs/code-map.md)
NO_REF = -1
HOW_TO_GET_ONE = "write one with 'pgcheck explore ... --trace-out FILE.itf.json'"


@dataclass(frozen=True)
class EntityKind:
    """One entity kind (count = number of instances) or singleton (count = None)."""

    name: str
    count: int | None
    fields: Mapping[str, Mapping[str, Any]]
    abbrev: str = ""

    @property
    def singleton(self) -> bool:
        return self.count is None


@dataclass(frozen=True)
class Step:
    """The action that produced a state and its entity parameters."""

    action: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    """One field whose value differs from the previous state (values already formatted)."""

    path: str
    before: str
    after: str


@dataclass(frozen=True)
class Trace:
    """A loaded, validated trace. `steps[0]` is None (the initial state)."""

    name: str
    meta: Mapping[str, Any]
    vars: list[str]
    states: list[Mapping[str, Any]]
    steps: list[Step | None]
    loop: int | None
    entities: Mapping[str, EntityKind]

    # ---- header information -------------------------------------------------------------

    @property
    def checked_property(self) -> Mapping[str, Any] | None:
        """The violated property (or the witness) from `#meta.property`."""
        prop = self.meta.get("property")
        return prop if isinstance(prop, Mapping) else None

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind") or "trace")

    @property
    def params(self) -> Mapping[str, Any]:
        params = self.meta.get("params")
        return params if isinstance(params, Mapping) else {}

    @property
    def highlight(self) -> list[tuple[str, int | None]]:
        """The entities the property is about, as (kind, index); index None for a singleton."""
        out: list[tuple[str, int | None]] = []
        for item in self.meta.get("highlight") or []:
            if isinstance(item, Mapping) and isinstance(item.get("kind"), str):
                index = item.get("index")
                out.append((item["kind"], index if isinstance(index, int) else None))
        return out

    # ---- entities and fields ------------------------------------------------------------

    def instance_name(self, kind: str, index: int | None) -> str:
        return kind if index is None else f"{kind}[{index}]"

    def ref_label(self, kind: str | None, index: Any) -> str:
        """`s1` for session 1, `none` for -1; a bare number when the kind is unknown."""
        if index == NO_REF or index is None:
            return "none"
        entity = self.entities.get(kind or "")
        return f"{entity.abbrev}{index}" if entity and entity.abbrev else str(index)

    def param_kind(self, name: str) -> str | None:
        """The entity kind an action parameter ranges over: `c` -> carrier, `s` -> session."""
        for entity in self.entities.values():
            if not entity.singleton and (entity.abbrev == name or entity.name == name):
                return entity.name
        candidates = [e.name for e in self.entities.values() if not e.singleton and e.name.startswith(name)]
        return candidates[0] if len(candidates) == 1 else None

    def param_text(self, params: Mapping[str, Any]) -> str:
        """`c0, s1`: each parameter as its entity label when it names one, else `name=value`."""
        parts = []
        for name, value in params.items():
            kind = self.param_kind(name)
            if kind is not None and isinstance(value, int) and not isinstance(value, bool):
                parts.append(self.ref_label(kind, value))
            else:
                parts.append(f"{name}={format_plain(value)}")
        return ", ".join(parts)

    def step_label(self, index: int) -> str:
        step = self.steps[index]
        if step is None:
            return "initial state"
        params = self.param_text(step.params)
        return f"{step.action}({params})" if params else step.action

    def field_type(self, kind: str, field: str) -> Mapping[str, Any]:
        entity = self.entities.get(kind)
        if entity is None:
            return {}
        return entity.fields.get(field, {})

    def format_value(self, kind: str, field: str, value: Any) -> str:
        """A field value as people read it, using the field's declared type."""
        ftype = self.field_type(kind, field)
        tname = ftype.get("type")
        if tname == "ref":
            return self.ref_label(ftype.get("kind"), value)
        if tname == "fifo" and isinstance(value, list):
            return "[" + ", ".join(self.ref_label(ftype.get("kind"), v) for v in value) + "]"
        if tname == "set" and isinstance(value, Mapping) and isinstance(value.get("#set"), list):
            of = ftype.get("of")
            items = value["#set"]
            if isinstance(of, str):
                return "{" + ", ".join(self.ref_label(of, v) for v in items) + "}"
            return "{" + ", ".join(format_plain(v) for v in items) + "}"
        return format_plain(value)

    def records(self, state: Mapping[str, Any]) -> Iterator[tuple[str, int | None, Mapping[str, Any]]]:
        """(kind, index or None, record) for every entity instance and singleton of a state."""
        for var in self.vars:
            value = state.get(var)
            if isinstance(value, list):
                for i, record in enumerate(value):
                    yield var, i, record if isinstance(record, Mapping) else {"value": record}
            elif isinstance(value, Mapping) and not _is_itf_special(value):
                yield var, None, value
            else:
                yield var, None, {"value": value}

    def flat(self, index: int) -> dict[str, str]:
        """Every field of state `index` as path -> formatted value, in trace order."""
        out: dict[str, str] = {}
        for kind, i, record in self.records(self.states[index]):
            prefix = self.instance_name(kind, i)
            for field, value in record.items():
                out[f"{prefix}.{field}"] = self.format_value(kind, field, value)
        return out

    def changes(self, index: int) -> list[Change]:
        """The fields of state `index` that differ from state `index - 1` (none for state 0)."""
        if index == 0:
            return []
        before, after = self.flat(index - 1), self.flat(index)
        out = [Change(p, before.get(p, "(absent)"), v) for p, v in after.items() if before.get(p) != v]
        out += [Change(p, v, "(absent)") for p, v in before.items() if p not in after]
        return out


def _is_itf_special(value: Mapping[str, Any]) -> bool:
    return any(key in value for key in ("#set", "#tup", "#map", "#bigint", "#unserializable"))


def format_meta(value: Any) -> str:
    """A `#meta` entry for a header: `none` rather than `null` for an absent mutation or seed."""
    return "none" if value is None else format_plain(value)


def format_plain(value: Any) -> str:
    """A value with no declared type: ITF's special forms, JSON scalars, lists and records."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_plain(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if "#bigint" in value:
            return str(value["#bigint"])
        if "#set" in value and isinstance(value["#set"], list):
            return "{" + ", ".join(format_plain(v) for v in value["#set"]) + "}"
        if "#tup" in value and isinstance(value["#tup"], list):
            return "<" + ", ".join(format_plain(v) for v in value["#tup"]) + ">"
        if "#map" in value and isinstance(value["#map"], list):
            pairs = [p for p in value["#map"] if isinstance(p, list) and len(p) == 2]
            return "{" + ", ".join(f"{format_plain(k)} -> {format_plain(v)}" for k, v in pairs) + "}"
        return "{" + ", ".join(f"{k}: {format_plain(v)}" for k, v in value.items() if k != "#meta") + "}"
    return str(value)


# ---- loading and validation ---------------------------------------------------------------


def load_trace(path: Path | str) -> Trace:
    """Read and validate a trace file; every problem is a one-line `UsageError`."""
    text = read_input(path, "file", HOW_TO_GET_ONE)  # "no such file", "pass the file itself"
    return parse_trace(text, printable(str(path)))


def parse_trace(text: str, name: str) -> Trace:
    """Validate the text of a trace file; `name` is used in messages."""
    if not text.strip():
        raise UsageError(f"{name} is empty; {HOW_TO_GET_ONE}")
    try:
        doc = sanitized(parse_json(text))
    except json.JSONDecodeError as e:
        if _looks_truncated(text, e):
            raise UsageError(
                f"{name} is truncated (the JSON ends at line {e.lineno} before it is complete); "
                "rewrite it, e.g. rerun the command that produced it"
            ) from None
        raise UsageError(
            f"{name} is not JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
            f"pass an ITF trace, {HOW_TO_GET_ONE}"
        ) from None
    except ValueError as e:
        raise UsageError(f"{name} is not a trace pgcheck can read: {e}; {HOW_TO_GET_ONE}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list) or "vars" not in doc:
        raise UsageError(
            f"{name} is JSON but not an ITF trace (an object with 'vars' and 'states' is expected); "
            f"{HOW_TO_GET_ONE}"
        )
    meta = doc.get("#meta")
    if not isinstance(meta, dict):
        raise UsageError(f"{name} is an ITF trace without '#meta', not one pgcheck wrote; {HOW_TO_GET_ONE}")
    source, model = meta.get("source"), meta.get("model")
    if source != SOURCE or model not in MODELS:
        raise UsageError(
            f"{name} is a trace of model {model!r} from {source!r}, not of pgcheck's models ({', '.join(MODELS)}); "
            f"pgcheck reads only its own traces ({HOW_TO_GET_ONE})"
        )
    return _build(doc, meta, name)


def sanitized(value: Any) -> Any:
    """The document with control characters in every key and string escaped (checker/printable.py),
    so no renderer (terminal or page) shows them raw. Nesting is bounded by parse_json."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [sanitized(v) for v in value]
    if isinstance(value, dict):
        return {printable(k): sanitized(v) for k, v in value.items()}
    return value


def _looks_truncated(text: str, error: json.JSONDecodeError) -> bool:
    """A decode error at the very end of the text: the file was cut short."""
    if text.lstrip()[:1] not in ("{", "["):
        return False
    return error.msg.startswith("Unterminated string") or error.pos >= len(text.rstrip()) - 1


def _bad(name: str, what: str) -> UsageError:
    return UsageError(f"{name} is not a valid pgcheck trace: {what}; {HOW_TO_GET_ONE}")


def _build(doc: dict[str, Any], meta: dict[str, Any], name: str) -> Trace:
    variables = doc["vars"]
    if not isinstance(variables, list) or not variables or not all(isinstance(v, str) for v in variables):
        raise _bad(name, "'vars' must be a non-empty list of variable names")
    states = doc["states"]
    if not states:
        raise _bad(name, "'states' is empty")
    for i, state in enumerate(states):
        if not isinstance(state, dict):
            raise _bad(name, f"state {i} is not an object")
        missing = [v for v in variables if v not in state]
        if missing:
            raise _bad(name, f"state {i} has no value for {', '.join(missing)}")
    loop = doc.get("loop")
    bad_loop = isinstance(loop, bool) or not isinstance(loop, int) or not 0 <= loop < len(states)
    if loop is not None and bad_loop:
        raise _bad(name, f"'loop' is {loop!r} but must be a state index from 0 to {len(states) - 1}")
    return Trace(
        name=name,
        meta=meta,
        vars=list(variables),
        states=states,
        steps=_steps(meta, len(states), name),
        loop=loop,
        entities=_entities(meta, variables, states, name),
    )


def _steps(meta: Mapping[str, Any], n_states: int, name: str) -> list[Step | None]:
    raw = meta.get("steps")
    if raw is None:
        return [None] + [Step("step", {}) for _ in range(n_states - 1)]
    if not isinstance(raw, list) or len(raw) != n_states:
        count = len(raw) if isinstance(raw, list) else "no"
        raise _bad(name, f"'#meta.steps' has {count} entries for {n_states} states (one per state expected)")
    steps: list[Step | None] = []
    for i, entry in enumerate(raw):
        if entry is None:
            steps.append(None)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("action"), str):
            raise _bad(name, f"'#meta.steps[{i}]' must be null or an object with an 'action' name")
        params = entry.get("params")
        steps.append(Step(entry["action"], params if isinstance(params, dict) else {}))
    return steps


def _entities(
    meta: Mapping[str, Any], variables: list[str], states: list[Mapping[str, Any]], name: str
) -> dict[str, EntityKind]:
    """Entity kinds from `#meta.entities`; a variable it does not describe is inferred from state 0."""
    declared = meta.get("entities")
    if declared is not None and not isinstance(declared, dict):
        raise _bad(name, "'#meta.entities' must be an object")
    declared = declared or {}
    kinds: dict[str, EntityKind] = {}
    for var in variables:
        spec = declared.get(var)
        if isinstance(spec, dict):
            count = _declared_count(spec.get("count"), var, states, name)
            kinds[var] = EntityKind(var, count, _declared_fields(spec.get("fields"), var, name))
        else:
            first = states[0]
            value = first.get(var)
            count = len(value) if isinstance(value, list) else None
            kinds[var] = EntityKind(var, count, {})
    return _with_abbreviations(kinds)


def _declared_count(count: Any, var: str, states: list[Mapping[str, Any]], name: str) -> int | None:
    """A declared instance count must agree with every state (renderers loop over it)."""
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _bad(name, f"'#meta.entities.{var}.count' must be a count >= 0, got {_short(count)}")
    for i, state in enumerate(states):
        value = state.get(var)
        if not isinstance(value, list) or len(value) != count:
            got = f"{len(value)} instances" if isinstance(value, list) else "no list of instances"
            raise _bad(name, f"'#meta.entities.{var}.count' is {count} but state {i} has {got}")
    return count


FIELD_TYPE_KEYS = ("type", "kind")  # names; "of" is a kind name or a list of member names


def _declared_fields(raw: Any, var: str, name: str) -> dict[str, Mapping[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad(name, f"'#meta.entities.{var}.fields' must be an object of field types")
    for field, ftype in raw.items():
        if not isinstance(ftype, dict):
            raise _bad(name, f"the type of {var}.{field} must be an object such as {{\"type\": \"bool\"}}")
        for key in FIELD_TYPE_KEYS:
            if ftype.get(key) is not None and not isinstance(ftype[key], str):
                raise _bad(name, f"'{key}' in the type of {var}.{field} must be a name, got {_short(ftype[key])}")
        of = ftype.get("of")
        if of is not None and not isinstance(of, str) and not (
            isinstance(of, list) and all(isinstance(x, str | int) and not isinstance(x, bool) for x in of)
        ):
            raise _bad(name, f"'of' in the type of {var}.{field} must be a kind or a list of names, got {_short(of)}")
    return raw


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _with_abbreviations(kinds: dict[str, EntityKind]) -> dict[str, EntityKind]:
    """The shortest distinct prefix of each counted kind's name: carrier -> c, session -> s."""
    counted = [k for k in kinds.values() if not k.singleton]
    out = dict(kinds)
    for kind in counted:
        for length in range(1, len(kind.name) + 1):
            prefix = kind.name[:length]
            if all(not other.name.startswith(prefix) for other in counted if other is not kind):
                break
        out[kind.name] = EntityKind(kind.name, kind.count, kind.fields, prefix)
    return out


def trace_from_doc(doc: dict[str, Any], name: str) -> Trace:
    """A trace pgcheck has just built in memory, of any model (the runtime model or a spec of
    checker/examples/): the same checks as `parse_trace` but for the model's name."""
    return _build(doc, doc.get("#meta", {}), name)
