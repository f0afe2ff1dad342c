# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP plumbing: a threading HTTP/1.1 server with keep-alive, fault injection and the request log."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from . import controlapi
from .api import Api, Response, error_dto, rate_limited
from .control import SimControl
from .store import Store

_MALFORMED_BODY = b'[{"id":"5b3e0c6f9d2a4e81a7c4f0b2d6e8a1c3","type":"QUARTZ","uniqueName":"Cloud Acc'
_STATUS_FAULTS = {
    500: ("500.0 Internal Fault", "An internal fault occurred."),
    502: ("502.0 Bad Gateway", "The gateway received an invalid response from an upstream server."),
    503: ("503.0 Service Unavailable", "The service is temporarily unavailable."),
    504: ("504.0 Gateway Timeout", "The gateway did not receive a timely response from an upstream server."),
}
_HTML_PAGE = ("<html>\r\n<head><title>{0} {1}</title></head>\r\n<body>\r\n<center><h1>{0} {1}</h1></center>\r\n"
              "<hr><center>proxy</center>\r\n</body>\r\n</html>\r\n")


class BadRequestBody(ValueError):
    """A request whose body cannot be read (bad Content-Length or chunked framing)."""


def fault_response(fault: dict) -> Response:
    """The canned response of a fault that replaces the real answer."""
    kind = fault["kind"]
    if kind == "status":
        detail, text = _STATUS_FAULTS[fault["status"]]
        return error_dto(fault["status"], detail, text)
    if kind == "malformed":
        return Response(200, _MALFORMED_BODY)
    if kind == "html":
        reason = BaseHTTPRequestHandler.responses.get(fault["status"], ("Error",))[0]
        return Response(fault["status"], _HTML_PAGE.format(fault["status"], reason).encode("ascii"),
                        content_type="text/html")
    return rate_limited(fault["retry_after"])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "isc-sim/1.0"
    sys_version = ""
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    def log_message(self, format, *args):
        """Keep the console quiet; the request log lives at /__sim__/log."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537).split(b";")[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    raise BadRequestBody("invalid chunk size %r" % line) from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            raise BadRequestBody("invalid Content-Length %r" % length)
        return self.rfile.read(int(length)) if int(length) else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        names = set()
        for name, value in response.headers:
            self.send_header(name, value)
            names.add(name.lower())
        if response.status != 204 and "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _dispatch(self) -> None:
        sim = self.server.sim
        method = self.command
        raw_path, dummy, raw_query = self.path.partition("?")
        try:
            body = self._read_body()
        except BadRequestBody as exc:
            self.close_connection = True
            self._send(error_dto(400, "400.0 Bad Request", "The request could not be read: %s" % exc))
            return
        if raw_path == "/__sim__" or raw_path.startswith("/__sim__/"):
            self._send(controlapi.handle(sim.store, method, raw_path, body))
            return
        query = {name: values[-1] for name, values in parse_qs(raw_query, keep_blank_values=True).items()}
        fault = sim.store.take_fault(method, raw_path, raw_path == "/oauth/token")
        kind = fault["kind"] if fault else None
        if kind == "latency":
            time.sleep(fault["seconds"])
        if kind in (None, "latency") or kind == "drop" and fault["apply"]:
            response, client, version = self._handle_api(sim, method, raw_path, query, body)
        else:
            client, version = sim.api.identify(method, raw_path, query, self.headers, body)
            response = None if kind == "drop" else fault_response(fault)
        entry = {"method": method, "path": raw_path, "query": query,
                 "status": None if kind == "drop" else response.status, "client": client, "version": version}
        if kind:
            entry["fault"] = kind
        sim.store.log_request(entry)
        if kind == "drop":
            self.close_connection = True
            return
        self._send(response)

    def _handle_api(self, sim, method, raw_path, query, body):
        try:
            return sim.api.handle(method, raw_path, query, self.headers, body)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return error_dto(500, "500.0 Internal Fault", "An internal fault occurred."), None, None

    do_GET = do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = _dispatch

    def __getattr__(self, name):
        # BaseHTTPRequestHandler looks up do_<METHOD>; every method (TRACE, CONNECT, made-up ones) is dispatched,
        # so that the Api answers 405 with Allow and a JSON body instead of a 501 HTML page.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code, message=None, explain=None):
        """Errors of the HTTP layer itself (a malformed request line, headers too long) as an ErrorResponseDto."""
        reason = self.responses.get(code, ("Error",))[0]
        text = message or reason
        if explain:
            text = "%s: %s" % (text, explain)
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = self.protocol_version  # an unreadable request line still gets a status line
        if getattr(self, "command", None) is None:
            self.command = "GET"  # the request line could not be read; _send needs a method
        self._send(error_dto(code, "%d %s" % (code, reason), text))


class SimServer(ThreadingHTTPServer):
    """The HTTP server; ``sim`` carries the Store and the Api."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, simulator):
        self.sim = simulator
        super().__init__(address, _Handler)


class Simulator:
    """One tenant: its Store and the Api over it."""

    def __init__(self, settings=None):
        self.store = Store(settings)
        self.api = Api(self.store)


class SimHandle:
    """A running simulator: ``url``, ``port``, ``store``; ``control()`` returns a SimControl, ``stop()`` ends it."""

    def __init__(self, server: SimServer, thread: threading.Thread):
        self.server = server
        self.thread = thread
        self.port = server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.store = server.sim.store

    def control(self) -> SimControl:
        return SimControl(self.url)

    def stop(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_simulator(port: int = 0, scenario: str = "empty", tasks=None, **settings) -> SimHandle:
    """Start a simulator on 127.0.0.1:``port`` (0: a free port) in a daemon thread and return its handle.

    ``settings`` (token_ttl, rate_limit, rate_window, race_window, require_experimental) become the defaults that
    every reset restores.
    """
    simulator = Simulator(settings)
    simulator.store.reset(scenario, tasks)
    server = SimServer(("127.0.0.1", port), simulator)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="isc-sim", daemon=True)
    thread.start()
    return SimHandle(server, thread)
