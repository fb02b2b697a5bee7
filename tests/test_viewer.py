"""`pgcheck view`: one self-contained, deterministic page; trace text safely embedded."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pgcheck.checker.traces.itf_read import load_trace, parse_trace
from pgcheck.checker.traces.viewer import default_output, embed_json, page_model, render_html

from pgcheck.cli import main

DATA = Path(__file__).parent / "data"
MIGRATED = DATA / "migrated_resume.itf.json"
LASSO = DATA / "lasso_newconn.itf.json"
HOSTILE = DATA / "hostile_strings.itf.json"


def view(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["view", *args])
    return result.exit_code, result.stdout, result.stderr


def embedded_model(html: str) -> Any:
    match = re.search(r'<script type="application/json" id="page-model">(.*?)</script>', html, re.S)
    assert match, "the page model is not embedded"
    return json.loads(match.group(1))


def test_writes_next_to_the_trace_and_prints_the_path(tmp_path: Path) -> None:
    trace = tmp_path / "bug.itf.json"
    shutil.copy(MIGRATED, trace)
    code, out, err = view(str(trace))
    assert code == 0, err
    assert out == f"{tmp_path / 'bug.html'}\n"
    assert (tmp_path / "bug.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_out_chooses_the_place_and_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "pages" / "s13.html"
    code, out, _ = view(str(MIGRATED), "--out", str(target))
    assert code == 0
    assert out.strip() == str(target)
    assert target.is_file()


def test_default_output_names() -> None:
    assert default_output(Path("x/bug.itf.json")) == Path("x/bug.html")
    assert default_output(Path("bug.json")) == Path("bug.html")
    assert default_output(Path("bug")) == Path("bug.html")


def test_same_input_same_bytes(tmp_path: Path) -> None:
    for name in ("a.html", "b.html"):
        assert view(str(MIGRATED), "--out", str(tmp_path / name))[0] == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_page_is_self_contained() -> None:
    html = render_html(load_trace(MIGRATED))
    # Only the page's own inline script and the JSON model; no external resource of any kind.
    assert html.count("<script") == 2
    assert re.findall(r'<script[^>]*\bsrc=', html) == []
    assert all(url.startswith("data:") for url in re.findall(r'(?:src|href)="([^"]*)"', html))
    assert "http://" not in html and "https://" not in html
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_hostile_strings_cannot_leave_the_json_element() -> None:
    html = render_html(load_trace(HOSTILE))
    assert "alert(1)" in html  # the text is there ...
    assert "</script><script>alert" not in html  # ... but never as markup
    assert "<img" not in html
    assert html.count("<script") == 2 and html.count("</script>") == 2
    model = embedded_model(html)
    assert model["property"]["statement"].startswith("Statement with </script><script>alert(1)</script>")
    assert model["steps"][2]["action"] == "<img src=x onerror=alert(2)>"


def test_embed_json_escapes_markup_characters() -> None:
    text = embed_json({"s": "</script>&<!--\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"s": "</script>&<!--\u2028"}


def test_script_never_uses_innerhtml() -> None:
    from pgcheck.checker.traces.viewer_page import JS

    assert "innerHTML" not in JS and "outerHTML" not in JS and "insertAdjacentHTML" not in JS
    assert "document.write" not in JS and "eval(" not in JS


def test_model_has_lanes_for_carriers_sessions_queues_and_clients() -> None:
    model = page_model(load_trace(MIGRATED))
    lanes = [(lane["group"], lane["label"]) for lane in model["lanes"]]
    assert lanes == [
        ("carrier", "carrier c0"), ("carrier", "carrier c1"),
        ("session", "session s0"), ("session", "session s1"),
        ("queue", "sched.parked"), ("queue", "sched.runnable"), ("queue", "sched.newconn"),
        ("client", "client s0"), ("client", "client s1"),
    ]
    assert all(len(lane["cells"]) == 15 for lane in model["lanes"])
    highlighted = [lane["label"] for lane in model["lanes"] if lane["hl"]]
    assert highlighted == ["carrier c0", "carrier c1", "session s0", "client s0"]


def test_scheduler_events_and_migrated_resume() -> None:
    model = page_model(load_trace(MIGRATED))
    kinds = [[(e["entity"], e["kind"]) for e in step["events"]] for step in model["steps"]]
    assert kinds[1] == [("session[0]", "attach")]
    assert kinds[4] == [("session[0]", "detach")]
    assert kinds[5] == [("session[0]", "park")]
    assert kinds[7] == [("session[0]", "poll")]
    assert kinds[9] == [("session[0]", "wake")]
    assert kinds[13] == [("session[0]", "lease"), ("session[0]", "attach")]
    assert kinds[14] == [("session[0]", "migrated")]
    session0 = next(lane for lane in model["lanes"] if lane["entity"] == "session[0]")
    assert session0["cells"][14]["m"] == ["migrated"]
    states = [cell["t"] for cell in session0["cells"][3:8]]
    assert states == ["parking", "committing", "parked", "parked", "polling"]
    carrier1 = next(lane for lane in model["lanes"] if lane["entity"] == "carrier[1]")
    assert carrier1["cells"][13]["t"] == "s0" and carrier1["cells"][13]["m"] == ["attach"]


def test_resume_on_the_parking_carrier_is_not_migrated() -> None:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    doc["states"][14]["session"][0]["car"] = 0  # pretend c0 leased it back
    doc["states"][13]["session"][0]["car"] = 0
    model = page_model(parse_trace(json.dumps(doc), "same.itf.json"))
    assert [e["kind"] for e in model["steps"][14]["events"]] == ["resume"]


def test_step_model_lists_changes_and_involved_entities() -> None:
    model = page_model(load_trace(MIGRATED))
    step = model["steps"][7]
    assert (step["action"], step["params"]) == ("TakeForPolling", "c0, s0")
    assert step["involved"] == ["carrier[0]", "session[0]"]
    assert step["changes"] == [
        ["carrier[0].loc", "loop", "polling"],
        ["carrier[0].batch", "[]", "[s0]"],
        ["session[0].q", "parked", "polling"],
        ["sched.parked", "[s0]", "[]"],
    ]
    assert model["states"][7]["sched"]["parked"] == "[]"
    assert model["highlight"] == ["session[0]", "carrier[0]", "carrier[1]"]
    assert model["property"]["id"] == "S13"


def test_lasso_loop_reaches_the_page() -> None:
    model = page_model(load_trace(LASSO))
    assert model["loop"] == 1
    assert model["kind"] == "lasso"


def test_new_fields_and_kinds_appear_without_viewer_changes() -> None:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    doc["#meta"]["entities"]["session"]["fields"]["xact"] = {"type": "bool"}
    doc["#meta"]["entities"]["lock"] = {"count": 1, "fields": {"holder": {"type": "ref", "kind": "session"}}}
    doc["vars"].append("lock")
    for i, state in enumerate(doc["states"]):
        for session in state["session"]:
            session["xact"] = i > 10
        state["lock"] = [{"holder": 1 if i > 12 else -1}]
    model = page_model(parse_trace(json.dumps(doc), "more.itf.json"))
    session_kind = next(k for k in model["entities"] if k["name"] == "session")
    assert {"name": "xact", "type": "bool"} in session_kind["fields"]
    assert ["session[0].xact", "false", "true"] in model["steps"][11]["changes"]
    assert model["states"][13]["lock[0]"] == {"holder": "s1"}
    lock_lane = next(lane for lane in model["lanes"] if lane["entity"] == "lock[0]")
    assert lock_lane["cells"][13]["t"] == "s1"


def test_lanes_tolerate_missing_runtime_fields() -> None:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    for state in doc["states"]:
        for carrier in state["carrier"]:
            del carrier["cur"]
        for session in state["session"]:
            del session["q"], session["pcar"]
        del state["sched"]["newconn"]
    for kind, fields in (("carrier", ["cur"]), ("session", ["q", "pcar"]), ("sched", ["newconn"])):
        for name in fields:
            del doc["#meta"]["entities"][kind]["fields"][name]
    html = render_html(parse_trace(json.dumps(doc), "sparse.itf.json"))
    lanes = embedded_model(html)["lanes"]
    assert [lane["label"] for lane in lanes if lane["group"] == "queue"] == ["sched.parked", "sched.runnable"]
    assert lanes[0]["cells"][1]["t"] == "in_step"
