"""`pgcheck report`: a deterministic design-review bundle derived from the explored graph,
`--check` that catches drift, and the committed docs/review/ kept current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pgcheck.checker.review.bundle as report_module
import pytest
from click.testing import CliRunner
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.review.bundle import Settings, build_bundle, diagram_config, explore_graph, project_graph
from pgcheck.model import load
from pgcheck.model.config import ModelConfig
from variants import VARIANT_BY_ID, s3_detach_stays_in_step

from pgcheck.cli import main
from pgcheck.commands.report import stale_files

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "review"
# A smaller matrix than the committed bundle, so the tests that generate it stay quick.
SMALL = Settings(max_sessions=2, max_carriers=2, budget=500)
SMALL_ARGS = ["--max-sessions", "2", "--max-carriers", "2", "--budget", "500"]


def report(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def small_bundle() -> dict[str, bytes]:
    return build_bundle(SMALL)


def test_committed_bundle_is_current() -> None:
    """The CI guard: a model change without a regenerated docs/review/ fails here."""
    code, out, err = report("--check", str(COMMITTED))
    assert code == 0, f"docs/review/ is stale (run 'pgcheck report --out docs/review'):\n{out}{err}"
    assert out.startswith(f"{COMMITTED}: ")


def test_two_runs_are_byte_identical(small_bundle: dict[str, bytes], tmp_path: Path) -> None:
    """A second, independent run (through the command line) writes the same bytes."""
    code, out, err = report("--out", str(tmp_path), *SMALL_ARGS)
    assert code == 0, err
    assert out.strip() == f"{tmp_path}/README.md ({len(small_bundle)} files)"
    written = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert sorted(written) == sorted(small_bundle)
    assert [name for name in small_bundle if written[name] != small_bundle[name]] == []


def _write(bundle: dict[str, bytes], folder: Path) -> None:
    for name, data in bundle.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def test_bundle_has_no_absolute_paths_or_clock(small_bundle: dict[str, bytes]) -> None:
    here = str(ROOT)
    for name, data in small_bundle.items():
        text = data.decode("utf-8")
        assert here not in text, name
        assert not re.search(r"\b20\d\d-\d\d-\d\d[T ]\d\d:\d\d", text), name


def test_index_links_every_file(small_bundle: dict[str, bytes]) -> None:
    index = small_bundle["README.md"].decode()
    linked = set(re.findall(r"\]\(([^)]+)\)", index))
    pages = {n for n in small_bundle if n != "README.md" and not n.endswith(".dot")}
    assert pages - linked == set()
    assert linked - set(small_bundle) == set()


def test_the_settings_are_stated_in_the_bundle(small_bundle: dict[str, bytes]) -> None:
    index = small_bundle["README.md"].decode()
    assert "carriers 1-2 (pooled), sessions 1-2, each explored completely" in index
    assert "a guard of 500 distinct states per configuration" in index
    assert "guard: 500 distinct states" in small_bundle["sizes.md"].decode()


def test_check_reports_a_changed_and_a_missing_file(small_bundle: dict[str, bytes], tmp_path: Path) -> None:
    _write(small_bundle, tmp_path)
    (tmp_path / "coverage.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "diagrams" / "pooled-session.svg").unlink()
    code, out, err = report("--check", str(tmp_path), *SMALL_ARGS)
    assert code == 1
    assert out.splitlines() == ["stale: coverage.md", "missing: diagrams/pooled-session.svg"]
    assert len(err.strip().splitlines()) == 1


def test_check_fails_after_a_change_to_the_model(
    small_bundle: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle written from the correct model goes stale when Detach changes (S3's broken
    body, swapped in wherever the mode has a Detach action)."""
    _write(small_bundle, tmp_path)

    def changed_model(cfg: ModelConfig) -> Spec:
        spec = load(cfg)
        if any(a.name == "Detach" for a in spec.actions):
            s3_detach_stays_in_step(spec, cfg)
        return spec

    monkeypatch.setattr(report_module, "load", changed_model)
    lines = stale_files(build_bundle(SMALL), tmp_path)
    assert "stale: diagrams/pooled-carrier.dot" in lines
    assert "stale: diagrams/pooled-carrier.md" in lines
    assert all(not line.startswith("stale: diagrams/process-") for line in lines)


def test_check_matches_what_out_wrote(small_bundle: dict[str, bytes], tmp_path: Path) -> None:
    _write(small_bundle, tmp_path)
    assert stale_files(small_bundle, tmp_path) == []
    (tmp_path / "leftover.md").write_text("x", encoding="utf-8")
    assert stale_files(small_bundle, tmp_path) == ["extra: leftover.md"]


def _dot_labels(dot: str) -> set[str]:
    labels: set[str] = set()
    for m in re.finditer(r'-> n\d+ \[label="([^"]*)"\]', dot):
        labels.update(m.group(1).split("\\n"))
    return labels


def test_every_edge_label_is_an_action_that_fired() -> None:
    for mode in ("pooled", "thread-per-session", "process"):
        run = explore_graph(load(diagram_config(mode, Settings())))
        fired = {b.action for b in run.model.bindings if run.result.fired[b.index] > 0}
        for kind in ("session", "carrier", "sched"):
            g = project_graph(run, kind)
            assert g.edges or (mode, kind) in {("process", "carrier"), ("process", "sched")}, (mode, kind)
            assert g.labels() <= fired, (mode, kind, g.labels() - fired)


def test_dot_and_mermaid_carry_the_same_edges(small_bundle: dict[str, bytes]) -> None:
    dot = small_bundle["diagrams/pooled-session.dot"].decode()
    mermaid = small_bundle["diagrams/pooled-session.md"].decode()
    dot_edges = len(re.findall(r"n\d+ -> n\d+", dot))
    mermaid_edges = len(re.findall(r"n\d+ --> n\d+", mermaid))
    assert dot_edges == mermaid_edges > 0
    assert "<svg" in small_bundle["diagrams/pooled-session.svg"].decode()
    assert "Detach" in _dot_labels(dot)


def test_every_svg_is_well_formed_xml(small_bundle: dict[str, bytes]) -> None:
    svgs = [name for name in small_bundle if name.endswith(".svg")]
    assert svgs
    for name in svgs:
        root = ElementTree.fromstring(small_bundle[name])
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name


def test_a_broken_variant_draws_a_transition_the_model_lacks() -> None:
    """S3's broken Detach keeps the carrier "in the step" with nothing attached: the carrier
    diagram grows an edge into (step, free) that the correct model never has."""
    v = VARIANT_BY_ID["S3"]
    broken = project_graph(explore_graph(v.build()), "carrier")
    correct = project_graph(explore_graph(load(v.cfg)), "carrier")
    new = {edge: names for edge, names in broken.edges.items() if edge not in correct.edges}
    assert (("step", "attached"), ("step", "free")) in new
    assert "Detach" in new[(("step", "attached"), ("step", "free"))]
    assert ("step", "free") not in correct.nodes()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "exactly one of --out"),
        (["--out", "a", "--check", "b"], "exactly one of --out"),
        (["--check", "/nonexistent/review"], "no such folder"),
        (["--out", "FILE"], "is not a folder"),
        (["--out", "DIR", "--option", "nonsense=1"], "unknown option"),
        (["--out", "DIR", "--budget", "0"], "--budget"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "file.txt").write_text("not a folder", encoding="utf-8")
    args = [str(tmp_path / "file.txt") if a == "FILE" else str(tmp_path / "out") if a == "DIR" else a for a in args]
    code, out, err = report(*args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err


def test_witness_pages_show_a_run_to_their_witness(small_bundle: dict[str, bytes]) -> None:
    index = small_bundle["README.md"].decode()
    rows = re.findall(r"^\| \[(W-[\w-]+)\]\((witnesses/[\w-]+\.html)\) \| [^|]+ \| (\d+) \|", index, re.M)
    assert {wid for wid, _, _ in rows} >= {"W-park", "W-migrated-resume"}
    for wid, page, steps in rows:
        html = small_bundle[page].decode()
        match = re.search(r'<script type="application/json" id="page-model">(.*?)</script>', html, re.S)
        assert match, page
        model = json.loads(match.group(1))
        text = json.dumps(model)
        assert f'"{wid}"' in text
        assert '"witness"' in text
        assert len(model["steps"]) == int(steps) + 1, page


def test_html_index_links_every_page(small_bundle: dict[str, bytes]) -> None:
    index = small_bundle["index.html"].decode()
    linked = set(re.findall(r'href="([^"]+)"', index)) - {"data:,"}
    pages = {n for n in small_bundle if n != "index.html" and not n.endswith(".dot") and not n.startswith("diagrams/")}
    assert pages - linked == set()
    assert linked - set(small_bundle) == set()
    assert "<script" not in index


def test_every_seeded_bug_has_a_counterexample_page(small_bundle: dict[str, bytes]) -> None:
    from pgcheck.model.mutations import CATALOGUE

    pages = sorted(n for n in small_bundle if n.startswith("bugs/"))
    assert pages == sorted(f"bugs/{m.name}.html" for m in CATALOGUE)
    for m in CATALOGUE:
        html = small_bundle[f"bugs/{m.name}.html"].decode()
        model = json.loads(re.search(r'id="page-model">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
        assert model["property"]["id"] == m.expected, m.name
        assert model["why"] is not None or model["lasso"] is not None, m.name  # the page says why


def test_ids_sort_naturally(small_bundle: dict[str, bytes]) -> None:
    catalogue = small_bundle["properties.md"].decode().split("## ")[0]
    ids = re.findall(r"^\| (S\d+) \|", catalogue, re.M)
    assert ids == sorted(ids, key=lambda i: int(i[1:])) and ids.index("S2") < ids.index("S10")


def test_matrix_verdicts_are_complete() -> None:
    from pgcheck.checker.review.bundle import run_matrix

    rows = run_matrix(Settings(max_sessions=2, max_carriers=1))
    assert [r.verdict for r in rows] == ["ok"] * len(rows)
    assert all(v == "holds" for r in rows for v in r.invariants.values())
    assert any(v.startswith("reached") for r in rows for v in r.witnesses.values())
