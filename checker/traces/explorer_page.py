"""The page of `pgcheck serve`: path, next steps, questions, and the viewer in a frame.

Static HTML/CSS/JS; the server fills in only its token and title (as escaped JSON). The
script builds every element with createElement/textContent, talks only to its own server
(`connect-src 'self'`), and shows the path through `/view`, the viewer page.
"""

from __future__ import annotations

import base64
import hashlib

from pgcheck.checker.traces.viewer import embed_json

CONFIG_TOKEN = "__PGCHECK_SERVE_CONFIG__"

CSS = r"""
:root { --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; --panel: #fff; --accent: #0969da;
  --bad: #cf222e; --good: #1a7f37;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 13px; color: var(--ink); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
.mono { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
header { background: var(--panel); border-bottom: 1px solid var(--line); padding: 10px 16px; display: flex;
  gap: 12px; align-items: center; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
.chip { border: 1px solid var(--line); border-radius: 12px; padding: 1px 9px; background: var(--bg); font-size: 12px; }
.chip.bad { border-color: var(--bad); background: #ffebe9; color: var(--bad); font-weight: 700; }
.chip.good { border-color: var(--good); background: #dafbe1; color: var(--good); font-weight: 600; }
#save { margin-left: auto; color: var(--accent); border: 1px solid var(--accent); border-radius: 6px; padding: 3px 10px;
  text-decoration: none; background: #fff; }
#cols { display: grid; grid-template-columns: minmax(240px, 1fr) minmax(260px, 1.2fr) minmax(300px, 1.5fr); gap: 12px;
  margin: 12px 16px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; min-width: 0; }
.panel h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 0;
  padding: 8px 12px; border-bottom: 1px solid var(--line); }
.body { padding: 6px 10px; max-height: 300px; overflow: auto; }
#path li { cursor: pointer; padding: 2px 6px; border-left: 3px solid transparent; }
#path li:hover { background: var(--bg); }
#path li.cur { background: #ddf4ff; border-left-color: var(--accent); font-weight: 600; }
#path li.after { color: var(--muted); }
#path li.bad::after { content: " ✗"; color: var(--bad); }
#path { margin: 0; padding-left: 28px; }
#filter { width: 100%; margin-bottom: 6px; padding: 3px 6px; }
#choices button { display: block; width: 100%; text-align: left; margin: 2px 0; padding: 3px 8px; border: 1px solid var(--line);
  background: #fff; border-radius: 5px; cursor: pointer; font: inherit; }
#choices button:hover { background: #ddf4ff; border-color: var(--accent); }
.note { color: var(--muted); font-size: 12px; padding: 4px 0; }
.err { color: var(--bad); font-size: 12px; white-space: pre-wrap; }
#ask { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 6px; }
#expr { flex: 1; min-width: 180px; padding: 3px 6px; }
#result .row { white-space: pre-wrap; overflow-wrap: anywhere; }
#result .v { font-weight: 700; }
#result .row.false .v { color: var(--bad); }
#result .row.true .v { color: var(--good); }
#result .x { color: var(--accent); }
#view { width: calc(100% - 32px); height: 1150px; margin: 0 16px 16px; border: 1px solid var(--line); border-radius: 8px;
  background: #fff; }
"""

JS = r"""
(function () {
  "use strict";
  var C = JSON.parse(document.getElementById("config").textContent);
  var S = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(p, c) { p.appendChild(c); return c; }
  function api(op, body) {
    return fetch("/api/" + op, { method: "POST", headers: { "Content-Type": "application/json",
      "X-Pgcheck-Token": C.token }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) { throw new Error(d.error); } return d; }); });
  }
  function showError(e) { document.getElementById("error").textContent = e.message || String(e); }
  function update(d) {
    S = d;
    document.getElementById("error").textContent = "";
    drawStatus(); drawPath(); drawChoices();
    var frame = document.getElementById("view");
    frame.src = "/view?token=" + encodeURIComponent(C.token) + "&v=" + d.version + "-" + d.path.length +
                "#step=" + d.cursor;
    document.body.dataset.cursor = String(d.cursor);
    document.body.dataset.ready = "1";
  }
  function drawStatus() {
    var st = document.getElementById("status");
    st.replaceChildren();
    add(st, el("span", "chip", "state " + S.cursor + " of " + (S.path.length - 1)));
    S.violated.forEach(function (id) { add(st, el("span", "chip bad violated", id + " violated here")); });
    S.witnessed.forEach(function (id) { add(st, el("span", "chip good", id + " reached")); });
    if (!S.violated.length) { add(st, el("span", "chip good", "every invariant holds here")); }
  }
  function drawPath() {
    var ol = document.getElementById("path");
    ol.replaceChildren();
    S.path.forEach(function (p) {
      var li = add(ol, el("li", null, p.label));
      li.value = p.index;
      li.dataset.index = String(p.index);
      if (p.index === S.cursor) { li.classList.add("cur"); }
      if (p.index > S.cursor) { li.classList.add("after"); li.title = "after the current state: a step from here drops it (a new branch)"; }
      li.addEventListener("click", function () { api("goto", { index: p.index }).then(update, showError); });
    });
    var cur = ol.querySelector("li.cur");
    if (cur) { cur.scrollIntoView({ block: "nearest" }); }
  }
  function drawChoices() {
    var box = document.getElementById("choices");
    box.replaceChildren();
    var f = document.getElementById("filter").value.toLowerCase();
    var shown = 0;
    S.choices.forEach(function (c) {
      if (f && c.label.toLowerCase().indexOf(f) < 0) { return; }
      var b = add(box, el("button", "mono", c.label));
      b.dataset.binding = String(c.binding);
      b.title = S.cursor < S.path.length - 1 ? "take it from state " + S.cursor + " (drops the later steps: a branch)" : "take it";
      b.addEventListener("click", function () { api("step", { binding: c.binding }).then(update, showError); });
      shown++;
    });
    if (!S.choices.length) { add(box, el("div", "note", "no action is enabled in this state")); }
    else if (!shown) { add(box, el("div", "note", "no enabled action matches the filter")); }
    S.errors.forEach(function (e) { add(box, el("div", "err", e)); });
  }
  function drawProperties(props) {
    var sel = document.getElementById("prop");
    add(sel, el("option", null, "an expression…")).value = "";
    props.forEach(function (p) {
      var o = add(sel, el("option", null, p.id + " (" + p.kind + ")"));
      o.value = p.id; o.title = p.statement;
    });
  }
  function ask() {
    var prop = document.getElementById("prop").value;
    var text = document.getElementById("expr").value;
    api("eval", { property: prop, text: prop ? "" : text }).then(function (d) {
      var box = document.getElementById("result");
      box.replaceChildren();
      add(box, el("div", "note", (prop || text) + " in state " + d.state + ":"));
      var rows = [];
      (function walk(n, depth) { rows.push([depth, n]); n.children.forEach(function (k) { walk(k, depth + 1); }); })(d.result.tree, 0);
      rows.forEach(function (r) {
        var n = r[1];
        var row = add(box, el("div", "row mono " + (n.value === "false" ? "false" : n.value === "true" ? "true" : "")));
        row.style.paddingLeft = (r[0] * 16) + "px";
        add(row, el("span", "x", n.field || n.text));
        add(row, document.createTextNode(n.field ? " = " : "  →  "));
        add(row, el("span", "v", n.value));
      });
      document.getElementById("error").textContent = "";
    }, showError);
  }
  document.getElementById("filter").addEventListener("input", function () { if (S) { drawChoices(); } });
  document.getElementById("go").addEventListener("click", ask);
  document.getElementById("expr").addEventListener("keydown", function (e) { if (e.key === "Enter") { ask(); } });
  document.getElementById("save").href = "/trace.itf.json?token=" + encodeURIComponent(C.token);
  document.getElementById("title").textContent = C.title;
  api("state").then(function (d) { drawProperties(d.properties); update(d); }, showError);
})();
"""

SCRIPT_HASH = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{SCRIPT_HASH}'; connect-src 'self'; "
       "frame-src 'self'; img-src data:")

PAGE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content=\"""" + CSP + """\">
<title>pgcheck serve</title>
<link rel="icon" href="data:,">
<style>""" + CSS + """</style>
</head>
<body>
<header><h1 id="title"></h1><span id="status"></span>
<a id="save" download="path.itf.json">Save the path as ITF</a></header>
<div class="err" id="error" style="margin: 6px 16px 0"></div>
<div id="cols">
  <section class="panel"><h2>Path (click a state to go back to it)</h2><div class="body"><ol id="path" class="mono"></ol></div></section>
  <section class="panel"><h2>Next step: the actions enabled here</h2><div class="body">
    <input id="filter" placeholder="filter, e.g. Lease or c1">
    <div id="choices"></div></div></section>
  <section class="panel"><h2>Evaluate on this state</h2><div class="body">
    <div id="ask"><select id="prop"></select>
    <input id="expr" class="mono" placeholder="s.session[0].latch == s.session[0].car">
    <button id="go">Evaluate</button></div>
    <div id="result"></div></div></section>
</div>
<iframe id="view" title="the path in the viewer"></iframe>
<script type="application/json" id="config">""" + CONFIG_TOKEN + """</script>
<script>""" + JS + """</script>
</body>
</html>
"""
)


def page_html(token: str, title: str) -> str:
    return PAGE.replace(CONFIG_TOKEN, embed_json({"token": token, "title": title or "pgcheck serve"}), 1)

