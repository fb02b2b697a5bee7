"""`pgcheck serve` without a browser: the HTTP API over a real socket (token and Host checks,
errors as one JSON line), replaying a trace file on the model, the command's bad input, and
the command itself serving and stopping on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pgcheck.checker.errors import UsageError
from pgcheck.checker.run.check import run_check
from pgcheck.checker.traces.explorer_server import ExplorerServer
from pgcheck.checker.traces.explorer_session import ExplorerSession, path_from_itf
from pgcheck.model import load, make_config, parse_options

from pgcheck.cli import main

MUTATION = "stale-latch-after-migration"


def _model() -> Any:
    return load(make_config("pooled", 2, 2, parse_options([])), MUTATION).trace()


@pytest.fixture
def server() -> Iterator[ExplorerServer]:
    srv = ExplorerServer(ExplorerSession(_model()), 0)
    srv.start()
    yield srv
    srv.stop()


def _request(srv: ExplorerServer, path: str, body: Any = None, token: str | None = None,
             host: str | None = None) -> tuple[int, bytes]:
    port = srv.server_address[1]
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET")
    req.add_header("X-Pgcheck-Token", srv.token if token is None else token)
    if host is not None:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_page_and_api_need_the_token_and_this_host(server: ExplorerServer) -> None:
    assert _request(server, "/", token="")[0] == 403
    assert _request(server, "/api/state", {}, token="guess")[0] == 403
    assert _request(server, "/", host="evil.example:80")[0] == 403
    code, page = _request(server, "/")
    assert code == 200 and b"Content-Security-Policy" in page and server.token.encode() in page
    assert server.server_address[0] == "127.0.0.1"


def test_api_steps_jumps_back_and_evaluates(server: ExplorerServer) -> None:
    code, raw = _request(server, "/api/state", {})
    state = json.loads(raw)
    assert code == 200 and state["cursor"] == 0 and state["violated"] == []
    first = state["choices"][0]
    code, raw = _request(server, "/api/step", {"binding": first["binding"]})
    assert code == 200 and json.loads(raw)["cursor"] == 1
    code, raw = _request(server, "/api/eval", {"text": "s.carrier[0].loc"})
    assert code == 200 and json.loads(raw)["result"]["tree"]["value"] in ("loop", "off")
    code, raw = _request(server, "/api/goto", {"index": 0})
    assert json.loads(raw)["cursor"] == 0 and len(json.loads(raw)["path"]) == 2
    code, raw = _request(server, "/trace.itf.json")
    assert code == 200 and len(json.loads(raw)["states"]) == 1  # the path up to the current state


@pytest.mark.parametrize(("op", "body", "needle"), [
    ("step", {"binding": 10_000}, "no action binding"),
    ("step", {"binding": "0"}, "no action binding"),
    ("goto", {"index": 7}, "no state 7"),
    ("eval", {"text": "open('x')"}, "unknown name 'open'"),
    ("eval", {"text": "s.__class__"}, "no field '__class__'"),
    ("eval", {"text": "s.session[0].q == 'bogus'"}, "not a value of enum"),
    ("eval", {"property": "S99"}, "no property 'S99'"),
    ("nothing", {}, "no operation"),
])
def test_api_errors_are_one_line(server: ExplorerServer, op: str, body: dict[str, Any], needle: str) -> None:
    code, raw = _request(server, f"/api/{op}", body)
    assert code == 400
    error = json.loads(raw)["error"]
    assert needle in error and "\n" not in error


def test_a_disabled_binding_is_refused(server: ExplorerServer) -> None:
    state = json.loads(_request(server, "/api/state", {})[1])
    enabled = {c["binding"] for c in state["choices"]}
    disabled = next(i for i in range(len(server.session.model.bindings)) if i not in enabled)
    code, raw = _request(server, "/api/step", {"binding": disabled})
    assert code == 400 and "is not enabled in state 0" in json.loads(raw)["error"]


def test_trace_files_replay_on_the_model(tmp_path: Path) -> None:
    spec = load(make_config("pooled", 2, 2, parse_options([])), MUTATION)
    out = tmp_path / "s15.itf.json"
    run_check(spec, engine="python", trace_out=out, mutation=MUTATION)
    doc = json.loads(out.read_text())
    model = _model()
    path = path_from_itf(model, doc, "s15.itf.json")
    assert len(path) == len(doc["states"]) and ExplorerSession(model, path).violated() == ["S15"]
    doc["states"][5]["session"][0]["pc"] = "top"  # not what the step does
    with pytest.raises(UsageError, match=r"step 5 .* does not lead to the trace's state 5"):
        path_from_itf(model, doc, "bad.itf.json")
    clean = load(make_config("pooled", 2, 2, parse_options([]))).trace()  # without the seeded bug
    with pytest.raises(UsageError, match="does not lead"):
        path_from_itf(clean, json.loads(out.read_text()), "s15.itf.json")


@pytest.mark.parametrize(("args", "needle"), [
    (["--witness", "W-park", "--trace", "x.itf.json"], "give one"),
    (["--trace", "missing.itf.json"], "no such file"),
    (["--witness", "W-prk"], "did you mean W-park?"),
    (["--sessions", "2", "--option", "colour=1"], "unknown option 'colour'"),
])
def test_bad_input_is_one_line(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2 and needle in result.stderr and result.stderr.count("\n") == 1


def test_the_command_serves_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgcheck", "serve", "--mutation", MUTATION, "--sessions", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("pgcheck serve: http://127.0.0.1:"), line + (proc.stderr.read() if proc.stderr else "")
        url = line.split(": ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"pgcheck serve" in resp.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err
