"""Hostile checkpoint folders for `explore --resume` and `--checkpoint` (items 4, 9, 11 of the
hostile-input work): run.json broken at one place (missing keys, wrong types, huge numbers,
deep nesting), search.ckpt flipped, cut or replaced by a FIFO, directory or symlink, and
checkpoint folders that hold the user's files. A resume either continues (exit 0 or 3) or
is refused in one line, and a refused one changes nothing."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pgcheck.checker.run.check import native_unavailable
from pgcheck.model import load, make_config

from tests.hostile.conftest import new_case_dir
from tests.hostile.harness import ROOT, Sandbox, changed, check_outcome, snapshot, special_files
from tests.hostile.strategies import apply, damaged_text, edits

pytestmark = pytest.mark.skipif(
    native_unavailable(load(make_config("pooled", 1, 1, {})).trace()) is not None, reason="no C compiler"
)
# The design model: these runs must complete (the code model stops at a finding of the C code).
SMALL = ["--model=design", "--carriers=2", "--sessions=2", "--no-symmetry"]
EXAMPLES = 40


def pgcheck(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pgcheck", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd, env=env)


def counts(proc: subprocess.CompletedProcess[str]) -> tuple[object, ...]:
    doc = json.loads(proc.stdout)
    return tuple(doc[k] for k in ("verdict", "distinct_states", "generated_states", "depth", "witnesses"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A search of 2 carriers x 2 sessions stopped by --max-states: item 9 saves it."""
    d = tmp_path_factory.mktemp("ckpt") / "run"
    done = pgcheck("explore", *SMALL, "--checkpoint", str(d), "--max-states", "300", "-q")
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"continue it with --resume {d}" in done.stdout
    return d


@st.composite
def damaged_checkpoints(draw: st.DrawFn, saved: Path) -> tuple[str, str, object]:
    """(file, how, detail): which file of the folder is broken and how."""
    run = json.loads((saved / "run.json").read_text())
    target = draw(st.sampled_from(["run.json", "run.json", "search.ckpt"]))
    how = draw(st.sampled_from(["edit", "damaged", "special"] if target == "run.json" else ["flip", "cut", "special", "missing"]))
    if how == "edit":
        e = draw(edits(run, (("mode",), ("carriers",), ("sessions",), ("options",), ("symmetry",), ("format",))))
        return target, how, apply(run, e).encode("utf-8", "surrogatepass")
    if how == "damaged":
        return target, how, draw(damaged_text(json.dumps(run)))
    if how == "special":
        return target, how, draw(st.sampled_from(["fifo", "directory", "symlink to /dev/zero", "symlink to a user file"]))
    size = (saved / "search.ckpt").stat().st_size
    if how == "flip":
        return target, how, (draw(st.integers(0, size - 1)), draw(st.integers(1, 255)))
    if how == "cut":
        return target, how, draw(st.integers(0, size - 1))
    return target, how, None


def build(case: Path, saved: Path, target: str, how: str, detail: object) -> Path:
    d = case / "ckpt"
    shutil.copytree(saved, d)
    path = d / target
    if how in ("edit", "damaged"):
        assert isinstance(detail, bytes)
        path.write_bytes(detail)
    elif how == "special":
        assert isinstance(detail, str)
        path.unlink()
        src = special_files(case / "specials")[detail]
        if detail == "directory":
            path.mkdir()
        elif detail == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(os.readlink(src))
    elif how == "flip":
        assert isinstance(detail, tuple)
        data = bytearray(path.read_bytes())
        data[detail[0]] ^= detail[1]
        path.write_bytes(bytes(data))
    elif how == "cut":
        assert isinstance(detail, int)
        path.write_bytes(path.read_bytes()[:detail])
    else:
        path.unlink()
    return d


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_resume_continues_or_refuses(sandbox: Sandbox, arena: Path, saved: Path, data: st.DataObject) -> None:
    target, how, detail = data.draw(damaged_checkpoints(saved))
    case = new_case_dir(arena)
    d = build(case, saved, target, how, detail)
    roots = [case, arena / "bystander"]
    before = snapshot(roots)
    out = sandbox.run(["explore", "--resume", str(d), "-q", "--max-states", "600"], case)
    event(f"exit {out.code}")
    where = f"{target} {how} {str(detail)[:60]}"
    check_outcome(out, verdicts=(0, 3), where=where)
    own = {str(d / "search.ckpt"), str(d / "search.ckpt.tmp")} if out.code != 2 else set()
    assert changed(before, snapshot(roots), own) == [], where


@pytest.mark.parametrize("folder", ["foreign files", "a file", "symlink to a folder", "empty name"])
def test_checkpoint_folder_of_the_user_is_refused(sandbox: Sandbox, arena: Path, folder: str) -> None:
    case = new_case_dir(arena)
    target = case / "dir"
    if folder == "foreign files":
        target.mkdir()
        (target / "README.md").write_text("the user's readme\n")
    elif folder == "a file":
        target.write_text("not a folder\n")
    elif folder == "symlink to a folder":
        (case / "real").mkdir()
        target.symlink_to(case / "real")
    arg = "" if folder == "empty name" else str(target)
    roots = [case, arena / "bystander"]
    before = snapshot(roots)
    out = sandbox.run(["explore", *SMALL, "--checkpoint", arg, "-q"], case)
    check_outcome(out, must_refuse=True, where=folder)
    assert changed(before, snapshot(roots), set()) == []


def test_a_refused_checkpoint_leaves_nothing(sandbox: Sandbox, arena: Path) -> None:
    """Item 11: --checkpoint with an engine that cannot save was refused after writing run.json."""
    case = new_case_dir(arena)
    out = sandbox.run(["explore", *SMALL, "--engine", "python", "--checkpoint", str(case / "ck"), "-q"], case)
    check_outcome(out, must_refuse=True)
    assert not (case / "ck").exists()


def test_a_stopped_run_resumes_to_the_counts_of_a_straight_run(tmp_path: Path) -> None:
    """Item 9: stopped by --max-states twice, resumed, the result equals one uninterrupted run."""
    d = tmp_path / "run"
    # Unreduced: with two workers a reduced search's generated count depends on who stores first.
    config = ["--model=design", "--carriers=2", "--sessions=3", "--no-symmetry", "--no-por"]
    first = pgcheck("explore", *config, "--workers=2", "--checkpoint", str(d), "--max-states", "2000", "-q")
    assert first.returncode == 3 and "the search is saved" in first.stdout, first.stdout + first.stderr
    second = pgcheck("explore", "--resume", str(d), "--max-states", "6000", "-q")
    assert second.returncode == 3 and "the search is saved" in second.stdout, second.stdout + second.stderr
    resumed = pgcheck("explore", "--resume", str(d), "-q", "--json")
    straight = pgcheck("explore", *config, "-q", "--json")
    assert resumed.returncode == straight.returncode == 0, resumed.stderr + straight.stderr
    assert counts(resumed) == counts(straight)


def test_a_time_limit_saves_the_search(tmp_path: Path) -> None:
    """Item 9: --time-limit stops the run; its checkpoint continues to the straight result."""
    d = tmp_path / "run"
    config = ["--model=design", "--carriers=3", "--sessions=4", "--no-symmetry"]
    first = pgcheck("explore", *config, "--checkpoint", str(d), "--time-limit", "0.3", "-q")
    assert first.returncode in (0, 3), first.stderr
    if first.returncode == 3:
        assert "--time-limit" in first.stdout and f"continue it with --resume {d}" in first.stdout
        resumed = pgcheck("explore", "--resume", str(d), "-q", "--json")
        straight = pgcheck("explore", *config, "-q", "--json")
        assert counts(resumed) == counts(straight)


def test_two_resumes_of_one_folder_are_locked_out(saved: Path, tmp_path: Path) -> None:
    """Item 11: a second run on a checkpoint folder in use is refused in one line."""
    d = tmp_path / "copy"
    shutil.copytree(saved, d)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running pgcheck holds it
        second = pgcheck("explore", "--resume", str(d), "-q")
    finally:
        os.close(fd)
    assert second.returncode == 2 and "another pgcheck run is using" in second.stderr, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert pgcheck("explore", "--resume", str(d), "-q").returncode == 0  # free again
