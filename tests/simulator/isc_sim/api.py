# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The tenant's public API: ``/oauth/token`` and every generation of the task-status endpoints.

:meth:`Api.handle` turns one request into a :class:`Response` and reports the client and API version for the
request log. It does not know about HTTP sockets, faults or the control interface (see ``server.py``).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from urllib.parse import unquote

from . import aggregations
from .definitions import ADMIN_IDENTITY_ID
from .filters import FilterError, compile_filter
from .forms import MULTIPART, URLENCODED, FormError, media_type, parse_form
from .jsonpatch import PatchError, PatchTestFailed, apply_patch, json_equal, validate_operations
from .tasks import COMPLETION_STATUSES
from .timeutil import format_ms, parse_iso8601

JSON = "application/json;charset=utf-8"
YEAR_VERSIONS = ("v2024", "v2025", "v2026")
PENDING_VERSIONS = ("beta", "v2024", "v2025")
COMPLETED_ONLY_VERSIONS = ("beta", "v2024")
PATCHABLE = ("/completionStatus", "/completed")
INT32_MAX = 2 ** 31 - 1
TENANT_ID = "5f0c2a9e-7b1d-4c3e-9a8f-51e6d2b4c7a0"

#: Seeded OAuth clients: a personal access token (user context, ORG_ADMIN) and an API client without a user.
CLIENTS = {
    "sim-pat-client": {"secret": "sim-pat-secret", "user_id": "1000042", "identity_id": ADMIN_IDENTITY_ID},
    "sim-api-client": {"secret": "sim-api-secret"},
}

_INT_RE = re.compile(r"[+-]?\d+$")


class Response:
    """A complete HTTP response: status, headers (list of pairs) and body bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, body: bytes = b"", headers=None, content_type: str = JSON):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if body:
            self.headers.insert(0, ("Content-Type", content_type))


def json_response(status: int, payload, headers=None) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"), headers)


def error_dto(status: int, detail_code: str, text: str, headers=None) -> Response:
    """An ErrorResponseDto body (the spec's error object for 400, 403, 404, 5xx); ``text`` names the problem."""
    message = {"locale": "en-US", "localeOrigin": "DEFAULT", "text": text}
    return json_response(status, {"detailCode": detail_code, "trackingId": secrets.token_hex(16), "messages": [message]},
                         headers)


def bad_request(text: str) -> Response:
    return error_dto(400, "400.1 Bad Request Content", text)


def not_found(text: str) -> Response:
    return error_dto(404, "404 Not found", text)


def rate_limited(retry_after: int) -> Response:
    return json_response(429, {"message": " Rate Limit Exceeded "}, [("Retry-After", str(retry_after))])


class ParamError(ValueError):
    """A query parameter that is out of range or malformed."""


def _int_param(query: dict, name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _INT_RE.match(raw.strip()):
        raise ParamError("query parameter '%s' must be an integer, got %r" % (name, raw))
    value = int(raw)
    if not 0 <= value <= maximum:
        raise ParamError("query parameter '%s' must be between 0 and %d, got %d" % (name, maximum, value))
    return value


def _page_params(query: dict):
    limit = _int_param(query, "limit", 250, 250)
    offset = _int_param(query, "offset", 0, INT32_MAX)
    count = query.get("count", "false").strip().lower()
    if count not in ("true", "false"):
        raise ParamError("query parameter 'count' must be true or false, got %r" % query["count"])
    return limit, offset, count == "true"


def _descending(query: dict) -> bool:
    raw = query.get("sorters")
    if raw is None or not raw.strip():
        return False
    terms = [term.strip() for term in raw.split(",")]
    for term in terms:
        if term not in ("created", "-created"):
            raise ParamError("unsupported sorter %r: the only sortable field is 'created' ('created' or '-created')" % term)
    if len(terms) > 1:
        raise ParamError("sorters lists the field 'created' more than once")
    return terms[0] == "-created"


def _token_params(query: dict, headers, body: bytes) -> dict:
    """Token request parameters: the query string, overridden by a form body (urlencoded or multipart).

    Raises FormError for a multipart body that cannot be read.
    """
    params = dict(query)
    if body:
        params.update({name: field.text() for name, field in parse_form(headers, body).items()})
    return params


def _bearer_token(headers) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" if there is none)."""
    scheme, dummy, token = headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Route:
    """Where a request path leads: ``kind`` is token, list, pending, item or aggregate.

    For ``aggregate``, ``task_id`` holds the source id and ``operation`` is accounts or entitlements.
    """

    __slots__ = ("kind", "version", "task_id", "operation")

    def __init__(self, kind: str, version=None, task_id=None, operation=None):
        self.kind = kind
        self.version = version
        self.task_id = task_id
        self.operation = operation


_METHODS = {"token": ("POST",), "list": ("GET",), "pending": ("GET", "HEAD"), "item": ("GET", "PATCH"),
            "aggregate": ("POST",)}
#: Methods some endpoint serves; any other method (TRACE, CONNECT, unknown ones) gets 405 on every path.
SERVED_METHODS = ("GET", "HEAD", "PATCH", "POST")
#: Methods that get 404 on a path no endpoint has (the usual answer of the gateway).
_ROUTED_METHODS = SERVED_METHODS + ("PUT", "DELETE", "OPTIONS")


def route(method: str, raw_path: str):
    """Map a raw (still percent-encoded) path to a Route, or None for an unknown path.

    Segments are split before they are decoded, so an id containing an encoded ``/`` stays one segment.
    """
    segments = [unquote(segment) for segment in raw_path.split("/")[1:]]
    if segments == ["oauth", "token"]:
        return Route("token")
    if len(segments) == 4 and segments[3] in aggregations.OPERATIONS and segments[2]:
        # /{beta,v2024,v2025,v2026}/sources/{id}/load-* and /sources/v1/{id}/load-* (v3 has neither).
        if segments[1] == "sources" and segments[0] in YEAR_VERSIONS + ("beta",):
            return Route("aggregate", segments[0], segments[2], aggregations.OPERATIONS[segments[3]])
        if segments[:2] == ["sources", "v1"]:
            return Route("aggregate", "v1", segments[2], aggregations.OPERATIONS[segments[3]])
    if len(segments) >= 2 and segments[1] == "task-status" and segments[0] in YEAR_VERSIONS + ("beta",):
        version, rest = segments[0], segments[2:]
    elif len(segments) >= 2 and segments[:2] == ["task-status", "v1"]:
        version, rest = "v1", segments[2:]
    else:
        return None
    if not rest:
        return Route("list", version)
    if len(rest) != 1 or not rest[0]:
        return None
    if rest[0] == "pending-tasks" and version in PENDING_VERSIONS:
        return Route("pending", version)
    return Route("item", version, rest[0])


class Api:
    """Request handling for the public endpoints of one Store."""

    def __init__(self, store):
        self.store = store

    def handle(self, method: str, raw_path: str, query: dict, headers, body: bytes):
        """Answer one request; returns ``(Response, client_id or None, version or None)``.

        ``query`` maps each parameter name to its last value; ``headers`` is an ``email.message.Message``.
        """
        target = route(method, raw_path)
        if target is None:
            if method not in _ROUTED_METHODS:
                return self._method_not_allowed(method, None), None, None
            return not_found("No endpoint matches %s %s" % (method, raw_path)), None, None
        version = target.version
        if method not in _METHODS[target.kind]:
            return self._method_not_allowed(method, target), None, version
        if target.kind == "token":
            try:
                response, client = self._token(_token_params(query, headers, body))
            except FormError as exc:
                response, client = json_response(400, {"error": "invalid_request", "error_description": str(exc)}), None
            return response, client, None
        response, client = self._authenticate(headers)
        if response is not None:
            return response, client, version
        retry_after = self.store.rate_check(client, version)
        if retry_after is not None:
            return rate_limited(retry_after), client, version
        if target.kind == "aggregate":
            # None of the aggregation operations is experimental: the header is never required there.
            return self._aggregate(client, target, headers, body), client, version
        if (version in YEAR_VERSIONS and self.store.settings["require_experimental"]
                and headers.get("X-SailPoint-Experimental", "").strip().lower() != "true"):
            return bad_request("This endpoint is in preview (experimental). Send the header "
                               "'X-SailPoint-Experimental: true' to use it."), client, version
        try:
            if target.kind == "list":
                return self._list(version, query), client, version
            if target.kind == "pending":
                return self._pending(query, head=method == "HEAD"), client, version
            if method == "GET":
                return self._get(target.task_id), client, version
            return self._patch(client, target.task_id, headers, body), client, version
        except ParamError as exc:
            return bad_request(str(exc)), client, version

    def identify(self, method: str, raw_path: str, query: dict, headers, body: bytes):
        """``(client_id, version)`` of a request that is not processed (for the log of a faulted request)."""
        target = route(method, raw_path)
        if target is None:
            return None, None
        if target.kind == "token":
            try:
                return _token_params(query, headers, body).get("client_id"), None
            except FormError:
                return None, None
        token = _bearer_token(headers)
        info = self.store.token_info(token) if token else None
        return (info and info[0]), target.version

    # ------------------------------------------------------------------------------------------- helpers
    @staticmethod
    def _method_not_allowed(method: str, target) -> Response:
        """405 with Allow: the methods of ``target``, or of the whole API for a path no endpoint has."""
        allowed = ", ".join(_METHODS[target.kind] if target is not None else SERVED_METHODS)
        return error_dto(405, "405 Method Not Allowed", "Method %s is not allowed here; allowed: %s" % (method, allowed),
                         [("Allow", allowed)])

    def _authenticate(self, headers):
        """``(None, client_id)`` for a valid bearer token, else ``(401 Response, client_id or None)``."""
        token = _bearer_token(headers)
        if not token:
            return self._unauthorized("JWT validation failed: no bearer token in the Authorization header"), None
        info = self.store.token_info(token)
        if info is None:
            return self._unauthorized("JWT validation failed: JWT is invalid"), None
        client, expired = info
        if expired:
            return self._unauthorized("JWT validation failed: JWT is expired"), client
        return None, client

    @staticmethod
    def _unauthorized(message: str) -> Response:
        return json_response(401, {"error": message}, [("WWW-Authenticate", 'Bearer realm="isc-sim"')])

    def _serialize(self, tasks, now: int) -> bytes:
        race, generation = self.store.race_ms, self.store.generation
        return b"[" + b",".join(task.json(now, race, generation) for task in tasks) + b"]"

    # ------------------------------------------------------------------------------------------- endpoints
    def _token(self, params: dict):
        client_id = params.get("client_id")
        client = CLIENTS.get(client_id or "")
        if client is None or params.get("client_secret") != client["secret"]:
            return json_response(401, {"error": "invalid_client", "error_description": "Bad client credentials"}), client_id
        grant = params.get("grant_type")
        if not grant:
            return json_response(400, {"error": "invalid_request", "error_description": "Missing grant type"}), client_id
        if grant.lower() != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "Unsupported grant type: %s" % grant}), client_id
        # What the token response and the token's claims both say about the tenant, the client and its user.
        context = {"tenant_id": TENANT_ID, "pod": "sim01-useast1", "org": "sim-tenant", "internal": False,
                   "accessType": "OFFLINE", "strong_auth": "user_id" in client, "jti": str(uuid.uuid4())}
        if "user_id" in client:
            context.update(user_id=client["user_id"], identity_id=client["identity_id"])
        token = self.store.issue_token(client_id, dict(context, scope=["sp:scopes:all"]))
        payload = dict(context, access_token=token, token_type="bearer", expires_in=self.store.settings["token_ttl"],
                       scope="sp:scopes:all", strong_auth_supported=False, enabled=True)
        return json_response(200, payload, [("Cache-Control", "no-store"), ("Pragma", "no-cache")]), client_id

    def _aggregate(self, client: str, target: Route, headers, body: bytes) -> Response:
        """POST .../load-accounts or .../load-entitlements: start an aggregation, 202 with its task."""
        operation, version = target.operation, target.version
        user = CLIENTS[client].get("identity_id")
        if user is None and aggregations.user_context_only(operation, version):
            return error_dto(403, "403 Forbidden", "Forbidden: %s aggregation%s accepts only tokens with a user "
                             "context (a personal access token with idn:%s); this token was issued to an API client "
                             "by the client credentials grant"
                             % ("entitlement" if operation == "entitlements" else "account",
                                " on beta" if operation == "accounts" else "",
                                "entitlement:manage" if operation == "entitlements" else "sources:manage"))
        kind = media_type(headers)
        if not body:
            if kind == MULTIPART:
                # Documented: a multipart Content-Type without a body fails inside the service.
                return error_dto(500, "500.0 Internal Fault", "An internal fault occurred.")
            fields = {}
        elif kind == URLENCODED and operation == "accounts" and version == "beta":
            fields = parse_form(headers, body)
        elif kind == URLENCODED:
            return bad_request("Content type %s is not supported by this operation; send multipart/form-data "
                               "(urlencoded bodies are accepted only by beta load-accounts)" % URLENCODED)
        elif kind == MULTIPART:
            try:
                fields = parse_form(headers, body)
            except FormError as exc:
                return bad_request("The multipart/form-data body cannot be read: %s" % exc)
        else:
            return error_dto(415, "415 Unsupported Media Type", "Unsupported media type %r: send multipart/form-data"
                             "%s, or no body" % (kind or None, " or %s" % URLENCODED if version == "beta"
                                                 and operation == "accounts" else ""))
        optimized = True
        flag = fields.get("disableOptimization") if operation == "accounts" else None
        if flag is not None:
            value = flag.text()
            if version == "beta" and value not in ("true", "false"):
                return bad_request("disableOptimization must be 'true' or 'false', got %r" % value)
            optimized = value.strip().lower() != "true"
        store = self.store
        source = store.sources.get(target.task_id)
        if source is None:
            return not_found("Source with the given id %r was not found." % target.task_id)
        if source.kind == "delimited-file" and "file" not in fields:
            return bad_request("Source %r is a delimited file source: the CSV file must be sent in the 'file' field "
                               "of a multipart/form-data body" % source.name)
        task, dummy = store.start_aggregation(source, operation, user or client)
        with store.lock:
            now = store.now()
            record = task.record(now, store.race_ms)
            form = store.settings["aggregation_timestamps"]
            if operation == "accounts":
                payload = aggregations.accounts_body(record, task, optimized, form)
            else:
                payload = aggregations.entitlements_body(record, task, form)
        return json_response(202, payload)

    def _list(self, version: str, query: dict) -> Response:
        limit, offset, count = _page_params(query)
        descending = _descending(query)
        text = query.get("filters")
        predicate = None
        if text is not None and text.strip():
            try:
                predicate = compile_filter(text, version)
            except FilterError as exc:
                raise ParamError("Invalid filter %r: %s" % (text, exc)) from None
        store = self.store

        def build():
            race = store.race_ms
            tasks = store.visible(now)
            if version in COMPLETED_ONLY_VERSIONS:
                tasks = [task for task in tasks if task.status(now, race) is not None]
            if predicate is not None:
                tasks = [task for task in tasks if predicate(task, now, race)]
            return tasks[::-1] if descending else tasks

        with store.lock:
            now = store.now()
            tasks = store.select((version, text, descending), now, build)
            body = self._serialize(tasks[offset:offset + limit], now)
        return Response(200, body, [("X-Total-Count", str(len(tasks)))] if count else None)

    def _pending(self, query: dict, head: bool) -> Response:
        limit, offset, count = _page_params(query)
        store = self.store
        with store.lock:
            now = store.now()
            tasks = store.select("pending", now, lambda: [task for task in store.visible(now)
                                                          if task.status(now, store.race_ms) is None])
            page = tasks[offset:offset + limit]
            body = self._serialize(page, now)
        headers = [("X-Deprecated", "true")]
        if count:
            headers.append(("X-Total-Count", str(len(tasks))))
        if not page:
            return Response(204, headers=headers)
        response = Response(200, body, headers)
        if head:
            response.headers.append(("Content-Length", str(len(body))))
            response.body = b""
        return response

    def _get(self, task_id: str) -> Response:
        store = self.store
        with store.lock:
            now = store.now()
            task = store.find(task_id, now)
            if task is None:
                return not_found("TaskStatus with the given id was not found.")
            return Response(200, task.json(now, store.race_ms, store.generation))

    def _patch(self, client: str, task_id: str, headers, body: bytes) -> Response:
        if "user_id" not in CLIENTS[client]:
            return error_dto(403, "403 Forbidden", "Forbidden: this operation needs a user context (a personal access "
                             "token or the authorization code grant); this token was issued to an API client by the "
                             "client credentials grant")
        media_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not media_type:
            return error_dto(415, "415 Unsupported Media Type", "The request has no Content-Type header: the body "
                             "must be sent as application/json-patch+json")
        if media_type != "application/json-patch+json":
            return error_dto(415, "415 Unsupported Media Type", "Unsupported media type %r: the body must be sent as "
                             "application/json-patch+json" % media_type)
        try:
            operations = validate_operations(json.loads(body.decode("utf-8")) if body else None)
        except (UnicodeDecodeError, ValueError) as exc:
            return bad_request("Invalid JSON Patch body: %s" % exc)
        for operation in operations:
            for key in ("path", "from"):
                pointer = operation.get(key) if key == "path" or operation["op"] == "move" else None
                if operation["op"] != "test" and pointer is not None and pointer not in PATCHABLE:
                    return bad_request("Cannot change %r: only /completionStatus and /completed may be patched" % pointer)
        store = self.store
        with store.lock:
            now = store.now()
            task = store.find(task_id, now)
            if task is None:
                return not_found("TaskStatus with the given id was not found.")
            before = task.record(now, store.race_ms)
            try:
                after = apply_patch(before, operations)
                status, completed = _patched_values(before, after)
            except PatchTestFailed as exc:
                return bad_request("JSON Patch test operation failed: %s" % exc)
            except PatchError as exc:
                return bad_request(str(exc))
            if status != before["completionStatus"] or completed != before["completed"]:
                store.task_changed()
                if status is not None:
                    frozen = dict(before, completionStatus=status, completed=completed, modified=format_ms(now))
                    task.freeze(frozen)
                else:
                    task.override_completed(completed, now)
            return Response(200, task.json(now, store.race_ms, store.generation))


def _patched_values(before: dict, after: dict):
    """Validate and normalise ``completionStatus`` and ``completed`` after a patch was applied."""
    if not isinstance(after, dict) or "completionStatus" not in after or "completed" not in after:
        raise PatchError("completionStatus and completed are required fields and cannot be removed")
    status, completed = after["completionStatus"], after["completed"]
    if not json_equal(status, before["completionStatus"]):
        if not isinstance(status, str) or status.upper() not in COMPLETION_STATUSES:
            raise PatchError("completionStatus must be one of %s, got %s"
                             % (", ".join(COMPLETION_STATUSES), json.dumps(status)))
        status = status.upper()
    if not json_equal(completed, before["completed"]):
        if not isinstance(completed, str):
            raise PatchError("completed must be an ISO-8601 date-time string, got %s" % json.dumps(completed))
        try:
            completed = format_ms(parse_iso8601(completed))
        except ValueError as exc:
            raise PatchError("completed must be an ISO-8601 date-time with a time zone: %s" % exc) from None
    return status, completed
