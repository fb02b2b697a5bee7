"""`pgcheck serve` in a real chromium: click through the path to the seeded B2 bug (S15),
evaluate an expression there, go back and branch, save the path as ITF; and the viewer's
"why" panel for the same counterexample. Both tests leave screenshots in test-artifacts/
(docs/images/ holds copies for docs/viewer.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pgcheck.checker.run.check import run_check
from pgcheck.checker.traces.explorer_server import ExplorerServer
from pgcheck.checker.traces.explorer_session import ExplorerSession
from pgcheck.checker.traces.itf_read import load_trace, parse_trace
from pgcheck.model import load, make_config, parse_options
from viewer_browser_support import ARTIFACTS

from pgcheck.cli import main

pytestmark = pytest.mark.browser

MUTATION = "stale-latch-after-migration"  # B2: S15 breaks after a migrated resume
SHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="module")
def s15_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shortest S15 counterexample, as `explore` writes it."""
    out = tmp_path_factory.mktemp("s15") / "s15.itf.json"
    spec = load(make_config("pooled", 2, 2, parse_options([])), MUTATION)
    run = run_check(spec, engine="python", trace_out=out, mutation=MUTATION)
    assert run.result.violation is not None and run.result.violation.property_id == "S15"
    return out


@pytest.fixture
def server() -> Iterator[ExplorerServer]:
    model = load(make_config("pooled", 2, 2, parse_options([])), MUTATION).trace()
    srv = ExplorerServer(ExplorerSession(model, mutation=MUTATION), 0, "pgcheck serve · pooled 2x2 · mutation " + MUTATION)
    srv.start()
    yield srv
    srv.stop()


def _choose(page: Any, label: str, cursor: int) -> None:
    buttons = page.locator("#choices button")
    names = buttons.all_inner_texts()
    assert label in names, (label, names)
    buttons.nth(names.index(label)).click()
    page.wait_for_selector(f"body[data-cursor='{cursor}']")


def test_click_through_to_the_s15_violation_branch_and_save(browser: Any, server: ExplorerServer, s15_trace: Path) -> None:
    counterexample = load_trace(s15_trace)
    labels = [counterexample.step_label(i) for i in range(1, len(counterexample.states))]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#path li").all_inner_texts() == ["initial state"]
    assert "every invariant holds here" in page.locator("#status").inner_text()

    for cursor, label in enumerate(labels, 1):
        _choose(page, label, cursor)
        if cursor < len(labels):
            assert page.locator("#status .violated").count() == 0, f"violated early, at {label}"
    assert page.locator("#status .violated").inner_text() == "S15 violated here"
    assert page.locator("#path li").count() == len(labels) + 1
    # the lanes grew: the viewer in the frame shows the whole path, with why S15 broke
    frame = page.frame_locator("#view")
    frame.locator("body[data-ready='1']").wait_for()
    assert frame.locator("#lanes .colhead").count() == len(labels) + 2  # corner + one per state
    assert "S15 is violated in state 15" in frame.locator("#why").inner_text()

    page.fill("#expr", "s.session[0].latch == s.session[0].car")
    page.click("#go")
    page.wait_for_selector("#result .row")
    result = page.locator("#result").inner_text()
    assert "session[0].latch = c0" in result and "session[0].car = c1" in result and "false" in result
    page.select_option("#prop", "S15")
    page.click("#go")
    page.wait_for_selector("#result >> text=S15 in state 15")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explorer-s15.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#save")
    saved = Path(download_info.value.path())
    trace = parse_trace(saved.read_text(encoding="utf-8"), "path.itf.json")
    assert trace.kind == "counterexample" and trace.checked_property is not None
    assert trace.checked_property["id"] == "S15" and len(trace.states) == len(labels) + 1
    assert trace.meta["explanation"]["reads"] == ["session[0].car", "session[0].latch"]

    # back to state 10 and another step: a branch, the old steps 11-15 are gone
    page.locator("#path li[data-index='10']").click()
    page.wait_for_selector("body[data-cursor='10']")
    assert page.locator("#status .violated").count() == 0
    assert page.locator("#path li.after").count() == 5
    other = next(n for n in page.locator("#choices button").all_inner_texts() if n != labels[10])
    _choose(page, other, 11)
    assert page.locator("#path li").count() == 12
    assert page.locator("#path li").nth(11).inner_text() == other
    assert errors == []
    port = server.server_address[1]
    assert all(r.startswith(f"http://127.0.0.1:{port}/") for r in requests), requests
    context.close()


def test_viewer_explains_the_s15_counterexample(browser: Any, s15_trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "s15.html"
    result = CliRunner().invoke(main, ["view", str(s15_trace), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(out.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")
    why = page.locator("#why").inner_text()
    assert "S15 is violated in state 15" in why
    assert "session[0].latch = c0" in why and "session[0].car = c1" in why
    reads = page.locator("#lanes .lbl.reads-lbl").evaluate_all("els => els.map(e => e.firstChild.textContent)")
    assert reads == ["session[0].car", "session[0].latch"]
    page.keyboard.press("End")
    culprits = page.locator("#state td.culprit").evaluate_all("els => els.map(e => e.dataset.path)")
    assert sorted(culprits) == ["session[0].car", "session[0].latch"]
    assert page.locator("#state td.reads").count() == 2  # session[1].car and .latch: read, not failing
    client = page.locator("#lanes .cell.lane-client[data-step='15'] .box.pending")
    assert client.count() == 1 and "sent type byte" in client.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "viewer-s15.png"), full_page=True)
    page.close()


def test_lasso_page_scrolls_to_the_cycle_and_marks_the_instance(browser: Any, tmp_path: Path) -> None:
    spec = load(make_config("pooled", 1, 2, parse_options(
        ["think_time=false", "active_clients=2", "commands=query"])))
    trace_file = tmp_path / "l3.itf.json"
    run = run_check(spec, engine="python", properties=["L3"], trace_out=trace_file)
    assert run.result.violation is not None and run.result.violation.loop_index is not None
    out = tmp_path / "l3.html"
    assert CliRunner().invoke(main, ["view", str(trace_file), "--out", str(out)]).exit_code == 0
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(out.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']")
    assert "never (L3[session=0]):" in page.locator("#why").inner_text()
    assert "stays runnable and is never leased" in page.locator("#why").inner_text()
    assert page.locator("#lanes .lbl.hl").evaluate_all("els => els.map(e => e.dataset.entity)")[0] == "session[0]"
    page.click("#jump")
    loop = json.loads(trace_file.read_text())["loop"]
    box = page.evaluate(
        """(loop) => { const s = document.getElementById('lanes-scroll');
                       const h = document.querySelector('#lanes .colhead[data-step="' + loop + '"]');
                       const label = document.querySelector('#lanes .colhead.corner');
                       return [h.getBoundingClientRect().left, label.getBoundingClientRect().right,
                               s.getBoundingClientRect().right]; }""",
        loop,
    )
    head_left, labels_right, view_right = box
    assert labels_right - 2 <= head_left < view_right  # the cycle's first column is in view, at the left
    page.close()
