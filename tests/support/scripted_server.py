# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A tiny HTTP/1.1 server on 127.0.0.1 that answers from a script, for exact sequences of faults.

A request gets ``route(request)`` if that is not None; else requests to ``/oauth/token`` get the next entry
of ``token_script`` (default: a fresh token ``tok-N`` with ``token_ttl``); every other request gets the next
entry of ``script`` (default: 200 with ``default_body``). Requests sent to it as to a proxy (absolute URI)
are served the same way and listed in ``proxied``. Each request is recorded with its raw path, query, headers, body and client port.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Action:
    """What the server does with one request."""

    def __init__(self, status=200, body=None, headers=None, raw_body=None, content_type="application/json",
                 hangup=False, truncate=False, delay=0.0, chunks=None, chunk_delay=0.0):
        self.chunks = chunks
        self.chunk_delay = chunk_delay
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw_body = raw_body
        self.content_type = content_type
        self.hangup = hangup
        self.truncate = truncate
        self.delay = delay

    def payload(self):
        if self.raw_body is not None:
            return self.raw_body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


def reply(status=200, body=None, headers=None):
    """A JSON answer."""
    return Action(status, body, headers)


def html(status):
    """An HTML error page, as a proxy in front of ISC sends it."""
    page = "<html><head><title>%d</title></head><body><h1>%d Bad Gateway</h1><hr>nginx</body></html>" % (status, status)
    return Action(status, raw_body=page.encode("ascii"), content_type="text/html")


def malformed(status=200):
    """A body that is cut-off JSON (with a correct Content-Length)."""
    return Action(status, raw_body=b'[{"id":"5b3e0c6f9d2a4e81","type":"QUA')


def hangup():
    """Read the request, then close the connection without answering (a reset after send)."""
    return Action(hangup=True)


def truncated(status=200):
    """Send the status line, headers and part of the body, then close the connection."""
    return Action(status, raw_body=b'{"id": "abc", "completionStatus": "ERR', truncate=True)


def slow(seconds, status=200, body=None):
    """Answer after a delay (for timeouts)."""
    return Action(status, body, delay=seconds)


def streamed(chunks, status=200, chunk_delay=0.0, headers=None, content_type="application/json"):
    """Send the body as the byte strings of the iterable chunks, chunk_delay seconds apart, without a
    Content-Length (the end of the body is the end of the connection): for trickles and endless bodies."""
    return Action(status, headers=headers, chunks=chunks, chunk_delay=chunk_delay, content_type=content_type)


def redirect(status, location):
    """A redirect to location."""
    return Action(status, headers={"Location": location})


class Recorded:
    """One request as the server saw it."""

    def __init__(self, method, path, query, headers, body, port):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.port = port

    @property
    def form(self):
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    @property
    def bearer(self):
        value = self.headers.get("Authorization", "")
        return value[len("Bearer "):] if value.startswith("Bearer ") else None

    def __repr__(self):
        return "<%s %s?%s>" % (self.method, self.path, self.query)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet."""

    def _handle(self):
        server = self.server
        target = self.path
        if "://" in target.split("?")[0]:  # an absolute URI, as a client sends it to a proxy
            self.server.proxied.append(target.split("?")[0])
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        path, dummy, query = target.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Recorded(self.command, path, {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()},
                          dict(self.headers.items()), body, self.client_address[1])
        with server.lock:
            server.requests.append(record)
            action = server.next_action(record)
        if action.delay:
            time.sleep(action.delay)
        if action.hangup:
            self.close_connection = True
            return
        if action.chunks is not None:
            self._stream(action)
            return
        payload = action.payload()
        self.send_response(action.status)
        if payload:
            self.send_header("Content-Type", action.content_type)
        for name, value in action.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload) + (100 if action.truncate else 0)))
        self.end_headers()
        self.wfile.write(payload)
        if action.truncate:
            self.wfile.flush()
            self.close_connection = True

    def _stream(self, action):
        self.close_connection = True
        self.send_response(action.status)
        self.send_header("Content-Type", action.content_type)
        for name, value in action.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in action.chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                self.server.streamed += len(chunk)
                if action.chunk_delay:
                    time.sleep(action.chunk_delay)
        except OSError:
            pass  # the client gave up: what the tests want

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle


class ScriptedServer(ThreadingHTTPServer):
    """See the module docstring. Use as a context manager or call close()."""

    daemon_threads = True

    def __init__(self, script=(), token_script=(), token_ttl=749, default_body=None, port=0, route=None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        #: route(record) -> an Action, or None for the scripts: answers that depend on the request.
        self.route = route
        #: Absolute URIs requested (the server acting as an HTTP proxy), and body bytes streamed.
        self.proxied = []
        self.streamed = 0
        self.script = list(script)
        self.token_script = list(token_script)
        self.token_ttl = token_ttl
        self.default_body = [] if default_body is None else default_body
        self.requests = []
        self.tokens = []
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def handle_error(self, request, client_address):
        """Quiet: clients that time out or hang up are part of the tests."""

    def issue_token(self):
        token = "tok-%d-0123456789abcdef" % (len(self.tokens) + 1)
        self.tokens.append(token)
        body = {"access_token": token, "token_type": "bearer"}
        if self.token_ttl is not None:
            body["expires_in"] = self.token_ttl
        return reply(200, body)

    def next_action(self, record):
        action = self.route(record) if self.route else None
        if action is not None:
            return action
        if record.path == "/oauth/token":
            action = self.token_script.pop(0) if self.token_script else None
            return action or self.issue_token()
        if self.script:
            return self.script.pop(0)
        return reply(200, self.default_body)

    @property
    def api_requests(self):
        return [r for r in self.requests if r.path != "/oauth/token"]

    @property
    def token_requests(self):
        return [r for r in self.requests if r.path == "/oauth/token"]

    def close(self):
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeClock:
    """A monotonic clock that only moves when sleep() is called (or advance()); sleep() records delays."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds):
        self.now += seconds
