"""The committed design-review bundle in a real chromium: each witness page renders from
disk with its witness in the banner and loads nothing else; the diagrams render."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from viewer_browser_support import ARTIFACTS

pytestmark = pytest.mark.browser

REVIEW = Path(__file__).resolve().parent.parent.parent / "docs" / "review"


def _witness_rows() -> list[tuple[str, str, int]]:
    index = (REVIEW / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \[(W-[\w-]+)\]\((witnesses/[\w-]+\.html)\) \| [^|]+ \| (\d+) \|", index, re.M)
    return [(wid, page, int(steps)) for wid, page, steps in rows]


def test_every_witness_page_renders_its_witness(browser: Any) -> None:
    rows = _witness_rows()
    assert len(rows) >= 2
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        for wid, page_name, steps in rows:
            url = (REVIEW / page_name).resolve().as_uri()
            requests: list[str] = []
            errors: list[str] = []
            page = context.new_page()
            page.on("request", lambda r, got=requests: got.append(r.url))
            page.on("pageerror", lambda e, got=errors: got.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator("#banner .prop-id").inner_text() == wid
            assert page.locator("#steps li.step").count() == steps + 1
            if wid == "W-migrated-resume":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "review-W-migrated-resume.png"), full_page=True)
            assert requests == [url]
            assert errors == []
            page.close()
    finally:
        context.close()


def test_a_diagram_renders_with_its_actions(browser: Any) -> None:
    svg = REVIEW / "diagrams" / "lifecycle-pooled-session.svg"
    dot = (REVIEW / "diagrams" / "lifecycle-pooled-session.dot").read_text(encoding="utf-8")
    edges = len(re.findall(r"n\d+ -> n\d+", dot))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(svg.resolve().as_uri())
        drawn = page.evaluate("() => document.querySelectorAll('g.edge').length")
        texts = page.evaluate("() => Array.from(document.querySelectorAll('g.edge text'), t => t.textContent)")
        assert drawn == edges + dot.count("start -> ")
        assert {"Detach", "EnqueuePark", "Resume"} <= set(texts)
    finally:
        context.close()


def test_the_html_index_opens_every_seeded_bug_page(browser: Any) -> None:
    """index.html from disk: every link resolves to a file of the bundle; each seeded bug's page
    renders its counterexample with the expected property in the banner and says why."""
    index = REVIEW / "index.html"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(index.resolve().as_uri())
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a'), a => a.getAttribute('href'))")
        assert hrefs and all((REVIEW / h).is_file() for h in hrefs), [h for h in hrefs if not (REVIEW / h).is_file()]
        assert requests == [index.resolve().as_uri()]
        bugs = page.evaluate(
            "() => Array.from(document.querySelectorAll('a[href^=\"bugs/\"]'), a => a.getAttribute('href'))")
        rows = re.findall(r"^\| \[([\w-]+)\]\(bugs/[\w-]+\.html\) \| (\w+) \|", (REVIEW / "README.md").read_text(), re.M)
        assert sorted(bugs) == sorted(f"bugs/{name}.html" for name, _ in rows) and len(rows) >= 25
        for name, expected in rows:
            bug = context.new_page()
            errors: list[str] = []
            bug.on("pageerror", lambda e, got=errors: got.append(str(e)))
            bug.goto((REVIEW / "bugs" / f"{name}.html").resolve().as_uri())
            bug.wait_for_selector("body[data-ready='1']")
            assert bug.locator("#banner .prop-id").inner_text() == expected, name
            why = bug.locator("#why").inner_text()
            assert ("violated in state" in why) or ("never" in why), name
            assert errors == [], name
            bug.close()
    finally:
        context.close()
