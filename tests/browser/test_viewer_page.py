"""The viewer page in a real chromium, opened from disk: rendering, keys, no network, escaping."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from viewer_browser_support import ARTIFACTS, DATA, OpenedPage, write_long_trace

pytestmark = pytest.mark.browser

MIGRATED = DATA / "migrated_resume.itf.json"
LASSO = DATA / "lasso_newconn.itf.json"
HOSTILE = DATA / "hostile_strings.itf.json"

Open = Callable[[Path], OpenedPage]


def test_lanes_steps_and_property_are_rendered(open_page: Open) -> None:
    view = open_page(MIGRATED)
    page = view.page
    assert page.locator("#banner .prop-id").inner_text() == "S13"
    assert "MyProc is bound to exactly one logical backend" in page.locator("#banner").inner_text()
    labels = page.locator("#lanes .lbl").all_inner_texts()
    assert [label.split("\n")[0] for label in labels] == [
        "carrier c0", "carrier c1", "session s0", "session s1",
        "sched.parked", "sched.runnable", "sched.newconn", "client s0", "client s1",
    ]
    assert page.locator("#lanes .cell").count() == 9 * 15
    assert page.locator("#steps li.step").count() == 15
    # The entities the property is about are marked in the lanes.
    highlighted = page.locator("#lanes .lbl.hl").evaluate_all("els => els.map(e => e.dataset.entity)")
    assert highlighted == ["carrier[0]", "carrier[1]", "session[0]", "session[0]"]
    assert page.locator("#lanes .cell .mk-migrated").count() == 1
    assert page.locator("#lanes .cell.migrated").count() == 1


def test_arrow_keys_move_the_selection_and_the_changed_fields(open_page: Open) -> None:
    view = open_page(MIGRATED)
    page = view.page
    assert view.selected_step() == 0
    assert view.changed_paths() == []
    page.keyboard.press("ArrowRight")
    assert view.selected_step() == 1
    assert view.changed_paths() == [
        "carrier[0].loc", "carrier[0].cur", "carrier[0].proc",
        "session[0].pc", "session[0].car", "session[0].cl_got", "sched.newconn",
    ]
    assert page.locator("#lanes .colhead.sel").inner_text().startswith("1")
    page.keyboard.press("ArrowRight")
    assert view.selected_step() == 2
    assert "session[1].car" in view.changed_paths() and "session[0].car" not in view.changed_paths()
    page.keyboard.press("ArrowLeft")
    assert view.selected_step() == 1
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert view.selected_step() == 3
    assert view.changed_paths() == ["carrier[0].loc", "session[0].ps"]
    page.keyboard.press("k")
    assert view.selected_step() == 2
    page.keyboard.press("End")
    assert view.selected_step() == 14
    assert page.locator("#state .event.migrated").inner_text() == (
        "session[0]: migrated resume: parked on c0, resumed on c1"
    )
    assert "session[0].q" in view.changed_paths()
    page.keyboard.press("ArrowRight")  # stays on the last step
    assert view.selected_step() == 14
    page.locator("#steps li.step[data-step='5']").click()
    assert view.selected_step() == 5
    page.locator("#lanes .cell[data-step='9']").first.click()
    assert view.selected_step() == 9
    assert page.evaluate("location.hash") == "#step=9"


def test_a_link_can_open_a_step(open_page: Open) -> None:
    view = open_page(MIGRATED)
    view.page.goto(view.url + "#step=12")
    view.page.reload()
    view.page.wait_for_selector("body[data-ready='1']")
    assert view.selected_step() == 12
    assert all(url.split("#")[0] == view.url for url in view.requests), view.requests
    view.requests[:] = [view.url]  # the reloads only fetched the page itself again


def test_screenshot_of_the_violation(open_page: Open) -> None:
    view = open_page(MIGRATED)
    view.page.keyboard.press("End")
    ARTIFACTS.mkdir(exist_ok=True)
    view.page.screenshot(path=str(ARTIFACTS / "viewer.png"), full_page=True)
    assert (ARTIFACTS / "viewer.png").stat().st_size > 10_000


def test_trace_strings_render_as_text(open_page: Open) -> None:
    view = open_page(HOSTILE)
    page = view.page
    page.keyboard.press("End")
    page.keyboard.press("Home")
    page.keyboard.press("End")
    assert view.dialogs == []
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2
    statement = page.locator("#banner .prop-statement").inner_text()
    assert statement == "Statement with </script><script>alert(1)</script> & <img src=x onerror=alert(2)>"
    assert page.locator("#banner .prop-citation").inner_text() == "<b>not bold</b>"
    action = page.locator("#steps li.step[data-step='2'] .a").inner_text()
    assert action.startswith("<img src=x onerror=alert(2)>")
    assert page.locator("#state td[data-path='env.note']").inner_text().startswith(
        "</script><script>alert(1)</script>"
    )
    assert page.evaluate("document.title").startswith("S1 counterexample")


def test_lasso_loop_is_marked(open_page: Open) -> None:
    view = open_page(LASSO)
    page = view.page
    assert "state 3 steps back to state 1" in page.locator("#lanes .loopbar").inner_text()
    marks = page.locator("#steps li.loopmark").all_inner_texts()
    assert marks == ["↻ loop starts here (state 1)", "↩ state 3 steps back to state 1"]
    assert page.locator("#lanes .cell.loopstart").count() == page.locator("#lanes .lbl").count()
    page.locator("#jump").click()
    assert view.selected_step() == 1


def test_long_trace_stays_usable(open_page: Open, tmp_path: Path) -> None:
    trace = write_long_trace(tmp_path / "long.itf.json", steps=240)
    started = time.monotonic()
    view = open_page(trace)
    page = view.page
    assert page.locator("#steps li.step").count() == 241
    for _ in range(230):
        page.keyboard.press("ArrowRight")
    assert view.selected_step() == 230
    assert time.monotonic() - started < 60
    # The selected column is scrolled into view in the lanes, and its step in the list.
    visible = page.evaluate(
        """() => {
            const s = document.getElementById('lanes-scroll');
            const h = document.querySelector('#lanes .colhead.sel');
            const a = s.getBoundingClientRect(), b = h.getBoundingClientRect();
            return b.left >= a.left && b.right <= a.right;
        }"""
    )
    assert visible
    assert page.locator("#steps li.step.sel").is_visible()
    page.keyboard.press("End")
    assert view.selected_step() == 240
    assert page.locator("#lanes .cell.migrated").count() > 10
