# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: the only place in the collection that speaks HTTP.

One keep-alive session per client. Tokens come from the options or from the client-credentials
grant and are renewed before they expire and once on HTTP 401. Transient failures are retried with
capped, jittered exponential backoff; HTTP 429 waits for Retry-After. Requests are paced under the
gateway's rate limit. Every failure is an IscError with SailPoint's details and no secrets.
"""

from __future__ import annotations

import collections
import email.utils
import json
import random
import time

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, filters
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError, NETWORK_HINT
from ansible_collections.identitynow.tasks.plugins.module_utils.pacing import RateLimiter, pacing_path

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

API_VERSIONS = api_versions.NAMES
YEAR_VERSIONS = tuple(v.name for v in api_versions.VERSIONS if v.experimental)
MAX_PAGE_SIZE = 250
# Ids per "id in (...)" list call: 50 ids of 32 characters keep the URL well under 4 KB.
ID_CHUNK = 50
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# A write is retried only when the answer proves the server did not apply it.
WRITE_SAFE_STATUSES = (429, 503)
USER_AGENT = "identitynow.tasks-ansible-collection"
JSON_PATCH = "application/json-patch+json"


def task_path(api_version, task_id=None):
    """Path of the task-status collection, or of one task, for an API version.

    The id is percent-encoded completely (including '/', '.', '?', '#'), so that no id can name
    another endpoint.
    """
    base = api_versions.get(api_version).tasks_path
    if task_id is None:
        return base
    if not isinstance(task_id, str) or not task_id:
        raise IscError("task id must be a non-empty string, got %r" % (task_id,))
    if task_id in (".", "..", "pending-tasks"):
        # Encoding cannot help: HTTP libraries decode %2E and %70, gateways resolve dot segments, and
        # .../task-status/pending-tasks is another endpoint in beta, v2024 and v2025.
        raise IscError("%r is not a task id: sent as one it would reach another endpoint" % task_id)
    encoded = "".join(c if c.isascii() and (c.isalnum() or c in "-_~") else
                      "".join("%%%02X" % b for b in c.encode("utf-8")) for c in task_id)
    return "%s/%s" % (base, encoded)


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Response:
    """What the client keeps of an HTTP answer."""

    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data


class _Transient(Exception):
    """A failure worth another attempt; carries the error to raise when attempts run out."""

    def __init__(self, error, delay=None):
        super().__init__(str(error))
        self.error = error
        self.delay = delay


class IscClient:
    """Talks to the task-status API of one ISC tenant in one API version."""

    def __init__(self, base_url, client_id=None, client_secret=None, access_token=None, token_url=None,
                 api_version="v2026", experimental=True, validate_certs=True, ca_path=None, timeout=30.0,
                 max_retries=5, retry_max_wait=120.0, rate_limit=100, rate_limit_window=10.0,
                 shared_pacing=False, backoff_base=0.5, backoff_max=8.0, clock=time.monotonic, sleep=time.sleep):
        if not HAS_REQUESTS:
            raise IscError("the Python library 'requests' is required")
        if api_version not in API_VERSIONS:
            raise IscError("api_version must be one of %s, got %r" % (", ".join(API_VERSIONS), api_version))
        if not access_token and not (client_id and client_secret):
            raise IscError("no credentials: set access_token, or client_id and client_secret "
                           "(environment SAIL_CLIENT_ID and SAIL_CLIENT_SECRET)")
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or self.base_url + "/oauth/token"
        self.client_id = client_id
        self._client_secret = client_secret
        self._static_token = access_token
        self._token = access_token
        self._token_expires = None
        self.api_version = api_version
        self.experimental = experimental and api_version in YEAR_VERSIONS
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_max_wait = retry_max_wait
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.clock = clock
        self.sleep = sleep
        # Messages for the user that are not failures (a module emits them with module.warn).
        self.warnings = []
        if shared_pacing:
            # Send times shared with other processes: wall-clock time, comparable between them.
            self.limiter = RateLimiter(rate_limit, rate_limit_window, clock=time.time, sleep=sleep,
                                       path=pacing_path(self.token_url, client_id, access_token, api_version),
                                       warn=self.warnings.append)
        else:
            self.limiter = RateLimiter(rate_limit, rate_limit_window, clock=clock, sleep=sleep)
        self.stats = collections.Counter()
        self.session = requests.Session()
        # Passed on every request too: requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE in the
        # environment override session.verify (turning validate_certs=false back on, or replacing ca_path).
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self.session.verify = self.verify
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    # -- secrets ---------------------------------------------------------------------------

    @property
    def secrets(self):
        return [s for s in (self._client_secret, self._static_token, self._token) if s]

    def _fail(self, error):
        raise error.redacted(self.secrets)

    # -- authentication ------------------------------------------------------------------

    def _token_is_fresh(self):
        if self._token is None:
            return False
        return self._token_expires is None or self.clock() < self._token_expires

    def _fetch_token(self, deadline=None):
        """Client-credentials grant. Retries transient failures like any other request."""
        data = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._client_secret}

        def send():
            return self.session.post(self.token_url, data=data, timeout=self.timeout, verify=self.verify)

        response = self._with_retries("POST", self.token_url, send, write=False, deadline=deadline)
        self.stats["token_requests"] += 1
        body = response.data if isinstance(response.data, dict) else {}
        token = body.get("access_token")
        if not token:
            self._fail(IscError("the token endpoint answered without an access_token", status=response.status,
                                method="POST", url=self.token_url))
        self._token = token
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float)) and expires_in > 0:
            # Renew a little before the end: 10% of the lifetime, at most 60 s.
            self._token_expires = self.clock() + expires_in - min(60.0, expires_in * 0.1)
        else:
            self._token_expires = None
        return token

    def _bearer(self, deadline=None):
        if self._static_token:
            return self._static_token
        if not self._token_is_fresh():
            self._fetch_token(deadline)
        return self._token

    # -- requests ------------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, content_type=None, deadline=None, write=False):
        """Send one API request with auth, pacing and retries; return a Response for a 2xx answer.

        write=True marks a request that must not be applied twice: it is retried only when the
        answer proves it was not applied; otherwise the IscError has uncertain=True.
        """
        url = self.base_url + path
        headers = {}
        if self.experimental:
            headers["X-SailPoint-Experimental"] = "true"
        payload = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            payload = json.dumps(body)
        renewed = [False]

        def send():
            headers["Authorization"] = "Bearer " + self._bearer(deadline)
            response = self._paced_request(method, url, params=params, data=payload, headers=headers)
            if response.status_code == 401 and not self._static_token and not renewed[0]:
                # Token revoked or expired early: renew once and replay.
                renewed[0] = True
                self.stats["token_renewals_on_401"] += 1
                self._fetch_token(deadline)
                headers["Authorization"] = "Bearer " + self._token
                response = self._paced_request(method, url, params=params, data=payload, headers=headers)
            return response

        return self._with_retries(method, url, send, write=write, deadline=deadline)

    def _paced_request(self, method, url, **kwargs):
        """One API request inside a pacing slot, which ends when the answer has arrived (see RateLimiter)."""
        slot = self.limiter.acquire()
        self.stats["requests"] += 1
        try:
            return self.session.request(method, url, timeout=self.timeout, verify=self.verify, **kwargs)
        finally:
            self.limiter.done(slot)

    def _with_retries(self, method, url, send, write, deadline):
        attempt = 0
        while True:
            try:
                return self._interpret(method, url, send, write)
            except _Transient as transient:
                error = transient.error
                if attempt >= self.max_retries:
                    if attempt:
                        error.message += " (after %d retries)" % attempt
                    self._fail(error)
                delay = transient.delay
                if delay is None:
                    delay = min(self.backoff_max, self.backoff_base * (2 ** attempt))
                    delay = random.uniform(delay / 2.0, delay)
                elif delay > self.retry_max_wait:
                    error.message += (" and asked to wait %.0f s, longer than retry_max_wait (%.0f s)"
                                      % (delay, self.retry_max_wait))
                    self._fail(error)
                if deadline is not None and self.clock() + delay > deadline:
                    error.message += (" and the next retry (in %.1f s) would pass the time budget" % delay)
                    self._fail(error)
                attempt += 1
                self.stats["retries"] += 1
                self.sleep(delay)

    def _interpret(self, method, url, send, write):
        try:
            response = send()
        except requests.exceptions.ConnectionError as exc:
            unsent = _never_sent(exc)
            error = IscError("connection to ISC failed: %s" % type(exc).__name__, method=method, url=url,
                             hint=NETWORK_HINT, uncertain=write and not unsent)
            if write and not unsent:
                self._fail(error)
            raise _Transient(error)
        except requests.exceptions.Timeout as exc:
            error = IscError("ISC did not answer within %s s (%s)" % (self.timeout, type(exc).__name__),
                             method=method, url=url, hint=NETWORK_HINT, uncertain=write)
            if write:
                self._fail(error)
            raise _Transient(error)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            # The request was sent and the answer broke off: a write may have been applied.
            error = IscError("the answer of ISC broke off (%s)" % type(exc).__name__, method=method, url=url,
                             hint=NETWORK_HINT, uncertain=write)
            if write:
                self._fail(error)
            raise _Transient(error)
        except requests.exceptions.RequestException as exc:
            self._fail(IscError("request to ISC failed: %s" % exc, method=method, url=url, hint=NETWORK_HINT))

        status = response.status_code
        data, parsed = _parse_body(response)
        if 200 <= status < 300:
            if not parsed and response.content:
                error = IscError("ISC answered with a body that is not valid JSON", status=status,
                                 method=method, url=url, uncertain=write)
                if write:
                    self._fail(error)
                raise _Transient(error)
            return Response(status, response.headers, data)

        error = _error_from(status, method, url, data, parsed, response)
        if status == 429:
            self.stats["rate_limited"] += 1
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Transient(error, delay=error.retry_after)
        if status in TRANSIENT_STATUSES:
            if write and status not in WRITE_SAFE_STATUSES:
                error.uncertain = True
                self._fail(error)
            raise _Transient(error)
        self._fail(error)

    # -- task-status operations -------------------------------------------------------------

    def get_task(self, task_id, deadline=None):
        """One TaskStatus; IscError with status 404 when ISC does not know the id."""
        return self.request("GET", task_path(self.api_version, task_id), deadline=deadline).data

    def patch_task(self, task_id, operations, deadline=None):
        """Apply JSON Patch operations to one task; returns the updated TaskStatus."""
        return self.request("PATCH", task_path(self.api_version, task_id), body=list(operations),
                            content_type=JSON_PATCH, deadline=deadline, write=True).data

    def list_tasks(self, filters=None, sorters=None, page_size=MAX_PAGE_SIZE, max_results=None, count=False,
                   deadline=None, path=None):
        """A TaskPages iterator over the list endpoint (see TaskPages)."""
        return TaskPages(self, path or task_path(self.api_version), filters, sorters, page_size, max_results,
                         count, deadline)

    def get_tasks_by_ids(self, task_ids, deadline=None, chunk_size=ID_CHUNK):
        """{id: TaskStatus} for the ids ISC returns, with one list call per chunk of ids.

        Ids ISC does not return are absent from the result. beta and v2024 list only finished tasks,
        so there the deprecated pending-tasks list is read as well.
        """
        wanted = list(dict.fromkeys(task_ids))
        found = {}
        for start in range(0, len(wanted), chunk_size):
            chunk = wanted[start:start + chunk_size]
            query = filters.in_("id", chunk)
            # max_results: a chunk whose ids are all found fills its page; no empty second page.
            for record in self.list_tasks(filters=query, page_size=min(MAX_PAGE_SIZE, len(chunk)),
                                          max_results=len(chunk), deadline=deadline):
                found[record["id"]] = record
        pending_path = self.pending_tasks_path()
        if pending_path and len(found) < len(wanted):
            remaining = set(wanted) - set(found)
            for record in self.list_tasks(path=pending_path, deadline=deadline):
                if record.get("id") in remaining:
                    found[record["id"]] = record
        return found

    def pending_tasks_path(self):
        """The deprecated pending-tasks list of this API version, or None where it has none."""
        return api_versions.get(self.api_version).pending_tasks_path


class TaskPages:
    """Iterates over every record of a list query, page by page.

    Always sends limit (the page size) and count=true, and follows offset until the records the
    server counts (X-Total-Count of the latest page, which grows while tasks are created) are all
    read or a page comes back short: N records take exactly ceil(N / page size) requests, never a
    trailing empty page. Drops records already seen (records shift between pages while tasks are
    created), stops after max_results records, and keeps the count of the latest page read in .total
    when count=True (it grows while tasks are created: a caller that stops at .total misses nothing).
    """

    def __init__(self, client, path, filters, sorters, page_size, max_results, count, deadline):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise IscError("page size must be between 1 and %d, got %s" % (MAX_PAGE_SIZE, page_size))
        if max_results is not None and max_results < 0:
            raise IscError("max_results must be 0 or more, got %s" % max_results)
        self.client = client
        self.path = path
        self.filters = None if filters is None else str(filters)
        self.sorters = sorters
        self.page_size = page_size
        self.max_results = max_results
        self.count = count
        self.deadline = deadline
        self.total = None
        self.pages = 0
        self.duplicates = 0

    def __iter__(self):
        seen = set()
        offset = 0
        yielded = 0
        while self.max_results is None or yielded < self.max_results:
            params = {"limit": self.page_size, "offset": offset}
            if self.filters:
                params["filters"] = self.filters
            if self.sorters:
                params["sorters"] = self.sorters
            params["count"] = "true"
            response = self.client.request("GET", self.path, params=params, deadline=self.deadline)
            self.pages += 1
            total = response.headers.get("X-Total-Count")
            total = int(total) if total is not None and total.isdigit() else None
            if self.count and (self.pages == 1 or total is not None):
                self.total = total
            records = response.data if isinstance(response.data, list) else []
            for record in records:
                task_id = record.get("id") if isinstance(record, dict) else None
                if task_id in seen:
                    self.duplicates += 1
                    continue
                seen.add(task_id)
                yield record
                yielded += 1
                if self.max_results is not None and yielded >= self.max_results:
                    return
            if len(records) < self.page_size:
                return
            offset += len(records)
            if total is not None and offset >= total:
                return


def _never_sent(exc):
    """True when a connection error happened before the request left (nothing can have been applied)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError")


def _parse_body(response):
    """(data, parsed): the JSON body, and whether it was JSON at all."""
    if not response.content:
        return None, False
    try:
        return response.json(), True
    except ValueError:
        return None, False


def _error_from(status, method, url, data, parsed, response):
    """An IscError from a non-2xx answer, with SailPoint's ErrorResponseDto or OAuth details."""
    detail_code = tracking_id = None
    messages = []
    if parsed and isinstance(data, dict):
        detail_code = data.get("detailCode")
        tracking_id = data.get("trackingId")
        for key in ("messages", "causes"):
            for item in data.get(key) or []:
                text = item.get("text") if isinstance(item, dict) else item
                if text and text not in messages:
                    messages.append(str(text))
        for key in ("error", "error_description", "message"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                messages.append(value.strip())
    elif response.content:
        kind = response.headers.get("Content-Type", "unknown content type").split(";")[0]
        messages.append("non-JSON answer (%s), probably from a proxy or load balancer" % kind)
    reason = getattr(response, "reason", None) or "error"
    return IscError("ISC answered %s %s" % (status, reason), status=status, method=method, url=url,
                    detail_code=detail_code, tracking_id=tracking_id, messages=messages)
