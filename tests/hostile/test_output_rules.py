"""The writer's rules in process (checker/output.py, report's manifest) and the coverage column
that varied between runs with two workers (item 11)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.coverage import coverage, coverage_lines
from pgcheck.checker.explicit.explore import Result
from pgcheck.checker.output import write_output
from pgcheck.model import load, make_config

from pgcheck.commands.report import MANIFEST, write_bundle


def test_write_output_writes_into_the_file_itself(tmp_path: Path) -> None:
    """No temporary file renamed over the target: a hard link to it sees the new text."""
    target = tmp_path / "t.txt"
    target.write_text("old")
    os.link(target, tmp_path / "hard-link")
    write_output(target, "new", "--out")
    assert (tmp_path / "hard-link").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard-link", "t.txt"]


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory", "device", "empty"])
def test_write_output_refuses_what_is_not_a_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "x"
    if kind == "symlink":
        (tmp_path / "real").write_text("keep")
        target.symlink_to(tmp_path / "real")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "device":
        target = Path("/dev/full")
    with pytest.raises(UsageError):
        write_output("" if kind == "empty" else target, "data", "--out")
    if kind == "symlink":
        assert target.is_symlink() and (tmp_path / "real").read_text() == "keep"
    assert Path("/dev/full").is_char_device()


def test_report_replaces_and_removes_only_what_it_wrote(tmp_path: Path) -> None:
    """Item 5: a later --out replaces its own files, removes its own stale ones, keeps the user's."""
    write_bundle({"README.md": b"v1", "diagrams/a.svg": b"a", "diagrams/old.svg": b"o"}, tmp_path)
    (tmp_path / "diagrams" / "mine.svg").write_text("the user's")
    write_bundle({"README.md": b"v2", "diagrams/a.svg": b"a2"}, tmp_path)
    assert (tmp_path / "README.md").read_bytes() == b"v2"
    assert not (tmp_path / "diagrams" / "old.svg").exists()
    assert (tmp_path / "diagrams" / "mine.svg").read_text() == "the user's"
    listed = [n for n in (tmp_path / MANIFEST).read_text().splitlines() if not n.startswith("#")]
    assert listed == ["README.md", "diagrams/a.svg"]
    (tmp_path / "diagrams" / "b.svg").write_text("also the user's")
    with pytest.raises(UsageError, match="did not write"):
        write_bundle({"README.md": b"v3", "diagrams/b.svg": b"b"}, tmp_path)
    assert (tmp_path / "diagrams" / "b.svg").read_text() == "also the user's"
    assert (tmp_path / "README.md").read_bytes() == b"v2"


def test_a_folder_without_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("a repository's readme")
    with pytest.raises(UsageError, match="did not write"):
        write_bundle({"README.md": b"bundle"}, tmp_path)
    assert (tmp_path / "README.md").read_text() == "a repository's readme"


def result_with(workers: int, nb: int) -> Result:
    return Result(verdict="ok", distinct=1, generated=1, depth=0, elapsed=0.0, peak_rss_bytes=0, symmetry=False,
                  fired=[1] * nb, new_states=[1] * nb, workers=workers)


def test_new_states_are_given_only_where_repeatable() -> None:
    """Item 11: with two workers the 'new states' column varied between runs."""
    model = load(make_config("pooled", 1, 1, {})).trace()
    one = coverage(model, result_with(1, len(model.bindings)))
    two = coverage(model, result_with(2, len(model.bindings)))
    assert all(r.new_states is not None for r in one)
    assert all(r.new_states is None for r in two)
    assert any("with one worker only" in line for line in coverage_lines(two))
    assert not any("with one worker only" in line for line in coverage_lines(one))
