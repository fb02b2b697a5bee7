"""Hostile ITF traces for `show` and `view` (items 1, 2, 4, 10 of the hostile-input work):
a document broken at one place (wrong types, huge numbers, deep nesting, lone surrogates,
control characters, a declared entity count that disagrees with the states), damaged
bytes, and paths that are devices, FIFOs, directories or symlinks, for the trace and for
view's --out. Each case must be refused in one line (exit 2) or shown correctly, within
the sandbox's memory and time limits, changing nothing but view's own output file."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import new_case_dir
from tests.hostile.harness import Sandbox, changed, check_outcome, snapshot, special_files
from tests.hostile.strategies import apply, damaged_text, edits

ROOT = Path(__file__).resolve().parents[2]
VALID = json.loads((ROOT / "tests/data/migrated_resume.itf.json").read_text())
DEVICES = [Path("/dev/full"), Path("/dev/null"), Path("/dev/zero")]
# Places an edit can reach that paths() would not pick often: the declared counts.
COUNT_PATHS = (("#meta", "entities", "session", "count"), ("#meta", "entities", "carrier", "count"),
               ("#meta", "entities", "session", "fields"), ("#meta", "entities", "carrier", "fields", "cur", "kind"))
EXAMPLES = 70

trace_inputs = st.one_of(
    edits(VALID, COUNT_PATHS).map(lambda e: ("edit", e.describe(), apply(VALID, e).encode("utf-8", "surrogatepass"))),
    damaged_text(json.dumps(VALID)).map(lambda b: ("damaged", repr(b[:40]), b)),
    st.sampled_from(["fifo", "symlink to /dev/zero", "directory", "/dev/zero", "/dev/null"]).map(lambda k: ("special", k, b"")),
)
out_targets = st.sampled_from(["new name", "new name", "new name", "existing file", "nested new name", "fifo", "symlink to a user file",
                               "directory", "/dev/full", "/dev/null", "empty"])


def place_input(case: Path, kind: str, what: str, data: bytes) -> Path:
    if kind == "special":
        return special_files(case / "specials")[what]
    path = case / "trace.itf.json"
    path.write_bytes(data)
    return path


def place_output(case: Path, target: str) -> tuple[str, bool]:
    """The --out argument and whether writing there is allowed (a regular file or a new name)."""
    if target == "new name":
        return str(case / "page.html"), True
    if target == "nested new name":
        return str(case / "pages" / "deep" / "page.html"), True
    if target == "existing file":
        (case / "old.html").write_text("an earlier page\n")
        return str(case / "old.html"), True
    if target == "empty":
        return "", False
    return str(special_files(case / "specials")[target]), False


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(trace=trace_inputs, full=st.booleans())
def test_show_refuses_or_shows(sandbox: Sandbox, arena: Path, trace: tuple[str, str, bytes], full: bool) -> None:
    case = new_case_dir(arena)
    path = place_input(case, *trace)
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run(["show", str(path), *(["--full"] if full else [])], case)
    event(f"exit {out.code}")
    check_outcome(out, where=f"show {trace[0]}: {trace[1]}")
    assert changed(before, snapshot(roots), set()) == []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(trace=trace_inputs, target=out_targets)
def test_view_refuses_or_writes_only_its_page(
    sandbox: Sandbox, arena: Path, trace: tuple[str, str, bytes], target: str
) -> None:
    case = new_case_dir(arena)
    path = place_input(case, *trace)
    out_arg, allowed = place_output(case, target)
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run(["view", str(path), "--out", out_arg], case)
    event(f"exit {out.code}")
    where = f"view {trace[0]}: {trace[1]} --out {target}"
    check_outcome(out, where=where, must_refuse=not allowed)
    after = snapshot(roots)
    assert changed(before, after, {out_arg} if allowed else set()) == [], where
    if out.code == 0:
        assert Path(out_arg).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_view_of_a_huge_declared_count_is_refused_at_once(sandbox: Sandbox, arena: Path) -> None:
    """Item 1: a 50 KB trace declaring 10**18 sessions looped over the count (7.8 GB)."""
    case = new_case_dir(arena)
    doc = json.loads(json.dumps(VALID))
    doc["#meta"]["entities"]["session"]["count"] = 10**18
    (case / "t.json").write_text(json.dumps(doc))
    out = sandbox.run(["view", str(case / "t.json"), "--out", str(case / "t.html")], case)
    check_outcome(out, must_refuse=True)
    assert "count" in out.stderr and not (case / "t.html").exists()


def test_show_escapes_what_would_rewrite_the_terminal(sandbox: Sandbox, arena: Path) -> None:
    """Item 10: a step label with ESC ] (retitle) and CR (erase the line start) is printed escaped."""
    case = new_case_dir(arena)
    doc = json.loads(json.dumps(VALID))
    doc["#meta"]["steps"][1]["action"] = "\x1b]0;owned\x07\rok"
    (case / "t.json").write_text(json.dumps(doc))
    out = sandbox.run(["show", str(case / "t.json")], case)
    check_outcome(out)
    assert "\\x1b]0;owned\\x07\\x0dok" in out.stdout
