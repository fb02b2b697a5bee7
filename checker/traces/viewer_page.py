"""The static part of the viewer page: HTML skeleton, stylesheet and script.

Nothing here depends on a trace: viewer.py replaces DATA_TOKEN with the page model as
escaped JSON. The script builds every element with createElement/textContent (trace text
is never parsed as HTML) and makes no network request; the page works from file://.

Why one module of this size: it is a static HTML/CSS/JS asset kept as Python strings so
the page ships with the package and works from file:// with no external request.
"""

from __future__ import annotations

import base64
import hashlib

DATA_TOKEN = "__PGCHECK_PAGE_MODEL__"

CSS = r"""
:root {
  --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --bg: #f6f8fa; --panel: #ffffff;
  --accent: #0969da; --sel: #0969da; --bad: #cf222e; --bad-bg: #ffebe9; --chg: #fff1a8;
  --label-w: 150px; --col-w: 88px;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 13px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
.mono, code { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
button { font: inherit; }

/* banner: the violated property */
#banner { background: var(--panel); border-bottom: 1px solid var(--line); padding: 14px 20px 12px; }
#banner.violation { border-top: 4px solid var(--bad); }
#banner.witness { border-top: 4px solid #1a7f37; }
.kind-badge { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .06em;
  text-transform: uppercase; padding: 2px 8px; border-radius: 10px; background: var(--bad); color: #fff;
  margin-right: 10px; vertical-align: middle; }
.witness .kind-badge { background: #1a7f37; }
.prop-title { font-size: 18px; font-weight: 600; vertical-align: middle; }
.prop-id { color: var(--bad); }
.witness .prop-id { color: #1a7f37; }
.prop-statement { font-size: 15px; margin: 6px 0 2px; }
.prop-citation { color: var(--muted); font-size: 12px; }
.chips { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.chip { border: 1px solid var(--line); border-radius: 12px; padding: 1px 9px; background: var(--bg);
  font-size: 12px; white-space: nowrap; }
.chip b { font-weight: 600; color: var(--muted); margin-right: 4px; }
.chip.about { border-color: var(--bad); background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.chips .sep { width: 10px; }
.jump { margin-left: auto; border: 1px solid var(--accent); color: var(--accent); background: #fff;
  border-radius: 6px; padding: 3px 10px; cursor: pointer; }
.jump:hover { background: #ddf4ff; }

/* panels */
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; margin: 12px 16px; }
.panel-head { display: flex; align-items: center; gap: 14px; padding: 8px 12px;
  border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.panel-head h2 { font-size: 13px; margin: 0; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }

/* legend */
#legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; color: var(--muted); }
.lg { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.sw { width: 14px; height: 12px; border-radius: 3px; border: 1px solid; display: inline-block; }

/* lanes */
#lanes-scroll { overflow: auto; max-height: 62vh; position: relative; }
#lanes { display: grid; grid-auto-rows: auto; position: relative; width: max-content; min-width: 100%; }
.lbl { position: sticky; left: 0; z-index: 2; background: var(--panel); border-right: 1px solid var(--line);
  border-bottom: 1px solid #eef1f4; padding: 4px 8px 4px 10px; display: flex; flex-direction: column;
  justify-content: center; font-weight: 600; }
.lbl .ent { font-size: 10px; font-weight: 400; color: var(--muted); }
.lbl.hl { box-shadow: inset 4px 0 0 var(--bad); color: var(--bad); }
.lbl.hl .ent::after { content: " · property"; color: var(--bad); }
.lbl.inv { background: #ddf4ff; }
.group, .groupfill { background: var(--bg); border-bottom: 1px solid var(--line);
  border-top: 1px solid var(--line); }
.group { position: sticky; left: 0; z-index: 2; grid-column: 1; font-size: 11px; font-weight: 700;
  text-transform: uppercase; letter-spacing: .05em; color: var(--muted); padding: 4px 10px;
  white-space: nowrap; overflow: visible; }
.groupfill { grid-column: 2 / -1; }
.colhead { position: sticky; top: 0; z-index: 3; background: var(--panel);
  border-bottom: 1px solid var(--line); padding: 4px 6px; font-size: 11px; text-align: center;
  cursor: pointer; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; color: var(--muted); }
.colhead .num { display: block; font-weight: 700; color: var(--ink); }
.colhead.corner { left: 0; z-index: 4; text-align: left; cursor: default; }
.colhead.sel { background: var(--sel); color: #fff; }
.colhead.sel .num { color: #fff; }
.colhead.viol { box-shadow: inset 0 -3px 0 var(--bad); }
.colhead.viol .num::after { content: " ✗"; color: var(--bad); }
.colhead.sel.viol .num::after { color: #fff; }
.loopbar { grid-row: 2; border: 2px solid #8250df; border-top: 0; border-radius: 0 0 8px 8px; color: #8250df;
  font-size: 11px; font-weight: 600; text-align: center; padding: 1px 4px; background: #fbefff;
  align-self: start; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.loopgap { grid-row: 2; grid-column: 1; position: sticky; left: 0; background: var(--panel); z-index: 2;
  border-right: 1px solid var(--line); font-size: 11px; color: #8250df; padding: 2px 10px; font-weight: 600; }
.cell { border-bottom: 1px solid #eef1f4; border-right: 1px solid #f3f5f7; padding: 3px 4px;
  position: relative; cursor: pointer; min-width: 0; min-height: 42px; }
.lbl { min-height: 42px; }
.cell .box { border-radius: 5px; border: 1px solid transparent; padding: 2px 5px; height: 100%;
  display: flex; flex-direction: column; justify-content: center; overflow: hidden; }
.cell .t { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.cell .s { font-size: 10px; color: var(--muted); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.cell.sel { background: #eaf3ff; }
.cell.inv .box { outline: 2px solid var(--sel); outline-offset: -1px; }
.cell.loopstart { border-left: 2px dashed #8250df; }
.cell.loopend { border-right: 2px dashed #8250df; }
.cell.chg .box { box-shadow: inset 0 -3px 0 #d4a72c; }
.marks { position: absolute; top: 1px; right: 2px; display: flex; gap: 2px; z-index: 1; }
.mk { font-size: 9px; font-weight: 700; line-height: 12px; padding: 0 3px; border-radius: 3px; color: #fff;
  background: #57606a; text-transform: uppercase; }
.mk-attach { background: #1a7f37; } .mk-detach { background: #6e7781; } .mk-switch { background: #9a6700; }
.mk-park { background: #bf8700; } .mk-poll { background: #0969da; } .mk-wake { background: #8250df; }
.mk-lease { background: #0c8599; } .mk-resume { background: #1a7f37; }
.mk-migrated { background: var(--bad); }
.cell.migrated .box { outline: 2px dashed var(--bad); outline-offset: -1px; }

/* state colours (session lanes) */
.st-running { background: #dafbe1; border-color: #4ac26b !important; }
.st-parking, .st-committing { background: #fff1e5; border-color: #fb8f44 !important; }
.st-parked { background: #fff8c5; border-color: #d4a72c !important; }
.st-polling { background: #ddf4ff; border-color: #54aeff !important; }
.st-runnable { background: #fbefff; border-color: #c297ff !important; }
.st-leased { background: #d3f5f3; border-color: #3fb9b3 !important; }
.st-unstarted, .st-detached, .st-unknown { background: #f6f8fa; border-color: #d0d7de !important;
  color: var(--muted); }
.st-exiting, .st-done, .st-dead { background: #ffebe9; border-color: #ff8182 !important; }
/* carrier lanes */
.loc-in_step { background: #dafbe1; border-color: #4ac26b !important; }
.loc-committing { background: #fff1e5; border-color: #fb8f44 !important; }
.loc-polling { background: #ddf4ff; border-color: #54aeff !important; }
.loc-loop { background: #f6f8fa; border-color: #d0d7de !important; }
.loc-off, .loc-dead { background: repeating-linear-gradient(135deg, #f6f8fa 0 4px, #eaeef2 4px 8px);
  border-color: #d0d7de !important; color: var(--muted); }
.loc-exiting { background: #ffebe9; border-color: #ff8182 !important; }
.queue { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.queue.empty { color: #afb8c1; }
.client .t, .generic .t { font-weight: 500; }

/* detail: steps + state */
#detail { display: grid; grid-template-columns: minmax(260px, 340px) 1fr; gap: 0; margin: 12px 16px 24px; }
#detail > .panel { margin: 0; }
#steps-panel { margin-right: 12px !important; display: flex; flex-direction: column; max-height: 70vh; }
#steps { list-style: none; margin: 0; padding: 4px 0; overflow: auto; flex: 1; position: relative; }
#steps li.step { display: grid; grid-template-columns: 38px 1fr auto; gap: 6px; padding: 4px 10px;
  cursor: pointer; border-left: 3px solid transparent; align-items: baseline; }
#steps li.step:hover { background: var(--bg); }
#steps li.step.sel { background: #ddf4ff; border-left-color: var(--sel); }
#steps .n { color: var(--muted); font-variant-numeric: tabular-nums; text-align: right; }
#steps .a { font-weight: 600; overflow-wrap: anywhere; }
#steps .p { color: var(--muted); font-weight: 400; margin-left: 4px; }
#steps .d { font-size: 11px; color: var(--muted); white-space: nowrap; }
#steps .ev { grid-column: 2 / 4; display: flex; gap: 3px; flex-wrap: wrap; }
#steps .ev .mk { text-transform: none; font-weight: 600; }
#steps li.loopmark { color: #8250df; font-weight: 600; font-size: 11px; padding: 3px 12px; }
#steps li.step.last .a::after { content: " ✗"; color: var(--bad); }
#state-panel { min-width: 0; }
#state { padding: 10px 14px; overflow: auto; max-height: 70vh; }
#state h3 { margin: 0 0 2px; font-size: 15px; }
#state .sub { color: var(--muted); margin-bottom: 10px; }
.changes { margin: 0 0 14px; padding: 8px 10px; background: #fffbdd; border: 1px solid #eed888;
  border-radius: 6px; }
.changes div { padding: 1px 0; }
.changes .arrow { color: var(--muted); padding: 0 6px; }
.changes .was { color: var(--muted); text-decoration: line-through; }
.changes .now { font-weight: 600; }
.events { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 10px; }
.event { border-radius: 4px; padding: 2px 8px; font-size: 12px; background: #eaeef2; }
.event.migrated { background: var(--bad-bg); color: var(--bad); font-weight: 600;
  border: 1px solid var(--bad); }
table.kind { border-collapse: collapse; margin: 4px 0 16px; font-size: 12px; }
table.kind caption { text-align: left; font-weight: 700; padding: 2px 0 4px; color: var(--muted);
  text-transform: uppercase; letter-spacing: .04em; font-size: 11px; }
table.kind th, table.kind td { border: 1px solid var(--line); padding: 3px 8px; text-align: left;
  white-space: nowrap; }
table.kind th { background: var(--bg); font-weight: 600; cursor: help; }
table.kind td.inst { font-weight: 600; background: var(--bg); }
table.kind tr.hl td.inst { box-shadow: inset 4px 0 0 var(--bad); color: var(--bad); }
table.kind tr.inv td.inst { background: #ddf4ff; }
table.kind td.chg { background: var(--chg); font-weight: 600; }
table.kind td.chg .was { display: block; font-weight: 400; font-size: 10px; color: var(--muted);
  text-decoration: line-through; }
/* why it broke */
#why-panel[hidden] { display: none; }
#why { padding: 8px 14px 10px; }
#why .title { font-weight: 600; margin-bottom: 6px; }
#why .row { white-space: pre-wrap; overflow-wrap: anywhere; padding: 1px 0; }
#why .row.false .v { color: var(--bad); font-weight: 700; }
#why .row.true .v { color: #1a7f37; font-weight: 700; }
#why .row.field .x { color: var(--accent); font-weight: 600; }
#why .row.field { cursor: pointer; }
#why .terms { color: var(--muted); font-size: 11px; }
#why .never { color: var(--bad); font-weight: 600; margin: 2px 0 6px; }
#why ul { margin: 2px 0 0; padding-left: 20px; }
.reads .t { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.lbl.reads-lbl { color: var(--bad); font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 11px; }
table.kind td.reads { outline: 1px dashed var(--accent); outline-offset: -2px; }
table.kind td.culprit { outline: 2px solid var(--bad); outline-offset: -2px; color: var(--bad); font-weight: 700; }
.client.pending { background: #fff8c5; border-color: #d4a72c !important; }
footer { color: var(--muted); font-size: 12px; padding: 0 18px 18px; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px;
  background: #fff; font-size: 11px; }
"""

JS = r"""
(function () {
  "use strict";
  var M = JSON.parse(document.getElementById("page-model").textContent);
  var N = M.steps.length;
  var LAST = N - 1;
  var highlighted = {};
  M.highlight.forEach(function (e) { highlighted[e] = true; });
  var kindOfInstance = function (name) { return name.replace(/\[\d+\]$/, ""); };
  var abbrev = {};
  M.entities.forEach(function (k) { abbrev[k.name] = k.abbrev; });
  function shortName(name) {
    var m = /^(.*)\[(\d+)\]$/.exec(name);
    return m && abbrev[m[1]] ? abbrev[m[1]] + m[2] : name;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }

  var MARK_TEXT = { attach: "att", detach: "det", "switch": "sw", park: "park", poll: "poll", wake: "wake",
                    lease: "lease", resume: "res", migrated: "migr" };
  var MARK_HELP = { attach: "attached to a carrier", detach: "detached from its carrier",
                    "switch": "carrier switched sessions", park: "parked (joined the parked queue)",
                    poll: "taken for polling", wake: "woken: runnable", lease: "leased by a carrier",
                    resume: "resumed on the carrier it parked on",
                    migrated: "migrated resume: resumed on a different carrier than it parked on" };

  /* ---------- banner ---------- */
  function stepName(i) {
    var s = M.steps[i];
    return s.params ? s.action + "(" + s.params + ")" : s.action;
  }
  function buildBanner() {
    var b = document.getElementById("banner");
    var isWitness = M.kind === "witness";
    b.className = M.property ? (isWitness ? "witness" : "violation") : "";
    var title = add(b, el("div"));
    add(title, el("span", "kind-badge", M.kind));
    var t = add(title, el("span", "prop-title"));
    if (M.property) {
      add(t, el("span", "prop-id", M.property.id));
      add(t, document.createTextNode(" · " + M.property.kind + (isWitness ? " reached" : " violated")));
      add(b, el("div", "prop-statement", M.property.statement));
      if (M.property.citation) { add(b, el("div", "prop-citation", M.property.citation)); }
    } else {
      t.textContent = "trace";
    }
    document.title = (M.property ? M.property.id + " " + M.kind : "trace") + " · " + M.file + " · pgcheck";
    var chips = add(b, el("div", "chips"));
    function chip(k, v, cls) {
      var c = add(chips, el("span", "chip" + (cls ? " " + cls : "")));
      if (k) { add(c, el("b", null, k)); }
      add(c, document.createTextNode(v));
      return c;
    }
    M.config.forEach(function (kv) { chip(kv[0], kv[1]); });
    if (M.params.length) {
      add(chips, el("span", "sep"));
      M.params.forEach(function (kv) { chip(null, kv[0] + "=" + kv[1]); });
    }
    if (M.highlight.length) {
      add(chips, el("span", "sep"));
      M.highlight.forEach(function (e) { chip("about", e, "about"); });
    }
    add(chips, el("span", "sep"));
    chip("file", M.file);
    var jump = add(chips, el("button", "jump", M.loop !== null ? "Go to the loop (state " + M.loop + ")"
                                                    : "Go to the last state (" + LAST + ")"));
    jump.id = "jump";
    jump.addEventListener("click", function () {
      select(M.loop !== null ? M.loop : LAST);
      if (M.loop !== null) { showFromColumn(M.loop); }
    });
  }

  /* ---------- why it broke ---------- */
  var reads = {}, culprits = {};
  if (M.why) {
    M.why.property_reads.forEach(function (p) { reads[p] = true; });
    M.why.reads.forEach(function (p) { culprits[p] = true; });
  }
  function buildWhy() {
    if (!M.why && !M.lasso) { return; }
    var panel = document.getElementById("why-panel");
    panel.hidden = false;
    var box = document.getElementById("why");
    if (M.lasso) {
      add(box, el("div", "title", "never" + (M.lasso.instance ? " (" + M.lasso.instance + ")" : "") + ":"));
      add(box, el("div", "never", M.lasso.never));
      if (M.lasso.fair_under.length) {
        add(box, el("div", "title", "the cycle is fair under the declared fairness:"));
        var ul = add(box, el("ul"));
        M.lasso.fair_under.forEach(function (n) { add(ul, el("li", null, n)); });
      }
    }
    if (M.why) {
      var verb = M.kind === "witness" ? " holds" : " is violated";
      var act = M.property && M.property.kind === "action";
      var t = add(box, el("div", "title", (M.property ? M.property.id : "the property") + verb +
        " in state " + M.why.state + (act ?
          " by the step that follows it, the offending step: the rule, with that step's update substituted, evaluated there" :
          ": the property evaluated there") + ", down to the terms that decide it"));
      t.id = "why-title";
      M.why.rows.forEach(function (r) {
        var depth = r[0], text = r[1], value = r[2], path = r[3];
        var row = add(box, el("div", "row " + (path ? "field" : value === "false" ? "false" :
                                                 value === "true" ? "true" : "")));
        row.style.paddingLeft = (depth * 18) + "px";
        if (path) {
          add(row, el("span", "x", path));
          add(row, document.createTextNode(" = "));
          add(row, el("span", "v", value));
          row.dataset.path = path;
          row.title = "a field the property reads; click to show the violating state";
          row.addEventListener("click", function () { select(M.why.state); });
        } else {
          add(row, el("span", "x", text));
          add(row, document.createTextNode("  →  "));
          add(row, el("span", "v", value));
          if (r[5] !== null && r[4] !== r[5]) {
            add(row, el("span", "terms", "   (" + r[4] + " of " + r[5] + " terms shown: the ones that decide it)"));
          }
        }
      });
      if (M.why.cut) { add(box, el("div", "terms", "(" + M.why.cut + " more sub-expressions not shown)")); }
    }
  }

  /* ---------- legend ---------- */
  function buildLegend() {
    var lg = document.getElementById("legend");
    function sw(cls, text) {
      var item = add(lg, el("span", "lg"));
      add(item, el("span", "sw " + cls));
      add(item, document.createTextNode(text));
    }
    sw("st-running", "running / busy");
    sw("st-committing", "parking / committing");
    sw("st-parked", "parked");
    sw("st-polling", "polling");
    sw("st-runnable", "runnable");
    sw("st-leased", "leased");
    sw("st-unstarted", "idle / not started");
    Object.keys(MARK_TEXT).forEach(function (k) {
      var item = add(lg, el("span", "lg"));
      add(item, el("span", "mk mk-" + k, MARK_TEXT[k]));
      add(item, document.createTextNode(MARK_HELP[k].split(":")[0]));
    });
    var c = add(lg, el("span", "lg"));
    add(c, el("span", "sw")).style.boxShadow = "inset 0 -3px 0 #d4a72c";
    add(c, document.createTextNode("changed by that step"));
    var h = add(lg, el("span", "lg"));
    var hs = add(h, el("span", "sw"));
    hs.style.borderColor = "var(--bad)"; hs.style.boxShadow = "inset 4px 0 0 var(--bad)";
    add(h, document.createTextNode("entity the property is about"));
  }

  /* ---------- lanes ---------- */
  var colCells = [];   // per state: the cells of that column (to toggle selection cheaply)
  var colHeads = [];
  var laneLabels = {}; // entity -> label elements
  var laneCells = [];  // per state: {entity -> [cell elements]}
  function buildLanes() {
    var grid = document.getElementById("lanes");
    grid.style.gridTemplateColumns = "var(--label-w) repeat(" + N + ", var(--col-w))";
    for (var i = 0; i < N; i++) { colCells.push([]); laneCells.push({}); }
    var corner = add(grid, el("div", "colhead corner", "state / step"));
    corner.style.gridRow = "1";
    for (var s = 0; s < N; s++) {
      var h = add(grid, el("div", "colhead"));
      h.style.gridRow = "1"; h.style.gridColumn = String(s + 2);
      add(h, el("span", "num", String(s)));
      add(h, document.createTextNode(s === 0 ? "initial" : M.steps[s].action));
      h.title = s === 0 ? "initial state" : stepName(s);
      h.dataset.step = String(s);
      if (s === LAST && M.property && M.kind === "counterexample") {
        h.classList.add("viol");
        h.title += "\nthe property is violated in this state";
      }
      colHeads.push(h);
    }
    var row = 2;
    if (M.loop !== null) {
      add(grid, el("div", "loopgap", "lasso loop"));
      var bar = add(grid, el("div", "loopbar",
        "↻ states " + M.loop + "–" + LAST + " repeat forever: state " + LAST +
        " steps back to state " + M.loop));
      bar.style.gridColumn = (M.loop + 2) + " / " + (N + 2);
      bar.title = bar.textContent;
      row = 3;
    }
    var groupNames = { carrier: "Carriers (threads)", session: "Sessions (logical backends)",
                       queue: "Scheduler queues (head first)", client: "Clients (what each sent; its socket input)",
                       reads: "Fields the property's failing terms read", other: "Other entities" };
    var lastGroup = null;
    M.lanes.forEach(function (lane) {
      if (lane.group !== lastGroup) {
        var g = add(grid, el("div", "group", groupNames[lane.group] || lane.group));
        g.style.gridRow = String(row);
        add(grid, el("div", "groupfill")).style.gridRow = String(row++);
        lastGroup = lane.group;
      }
      var lbl = add(grid, el("div", "lbl" + (lane.hl ? " hl" : "") + (lane.group === "reads" ? " reads-lbl" : "")));
      lbl.style.gridRow = String(row); lbl.style.gridColumn = "1";
      lbl.dataset.entity = lane.entity;
      add(lbl, el("span", null, lane.label));
      add(lbl, el("span", "ent", lane.entity));
      (laneLabels[lane.entity] = laneLabels[lane.entity] || []).push(lbl);
      lane.cells.forEach(function (c, s) {
        var cell = add(grid, el("div", "cell lane-" + lane.group));
        cell.style.gridRow = String(row); cell.style.gridColumn = String(s + 2);
        cell.dataset.step = String(s);
        if (c.chg) { cell.classList.add("chg"); }
        if (c.m.indexOf("migrated") >= 0) { cell.classList.add("migrated"); }
        if (M.loop !== null && s === M.loop) { cell.classList.add("loopstart"); }
        if (M.loop !== null && s === LAST) { cell.classList.add("loopend"); }
        var box = add(cell, el("div", "box " + c.c));
        add(box, el("span", "t", c.t));
        if (c.s) { add(box, el("span", "s", c.s)); }
        var tip = lane.label + " at state " + s + ": " + c.t + (c.s ? " (" + c.s + ")" : "");
        if (c.m.length) {
          var marks = add(cell, el("div", "marks"));
          c.m.forEach(function (m) {
            if (lane.group === "client") { return; }
            add(marks, el("span", "mk mk-" + m, MARK_TEXT[m] || m));
            tip += "\n" + (MARK_HELP[m] || m);
          });
          if (lane.group === "client") { tip += "\nchanged: " + c.m.join(", "); }
        }
        cell.title = tip;
        colCells[s].push(cell);
        (laneCells[s][lane.entity] = laneCells[s][lane.entity] || []).push(cell);
      });
      row++;
    });
    grid.addEventListener("click", function (ev) {
      var t = ev.target.closest("[data-step]");
      if (t) { select(parseInt(t.dataset.step, 10)); }
    });
  }

  /* ---------- step list ---------- */
  var stepItems = [];
  function buildSteps() {
    var ol = document.getElementById("steps");
    for (var s = 0; s < N; s++) {
      if (M.loop !== null && s === M.loop) {
        add(ol, el("li", "loopmark", "↻ loop starts here (state " + s + ")"));
      }
      var violated = s === LAST && M.property && M.kind === "counterexample";
      var li = add(ol, el("li", "step" + (violated ? " last" : "")));
      li.dataset.step = String(s);
      add(li, el("span", "n", String(s)));
      var a = add(li, el("span", "a", M.steps[s].action));
      if (M.steps[s].params) { add(a, el("span", "p", M.steps[s].params)); }
      add(li, el("span", "d", s === 0 ? "" : M.steps[s].changes.length + " Δ"));
      if (M.steps[s].events.length) {
        var ev = add(li, el("span", "ev"));
        M.steps[s].events.forEach(function (e) {
          var text = (MARK_TEXT[e.kind] || e.kind) + " " + shortName(e.entity);
          var m = add(ev, el("span", "mk mk-" + e.kind, text));
          m.title = e.text;
        });
      }
      li.addEventListener("click", function () { select(parseInt(this.dataset.step, 10)); });
      stepItems.push(li);
    }
    if (M.loop !== null) {
      add(ol, el("li", "loopmark", "↩ state " + LAST + " steps back to state " + M.loop));
    }
  }

  /* ---------- state panel ---------- */
  function buildState(s) {
    var box = document.getElementById("state");
    box.replaceChildren();
    var step = M.steps[s];
    add(box, el("h3", null, s === 0 ? "State 0 · initial state" : "State " + s + " · after " + stepName(s)));
    var sub = s === 0 ? "The state the run starts from." :
      step.changes.length + " field" + (step.changes.length === 1 ? "" : "s") + " changed by this step";
    if (s === LAST && M.property) {
      sub += M.kind === "witness" ? " · the witness is reached here" :
             M.kind === "lasso" ? " · last state of the lasso" : " · the property is violated here";
    }
    add(box, el("div", "sub", sub));
    if (step.events.length) {
      var evs = add(box, el("div", "events"));
      step.events.forEach(function (e) {
        add(evs, el("span", "event " + e.kind, e.entity + ": " + e.text));
      });
    }
    var changed = {};
    if (step.changes.length) {
      var ch = add(box, el("div", "changes mono"));
      ch.id = "changes";
      step.changes.forEach(function (c) {
        changed[c[0]] = c[1];
        var d = add(ch, el("div"));
        add(d, el("span", "path", c[0] + ": "));
        add(d, el("span", "was", c[1]));
        add(d, el("span", "arrow", "→"));
        add(d, el("span", "now", c[2]));
      });
    }
    var involved = {};
    step.involved.forEach(function (e) { involved[e] = true; });
    var state = M.states[s];
    M.entities.forEach(function (kind) {
      var instances = Object.keys(state).filter(function (n) { return kindOfInstance(n) === kind.name; });
      if (!instances.length) { return; }
      var table = add(box, el("table", "kind mono"));
      table.dataset.kind = kind.name;
      add(table, el("caption", null, kind.name + (kind.count === null ? "" : " × " + kind.count)));
      var fields = kind.fields.map(function (f) { return f.name; });
      instances.forEach(function (n) {
        Object.keys(state[n]).forEach(function (f) { if (fields.indexOf(f) < 0) { fields.push(f); } });
      });
      var types = {};
      kind.fields.forEach(function (f) { types[f.name] = f.type; });
      var head = add(add(table, el("thead")), el("tr"));
      add(head, el("th", null, ""));
      fields.forEach(function (f) { add(head, el("th", null, f)).title = types[f] || ""; });
      var body = add(table, el("tbody"));
      instances.forEach(function (n) {
        var tr = add(body, el("tr", (highlighted[n] ? "hl " : "") + (involved[n] ? "inv" : "")));
        add(tr, el("td", "inst", n));
        fields.forEach(function (f) {
          var path = n + "." + f;
          var v = state[n][f];
          var td = add(tr, el("td", null, v === undefined ? "" : v));
          td.dataset.path = path;
          if (culprits[path]) { td.classList.add("culprit"); td.title = "the property's failing terms read this field"; }
          else if (reads[path]) { td.classList.add("reads"); td.title = "the property reads this field"; }
          if (Object.prototype.hasOwnProperty.call(changed, path)) {
            td.classList.add("chg");
            add(td, el("span", "was", changed[path]));
            td.title = "was " + changed[path];
          }
        });
      });
    });
  }

  /* ---------- selection and keyboard ---------- */
  var current = -1;
  var scroller = null;
  function select(s) {
    s = Math.max(0, Math.min(LAST, s));
    if (s === current) { return; }
    if (current >= 0) {
      colCells[current].forEach(function (c) { c.classList.remove("sel", "inv"); });
      colHeads[current].classList.remove("sel");
      stepItems[current].classList.remove("sel");
      Object.keys(laneLabels).forEach(function (e) {
        laneLabels[e].forEach(function (l) { l.classList.remove("inv"); });
      });
    }
    current = s;
    colCells[s].forEach(function (c) { c.classList.add("sel"); });
    colHeads[s].classList.add("sel");
    stepItems[s].classList.add("sel");
    M.steps[s].involved.forEach(function (e) {
      (laneCells[s][e] || []).forEach(function (c) { c.classList.add("inv"); });
      (laneLabels[e] || []).forEach(function (l) { l.classList.add("inv"); });
    });
    document.body.dataset.step = String(s);
    buildState(s);
    // Scroll the step list only (scrollIntoView would scroll the page, or a page framing it).
    var list = document.getElementById("steps"), item = stepItems[s];
    if (item.offsetTop < list.scrollTop || item.offsetTop + item.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, item.offsetTop - list.clientHeight / 2);
    }
    // Keep the selected column visible; when it leaves the view, bring it to the middle.
    var head = colHeads[s];
    var labelW = colHeads[0].offsetLeft;
    var left = head.offsetLeft - labelW, right = head.offsetLeft + head.offsetWidth;
    if (left < scroller.scrollLeft || right > scroller.scrollLeft + scroller.clientWidth) {
      var room = scroller.clientWidth - labelW;
      scroller.scrollLeft = Math.max(0, left - (room - head.offsetWidth) / 2);
    }
    try { history.replaceState(null, "", "#step=" + s); } catch (e) { /* file:// may refuse */ }
  }
  // Scroll the lanes so that column `s` is the first one after the labels (the loop's start,
  // with as much of the cycle as fits to its right).
  function showFromColumn(s) {
    var labelW = colHeads[0].offsetLeft;
    scroller.scrollLeft = Math.max(0, colHeads[s].offsetLeft - labelW);
  }
  function onKey(ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var next = { ArrowRight: 1, j: 1, ArrowLeft: -1, k: -1 }[ev.key];
    if (next !== undefined) { select(current + next); ev.preventDefault(); return; }
    if (ev.key === "Home") { select(0); ev.preventDefault(); }
    if (ev.key === "End") { select(LAST); ev.preventDefault(); }
  }

  buildBanner();
  buildWhy();
  buildLegend();
  buildLanes();
  buildSteps();
  scroller = document.getElementById("lanes-scroll");
  document.addEventListener("keydown", onKey);
  var m = /^#step=(\d+)$/.exec(location.hash);
  select(m ? parseInt(m[1], 10) : 0);
  document.body.dataset.ready = "1";
})();
"""

# Only this exact script may run (CSP hash), and the page may load nothing from anywhere.
SCRIPT_HASH = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{SCRIPT_HASH}'; img-src data:"

PAGE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="""
    + '"' + CSP + '">'
    + """
<title>pgcheck trace</title>
<link rel="icon" href="data:,">
<style>"""
    + CSS
    + """</style>
</head>
<body>
<header id="banner"></header>
<section class="panel" id="why-panel" hidden>
  <div class="panel-head"><h2>Why</h2></div>
  <div id="why" class="mono"></div>
</section>
<section class="panel" id="lanes-panel">
  <div class="panel-head"><h2>Timeline</h2><div id="legend"></div></div>
  <div id="lanes-scroll"><div id="lanes"></div></div>
</section>
<div id="detail">
  <section class="panel" id="steps-panel">
    <div class="panel-head"><h2>Steps</h2></div>
    <ol id="steps"></ol>
  </section>
  <section class="panel" id="state-panel">
    <div class="panel-head"><h2>State</h2></div>
    <div id="state"></div>
  </section>
</div>
<footer>Keys: <kbd>→</kbd> or <kbd>j</kbd> next step, <kbd>←</kbd> or <kbd>k</kbd> previous step,
<kbd>Home</kbd>/<kbd>End</kbd> first/last state. Click a column or a step to select it.
Written by pgcheck view.</footer>
<script type="application/json" id="page-model">"""
    + DATA_TOKEN
    + """</script>
<script>"""
    + JS
    + """</script>
</body>
</html>
"""
)
