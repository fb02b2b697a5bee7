"""`pgcheck serve`: the interactive explorer as a local web page (loopback only).

One `ExplorerSession` behind a small HTTP server (Python's http.server, one thread per
request, a lock around the session). The page (explorer_page.py) asks for the current path,
the enabled actions and the violated invariants, takes a step, jumps back, evaluates a
property or an expression, and shows the path through the viewer (`/view`, the same page
`pgcheck view` writes) in a frame.

Only 127.0.0.1 is bound. Every request must carry the random token printed with the URL and
name this server in its Host header, so another web page in the same browser cannot drive
it (cross-site requests do not know the token; DNS rebinding fails the Host check).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pgcheck.checker.errors import UsageError
from pgcheck.checker.traces.explorer_page import page_html
from pgcheck.checker.traces.explorer_session import ExplorerSession
from pgcheck.checker.traces.viewer import render_html

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024


class ExplorerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, session: ExplorerSession, port: int = 0, title: str = "") -> None:
        super().__init__((HOST, port), _Handler)
        self.session = session
        self.lock = threading.Lock()
        self.token = secrets.token_urlsafe(18)
        self.title = title

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/?token={self.token}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="pgcheck-serve", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    # ---- the API, called under the lock
    def snapshot(self) -> dict[str, Any]:
        s = self.session
        choices, errors = s.choices()
        trace = s.as_trace(len(s.path) - 1)
        return {
            "version": s.version,
            "cursor": s.cursor,
            "path": [{"index": i, "label": trace.step_label(i)} for i in range(len(s.path))],
            "choices": [asdict(c) for c in choices],
            "errors": errors,
            "violated": s.violated(),
            "witnessed": s.witnessed(),
            "properties": [
                {"id": p.id, "kind": p.kind, "statement": p.statement}
                for p, _ in s.model.invariants + s.model.witnesses
            ],
            "quiescent": not choices,
        }

    def call(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        s = self.session
        if op == "state":
            return self.snapshot()
        if op == "step":
            s.take(body.get("binding"))  # type: ignore[arg-type]
            return self.snapshot()
        if op == "goto":
            s.goto(body.get("index"))  # type: ignore[arg-type]
            return self.snapshot()
        if op == "eval":
            text, prop = body.get("text", ""), body.get("property", "")
            if not isinstance(text, str) or not isinstance(prop, str):
                raise UsageError("'text' and 'property' must be strings")
            return {"result": s.evaluate(text=text, prop=prop), "state": s.cursor}
        raise UsageError(f"no operation {op!r}")


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the terminal stays for the URL and errors

    # ---- checks
    def _allowed(self, query: dict[str, list[str]]) -> bool:
        port = self.server.server_address[1]
        host = self.headers.get("Host", "")
        if host not in (f"{HOST}:{port}", f"localhost:{port}"):
            self._send(403, "text/plain", b"wrong Host header\n")
            return False
        token = (query.get("token") or [""])[0] or self.headers.get("X-Pgcheck-Token", "")
        if not secrets.compare_digest(token, self.server.token):
            self._send(403, "text/plain", b"missing or wrong token: open the URL pgcheck serve printed\n")
            return False
        return True

    def _send(self, code: int, ctype: str, data: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, code: int, doc: Any) -> None:
        self._send(code, "application/json", json.dumps(doc).encode())

    # ---- routes
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._allowed(query):
            return
        srv = self.server
        if url.path == "/":
            self._send(200, "text/html; charset=utf-8", page_html(srv.token, srv.title).encode())
        elif url.path == "/view":
            with srv.lock:
                html = render_html(srv.session.as_trace(len(srv.session.path) - 1))
            self._send(200, "text/html; charset=utf-8", html.encode())
        elif url.path == "/trace.itf.json":
            with srv.lock:
                doc = srv.session.itf()
            data = (json.dumps(doc, indent=1) + "\n").encode()
            self._send(200, "application/json", data, {"Content-Disposition": 'attachment; filename="path.itf.json"'})
        else:
            self._send(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(parse_qs(url.query)):
            return
        if not url.path.startswith("/api/"):
            self._send(404, "text/plain", b"not found\n")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._json(400, {"error": "request body missing or too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._json(400, {"error": "the request body is not JSON"})
            return
        if not isinstance(body, dict):
            self._json(400, {"error": "the request body must be a JSON object"})
            return
        srv = self.server
        try:
            with srv.lock:
                doc = srv.call(url.path[len("/api/"):], body)
        except UsageError as e:
            self._json(400, {"error": str(e)})
            return
        self._json(200, doc)
