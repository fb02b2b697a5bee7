"""Hostile event logs for `check-trace` (items 2, 4, 10, 11 of the hostile-input work): a real
log of the reference server broken at one place (wrong types in params and writes, huge
numbers, deep nesting, unhashable values, control characters, indices out of range, a
missing `b`), lines repeated, dropped or swapped, damaged bytes, special files, and
hostile --trace-out paths. Each case: one line and exit 2, or a verdict (0 conforms,
1 mismatch) printed without raw control characters; only --trace-out may be written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pgcheck.reference import FileSink, Runtime, RuntimeConfig
from pgcheck.reference.stress import run_stress

from tests.hostile.conftest import new_case_dir
from tests.hostile.harness import Sandbox, changed, check_outcome, snapshot, special_files
from tests.hostile.strategies import RAW_VALUES, apply, damaged_text, edits

DEVICES = [Path("/dev/full"), Path("/dev/null"), Path("/dev/zero")]
SESSIONS, CARRIERS = 4, 2
EXAMPLES = 70


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """A short real log: 4 clients on 2 carriers, with LISTEN/NOTIFY and a terminate."""
    log = tmp_path_factory.mktemp("log") / "events.jsonl"
    rt = Runtime(RuntimeConfig(carriers=CARRIERS), sink=FileSink(log)).start()
    try:
        result = run_stress(rt.port, clients=SESSIONS, queries_per_client=4, think_ms=(0, 5), seconds=3.0, seed=2,
                            terminate=rt.terminate_backend)
        assert result.failures == []
        assert rt.wait_sessions_ended(20.0)
    finally:
        rt.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return lines[:120]  # a prefix is a valid log too: every case stays quick


def render(lines: list[object]) -> str:
    return "".join(json.dumps(x, sort_keys=True, separators=(",", ":")) + "\n" for x in lines)


@st.composite
def hostile_logs(draw: st.DrawFn, lines: list[dict[str, object]]) -> tuple[str, bytes]:
    how = draw(st.sampled_from(["plausible", "plausible", "plausible", "edit", "edit", "edit", "edit", "edit", "repeat", "drop", "swap", "damaged", "raw line", "index"]))
    n = len(lines)
    if how == "edit":
        i = draw(st.integers(0, n - 1))
        e = draw(edits(lines[i], (("params", "b"), ("params", "c"), ("params", "ready"), ("writes", "backend[0].wake"))))
        text = render(lines[:i]) + apply(lines[i], e) + "\n" + render(lines[i + 1 :])
        return f"line {i + 1}: {e.describe()}", text.encode("utf-8", "surrogatepass")
    if how == "plausible":  # a written value of the right type but another value: a verdict, not a refusal
        i = draw(st.integers(0, n - 1))
        line = json.loads(json.dumps(lines[i]))
        writes = line["writes"]
        if writes:
            key = draw(st.sampled_from(sorted(writes)))
            old = writes[key]
            if isinstance(old, bool):
                writes[key] = not old
            elif isinstance(old, int):
                writes[key] = old + draw(st.integers(1, 3))
            elif isinstance(old, str):
                writes[key] = draw(st.sampled_from(["parked", "runnable", "none", "top", "gone", "\x1b[31mred", old + "x"]))
            elif isinstance(old, list):
                writes[key] = draw(st.sampled_from([[], [0], ["LOGICAL"], [1, 0]]))
            else:
                writes[key] = draw(st.sampled_from([0, 1, None]))
        return f"line {i + 1}: plausible write", render([*lines[:i], line, *lines[i + 1 :]]).encode()
    if how == "repeat":
        i = draw(st.integers(0, n - 1))
        return f"line {i + 1} twice", render([*lines[: i + 1], lines[i], *lines[i + 1 :]]).encode()
    if how == "drop":
        i = draw(st.integers(1, n - 1))
        return f"line {i + 1} dropped", render(lines[:i] + lines[i + 1 :]).encode()
    if how == "swap":
        i = draw(st.integers(1, n - 2))
        return f"lines {i + 1}, {i + 2} swapped", render([*lines[:i], lines[i + 1], lines[i], *lines[i + 2 :]]).encode()
    if how == "index":
        i = draw(st.integers(0, n - 1))
        line = json.loads(json.dumps(lines[i]))
        key = draw(st.sampled_from(["backend[99].pc", "carrier[7].loc", "backend[-1].q", "backend[01].q", "x.y", "backend[0]"]))
        line["writes"][key] = "parked"
        return f"line {i + 1}: writes {key}", render([*lines[:i], line, *lines[i + 1 :]]).encode()
    if how == "raw line":
        i = draw(st.integers(0, n))
        raw = draw(st.sampled_from(RAW_VALUES))
        return f"raw line {i + 1}", (render(lines[:i]) + raw + "\n" + render(lines[i:])).encode("utf-8", "surrogatepass")
    data = draw(damaged_text(render(lines)))
    return f"damaged {data[:30]!r}", data


trace_out_targets = st.sampled_from(["none", "none", "none", "none", "new name", "new name", "fifo", "symlink to a user file", "directory", "/dev/full", "empty"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), target=trace_out_targets)
def test_check_trace_refuses_or_judges(
    sandbox: Sandbox, arena: Path, log_lines: list[dict[str, object]], data: st.DataObject, target: str
) -> None:
    what, content = data.draw(hostile_logs(log_lines))
    case = new_case_dir(arena)
    log = case / "events.jsonl"
    log.write_bytes(content)
    argv = ["check-trace", str(log), "--carriers", str(CARRIERS), "--sessions", str(SESSIONS)]
    allowed: set[str] = set()
    if target == "new name":
        allowed = {str(case / "prefix.itf.json")}
        argv += ["--trace-out", str(case / "prefix.itf.json")]
    elif target == "empty":
        argv += ["--trace-out", ""]
    elif target != "none":
        argv += ["--trace-out", str(special_files(case / "specials")[target])]
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run(argv, case)
    event(f"exit {out.code}")
    where = f"check-trace {what}, --trace-out {target}"
    check_outcome(out, verdicts=(0, 1), must_refuse=target not in ("none", "new name"), where=where)
    assert changed(before, snapshot(roots), allowed) == [], where


@pytest.mark.parametrize("special", ["fifo", "symlink to /dev/zero", "directory", "/dev/zero"])
def test_special_files_are_refused_without_reading(sandbox: Sandbox, arena: Path, special: str) -> None:
    """Item 4: /dev/zero as a log was read until memory ran out."""
    case = new_case_dir(arena)
    path = special_files(case / "specials")[special]
    out = sandbox.run(["check-trace", str(path), "--sessions", "2"], case)
    check_outcome(out, must_refuse=True, where=special)


def test_a_repeated_seq_is_named_as_such(sandbox: Sandbox, arena: Path, log_lines: list[dict[str, object]]) -> None:
    """Item 11: a duplicate seq was reported as "gap-free (events lost?)"."""
    case = new_case_dir(arena)
    (case / "e.jsonl").write_text(render([*log_lines[:5], log_lines[4], *log_lines[5:]]))
    out = sandbox.run(["check-trace", str(case / "e.jsonl"), "--sessions", str(SESSIONS)], case)
    check_outcome(out, must_refuse=True)
    assert "repeated or reordered" in out.stderr and "events lost" not in out.stderr


def test_a_mismatch_line_cannot_be_overwritten(sandbox: Sandbox, arena: Path, log_lines: list[dict[str, object]]) -> None:
    """Item 10: a value with CR and ESC [2K would erase the start of the MISMATCH line."""
    case = new_case_dir(arena)
    lines = json.loads(json.dumps(log_lines))
    first_write = next(i for i, e in enumerate(lines) if any(k.endswith(".pc") for k in e["writes"]))  # type: ignore[attr-defined]
    key = next(k for k in lines[first_write]["writes"] if k.endswith(".pc"))  # type: ignore[index]
    lines[first_write]["writes"][key] = "\r\x1b[2Kok - all events match"  # type: ignore[index]
    (case / "e.jsonl").write_text(render(lines))
    out = sandbox.run(["check-trace", str(case / "e.jsonl"), "--carriers", str(CARRIERS), "--sessions", str(SESSIONS)], case)
    check_outcome(out, verdicts=(1,))
    assert "MISMATCH" in out.stdout and "\\r\\x1b[2Kok" in out.stdout
