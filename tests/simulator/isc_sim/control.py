# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small client for a running simulator: its ``/__sim__/`` control interface plus raw API requests.

Standard library only (``http.client``), one connection per request, so it is safe to use while faults drop
connections. Used by the test fixtures and by benchmark scripts::

    sim = SimControl("http://127.0.0.1:8765")
    sim.reset("bulk", tasks=10000, rate_limit=0)
    token = sim.token("pat")
    response = sim.request("GET", "/v2026/task-status", {"limit": 250}, token=token)
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote, urlencode, urlsplit

#: The seeded OAuth clients, by short name.
CREDENTIALS = {
    "pat": ("sim-pat-client", "sim-pat-secret"),
    "api": ("sim-api-client", "sim-api-secret"),
}


class SimControlError(RuntimeError):
    """A control request that the simulator refused."""


class SimResponse:
    """Status, headers (``http.client.HTTPMessage``) and body bytes of one response."""

    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<SimResponse %d %r>" % (self.status, self.body[:200])


class SimControl:
    """Talks to the simulator at ``url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.url = url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port
        self.timeout = timeout

    # ------------------------------------------------------------------------------------------ raw HTTP
    def request(self, method: str, path: str, query=None, headers=None, body=None, token: str = None) -> SimResponse:
        """Send one request; ``path`` is sent as given (already percent-encoded where needed).

        ``query`` is a mapping or a list of pairs, encoded with ``%20`` for spaces; ``body`` may be bytes, a string,
        or a JSON-serialisable object (sent as ``application/json`` unless ``headers`` sets a Content-Type).
        """
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if query:
            path += "?" + urlencode(query, quote_via=quote)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return SimResponse(response.status, response.headers, response.read())
        finally:
            connection.close()

    def token(self, client: str = "pat") -> str:
        """An access token for the seeded client ``pat`` (user context) or ``api`` (client credentials only)."""
        client_id, secret = CREDENTIALS[client]
        form = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
        response = self.request("POST", "/oauth/token", body=form,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.status != 200:
            raise SimControlError("token request failed: %r" % response)
        return response.json()["access_token"]

    # ------------------------------------------------------------------------------------------ control
    def _call(self, method: str, name: str, payload=None):
        response = self.request(method, "/__sim__/" + name, body=payload)
        if response.status != 200:
            raise SimControlError("%s /__sim__/%s: %d %s" % (method, name, response.status, response.body.decode()))
        return response.json()

    def reset(self, scenario: str = "empty", tasks=None, **settings) -> dict:
        """Clear everything and load ``scenario`` (empty, demo, bulk) with default settings plus ``settings``."""
        payload = {"scenario": scenario, "settings": settings}
        if tasks is not None:
            payload["tasks"] = tasks
        return self._call("POST", "reset", payload)

    def settings(self, **changes) -> dict:
        """Change settings (token_ttl, rate_limit, rate_window, race_window, require_experimental,
        aggregation_timestamps); returns all."""
        return self._call("POST", "settings", changes) if changes else self._call("GET", "settings")

    def add_tasks(self, *specs) -> list:
        """Create tasks from specs (dicts); returns their TaskStatus records as of now."""
        return self._call("POST", "tasks", {"tasks": list(specs)})["tasks"]

    def add_task(self, **spec) -> dict:
        """Create one task (spec keys as keyword arguments; no ``count``) and return its TaskStatus."""
        return self.add_tasks(spec)[0]

    def sources(self) -> list:
        """The sources of the tenant: id, name, kind (direct or delimited-file), outcome, duration (seconds)."""
        return self._call("GET", "sources")["sources"]

    def add_sources(self, *specs) -> list:
        """Add sources, or replace those with the same id (keys name, id, kind, outcome, duration)."""
        return self._call("POST", "sources", {"sources": list(specs)})["sources"]

    def add_source(self, **spec) -> dict:
        return self.add_sources(spec)[0]

    def source(self, name: str) -> dict:
        """The source with this name (SimControlError when there is none)."""
        for source in self.sources():
            if source["name"] == name:
                return source
        raise SimControlError("no source named %r" % name)

    def tasks(self) -> list:
        """Every stored task as of now, each with a ``_sim`` object (expired, outcome, frozen)."""
        return self._call("GET", "tasks")["tasks"]

    def advance(self, seconds: float) -> str:
        """Move the simulator clock forward; returns the new time."""
        return self._call("POST", "clock", {"advance": seconds})["now"]

    def now(self) -> str:
        return self._call("GET", "clock")["now"]

    def add_fault(self, kind: str, **rule) -> dict:
        """Add a fault rule (kind status, latency, drop, malformed, html, rate_storm, expire_tokens)."""
        rule["kind"] = kind
        return self._call("POST", "faults", rule)["added"]

    def faults(self) -> list:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        self.add_fault("expire_tokens")

    def log(self) -> list:
        """Entries of the request log (seq, time, method, path, query, status, client, version[, fault])."""
        return self._call("GET", "log")["requests"]

    def clear_log(self) -> None:
        self._call("DELETE", "log")

    def health(self) -> dict:
        return self._call("GET", "health")
