"""Render a trace in the terminal (`pgcheck show`).

A header (what was violated, the configuration), the initial state one entity per line,
then one block per step: the action with its parameters and only the fields that changed
(`session[1].q: parked -> polling`), and a note on a migrated resume. `full=True` prints
the whole state after each step.

Lines are rich `Text` objects (never markup strings, so text from the trace is never
interpreted); on a terminal they are coloured, otherwise they are plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from pgcheck.checker.traces.explanation import node_label, read_explanation, read_lasso_notes, tree_lines
from pgcheck.checker.traces.itf_read import Change, Trace, format_meta, format_plain
from pgcheck.checker.traces.viewer import session_events
from rich.console import Console
from rich.text import Text

INDENT = "  "


def header_lines(trace: Trace) -> list[Text]:
    """What the trace shows, the property, the configuration and the entities involved."""
    meta = trace.meta
    prop = trace.checked_property
    lines: list[Text] = []
    if prop is not None:
        verb = "reached" if trace.kind == "witness" else "violated"
        title = Text(f"{trace.kind}: ", style="bold")
        title.append(f"{prop.get('id', '?')} ({prop.get('kind', 'property')}) {verb}", style="bold red")
        lines.append(title)
        statement = Text(INDENT + str(prop.get("statement", "")))
        if prop.get("citation"):
            statement.append(f"  [{prop['citation']}]", style="dim")
        lines.append(statement)
    else:
        lines.append(Text(f"{trace.kind}: no property", style="bold"))
    keys = ("model", "mode", "mutation", "engine", "seed")
    config = [f"{key} {format_meta(meta.get(key))}" for key in keys]
    lines.append(Text(", ".join(config)))
    params = describe_params(trace.params)
    lines.append(Text(f"params: {params}" if params else "params: (none)"))
    if trace.highlight:
        about = ", ".join(trace.instance_name(kind, index) for kind, index in trace.highlight)
        lines.append(Text(f"about: {about}"))
    last = len(trace.states) - 1
    summary = f"{len(trace.states)} states, {last} steps"
    if trace.loop is not None:
        summary += f"; lasso: after state {last} the run steps back to state {trace.loop} and repeats"
    lines.append(Text(summary))
    return lines


def why_lines(trace: Trace) -> list[Text]:
    """Why the property broke (or the witness holds): its evaluation tree on that state; for a
    lasso, what never happens and why the cycle is fair."""
    lines: list[Text] = []
    prop = trace.checked_property or {}
    why = read_explanation(trace.meta, len(trace.states))
    if why is not None:
        verb = "holds" if trace.kind == "witness" else "is violated"
        after = " by the next step, the offending one (the rule on the state before it)" if prop.get("kind") == "action" else ""
        lines.append(Text(f"why: {prop.get('id', 'the property')} {verb} in state {why.state}{after}", style="bold"))
        for depth, node in tree_lines(why.tree):
            line = Text(INDENT * (depth + 1))
            if node.path:
                line.append(node.path, style="cyan")
                line.append(" = ")
                line.append(node.value, style="bold")
            else:
                line.append(node_label(node), style="bold red" if node.value == "false" else "")
            lines.append(line)
        if why.cut:
            lines.append(Text(f"{INDENT}({why.cut} more sub-expressions not shown)", style="dim"))
    notes = read_lasso_notes(trace.meta)
    if notes is not None:
        title = Text("never: ", style="bold")
        title.append(notes.never, style="bold red")
        lines.append(title)
        if notes.fair_under:
            lines.append(Text("fair: the cycle is fair under the declared fairness", style="bold"))
            lines += [Text(INDENT + note) for note in notes.fair_under]
    return lines


def state_lines(trace: Trace, index: int, changed: set[str] | None = None) -> list[Text]:
    """The whole state, one entity instance or singleton per line: `carrier[0]: loc=loop cur=s1`."""
    lines = []
    for kind, i, record in trace.records(trace.states[index]):
        name = trace.instance_name(kind, i)
        line = Text(f"{INDENT}{name}:", style="cyan")
        for field, value in record.items():
            style = "bold yellow" if changed and f"{name}.{field}" in changed else ""
            line.append(" ")
            line.append(f"{field}={trace.format_value(kind, field, value)}", style=style)
        lines.append(line)
    return lines


def step_lines(trace: Trace, index: int, full: bool) -> list[Text]:
    """The action that produced state `index` and what it changed (or the whole state)."""
    title = Text(f"step {index}: ", style="bold")
    title.append(trace.step_label(index), style="bold magenta")
    if trace.loop == index and index > 0:
        title.append("   <- loop starts here", style="bold blue")
    prop = trace.checked_property
    if prop is not None and prop.get("kind") == "action" and index == len(trace.states) - 1:
        title.append(f"   <- the offending step: it breaks {prop.get('id', '?')}", style="bold red")
    lines = [title]
    changes = trace.changes(index)
    if full:
        lines += state_lines(trace, index, {c.path for c in changes})
        return lines
    if not changes:
        lines.append(Text(f"{INDENT}(no field changed)", style="dim"))
    for change in changes:
        line = Text(INDENT)
        line.append(change.path, style="cyan")
        line.append(": ")
        line.append(change.before, style="dim")
        line.append(" -> ")
        line.append(change.after, style="bold green")
        lines.append(line)
    for event in session_events(trace, index):
        if event.kind == "migrated":
            lines.append(Text(f"{INDENT}=> {event.entity}: {event.text}", style="bold red"))
    return lines


def _grouped(changes: list[Change]) -> list[Text]:
    """Changes one line per entity instance: `carrier[0]: loc loop -> step, cur none -> s0`."""
    by: dict[str, list[Change]] = {}
    for change in changes:
        owner, _, name = change.path.rpartition(".")
        by.setdefault(owner, []).append(Change(name, change.before, change.after))
    lines = []
    for owner, items in by.items():
        line = Text(INDENT * 2)
        line.append(owner, style="cyan")
        line.append(":")
        for k, c in enumerate(items):
            line.append(" " if k == 0 else ", ")
            line.append(f"{c.path} {c.before} -> ")
            line.append(c.after, style="bold green")
        lines.append(line)
    return lines


def compact_lines(trace: Trace) -> list[Text]:
    """The steps as `explore` prints them: changes grouped per entity, runs of steps that change
    nothing collapsed into one line."""
    lines: list[Text] = []
    index = 1
    last = len(trace.states) - 1
    while index <= last:
        if not trace.changes(index) and trace.loop != index:
            end = index
            while end + 1 <= last and not trace.changes(end + 1) and trace.loop != end + 1:
                end += 1
            span = f"step {index}" if end == index else f"steps {index}-{end}"
            labels = ", ".join(trace.step_label(k) for k in range(index, end + 1))
            lines.append(Text(f"{INDENT}{span}: {labels}  (no field changed)", style="dim"))
            index = end + 1
            continue
        title = Text(f"{INDENT}step {index}: ", style="bold")
        title.append(trace.step_label(index), style="bold magenta")
        if trace.loop == index:
            title.append("   <- loop starts here", style="bold blue")
        lines.append(title)
        lines += _grouped(trace.changes(index))
        for event in session_events(trace, index):
            if event.kind == "migrated":
                lines.append(Text(f"{INDENT * 2}=> {event.entity}: {event.text}", style="bold red"))
        index += 1
    if trace.loop is not None:
        lines.append(Text(f"{INDENT}loop: state {last} steps back to state {trace.loop}", style="bold blue"))
    return lines


def render(trace: Trace, full: bool = False) -> list[Text]:
    """Every line `pgcheck show` prints, in order."""
    lines = header_lines(trace)
    why = why_lines(trace)
    if why:
        lines.append(Text(""))
        lines += why
    lines.append(Text(""))
    title = Text("state 0: initial state", style="bold")
    if trace.loop == 0:
        title.append("   <- loop starts here", style="bold blue")
    lines.append(title)
    lines += state_lines(trace, 0)
    for index in range(1, len(trace.states)):
        lines += step_lines(trace, index, full)
    if trace.loop is not None:
        last = len(trace.states) - 1
        lines.append(Text(f"loop: state {last} steps back to state {trace.loop}", style="bold blue"))
    return lines


def make_console(stream: TextIO) -> Console:
    """Colour on a terminal, plain text anywhere else (pipes, files, tests), never wrapped."""
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    return Console(
        file=stream, force_terminal=is_tty, highlight=False, markup=False, emoji=False, soft_wrap=True
    )


def print_trace(trace: Trace, stream: TextIO, full: bool = False) -> None:
    console = make_console(stream)
    for line in render(trace, full):
        console.print(line)


def plain(lines: list[Text]) -> str:
    """The rendered lines as plain text (what a pipe receives)."""
    return "".join(line.plain + "\n" for line in lines)


def describe_params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={format_plain(v)}" for k, v in params.items())
