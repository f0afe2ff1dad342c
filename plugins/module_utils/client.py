# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: the only place in the collection that speaks HTTP.

One keep-alive session per client. Tokens come from the options or from the client-credentials
grant and are renewed before they expire and once on HTTP 401. Transient failures are retried with
capped, jittered exponential backoff; HTTP 429 waits for Retry-After. Requests are paced under the
gateway's rate limit. Every failure is an IscError with SailPoint's details and no secrets.

Against a hostile network or server: redirects are never followed; each exchange is bounded in wall
time (connect, send and the whole body) and, with a deadline, never passes it; an answer is read in
chunks and refused beyond MAX_BODY bytes after decompression; every answer is checked for the shape
its caller needs; a listing that stops making progress ends with an error; http:// is accepted only
for this machine unless allowed; a failure that cannot get better (a certificate that does not verify,
a host name that does not resolve) is not retried.
"""

from __future__ import annotations

import collections
import email.utils
import errno
import ipaddress
import json
import math
import random
import socket
import ssl
import threading
import time
import zlib
from urllib.parse import urlsplit

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, filters
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import (
    BASE_URL_HINT, NETWORK_HINT, NOT_FOUND_HINT, REDIRECT_HINT, IscError, error_from_answer, redact)
from ansible_collections.identitynow.tasks.plugins.module_utils.pacing import RateLimiter, pacing_path

try:
    import requests
    import requests.adapters
    import urllib3
    import urllib3.connectionpool
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

#: The connections the exchanges of this thread use (see _Watchdog).
_WATCHED = threading.local()

if HAS_REQUESTS:
    class _Session(requests.Session):
        """A requests session that never looks at a redirect: with allow_redirects=False, requests still reads
        the whole body of a 3xx answer (without any bound) to prepare the next request."""

        def get_redirect_target(self, resp):
            return None

    def _watched(pool_class):
        class WatchedPool(pool_class):
            """A connection pool that shows the watchdog of the current exchange the connection it hands out."""

            def _get_conn(self, timeout=None):
                connection = super()._get_conn(timeout)
                watchdog = getattr(_WATCHED, "watchdog", None)
                if watchdog is not None:
                    watchdog.connection = connection
                return connection

        WatchedPool.__name__ = "Watched" + pool_class.__name__
        return WatchedPool

    def _watch(manager):
        manager.pool_classes_by_scheme = {"http": _watched(urllib3.connectionpool.HTTPConnectionPool),
                                          "https": _watched(urllib3.connectionpool.HTTPSConnectionPool)}
        return manager

    class _Adapter(requests.adapters.HTTPAdapter):
        """An adapter whose connections (direct or through a proxy) a _Watchdog can cut."""

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            _watch(self.poolmanager)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            return _watch(super().proxy_manager_for(proxy, **proxy_kwargs))


class _Watchdog:
    """Cuts the connection of an exchange that outlives its time, whatever phase it is in (a status line or
    headers trickled a byte at a time included): a timer that shuts the socket down."""

    def __init__(self, seconds):
        self.connection = None
        self.fired = False
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self):
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            self.fired = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass

    def __enter__(self):
        _WATCHED.watchdog = self
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        _WATCHED.watchdog = None


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
#: Largest answer body accepted, counted after decompression (a page of 250 tasks is well under 1 MiB).
MAX_BODY = 32 * 1024 * 1024
READ_CHUNK = 64 * 1024
# Seconds past its time after which an exchange's connection is cut, whatever it is doing.
WATCHDOG_SLACK = 0.5
#: Characters of a bearer token (RFC 6750 b64token); ISC's tokens are JWTs, well inside this.
TOKEN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
MAX_TOKEN_LENGTH = 16384
MAX_COUNT_DIGITS = 15
# Full pages in a row without a new record that a listing accepts while the count grows (tasks created
# meanwhile push records down to the next page).
MAX_STALLED_PAGES = 3


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
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# -- addresses and credentials ----------------------------------------------------------------

def is_loopback(host):
    """True for a host name or address of this machine: localhost, 127.0.0.0/8, ::1."""
    host = (host or "").strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url):
    """scheme://host[:port] of a URL: all a message shows of an address it did not choose (no path, no query)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except (TypeError, ValueError):
        return "an unreadable address"
    if not parts.scheme or not host:
        return "a relative address on the same server"
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (parts.scheme.lower(), host, ":%d" % port if port else "")


def check_url(name, url, allow_insecure_http=False):
    """Check a URL option; True when it sends in clear text to another host (which allow_insecure_http allows).

    Accepted: https:// with a host; http:// to this machine (localhost, 127.0.0.0/8, ::1), or to any
    host with allow_insecure_http. No credentials, query or fragment in the URL, no white space.
    """
    if not isinstance(url, str) or not url:
        raise IscError("%s must be a URL such as https://TENANT.api.identitynow.com" % name)
    if any(c.isspace() or not c.isprintable() for c in url):
        raise IscError("%s contains white space or control characters (a trailing newline, perhaps): remove them"
                       % name)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise IscError("%s is not a valid URL (its host or port cannot be read)" % name)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise IscError("%s must start with https:// and name a host, for example https://TENANT.api.identitynow.com"
                       % name)
    if parts.username is not None or parts.password is not None:
        raise IscError("%s must not contain credentials (user:password@host): use client_id and client_secret"
                       % name)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise IscError("%s must not have a query (?...) or a fragment (#...)" % name)
    if scheme == "http" and not is_loopback(host):
        if not allow_insecure_http:
            raise IscError("%s uses http:// to %s, which is not this machine: the client secret and tokens would "
                           "cross the network in clear text. Use https://, or set allow_insecure_http: true "
                           "for a network you trust" % (name, origin(url)))
        return True
    return False


def _is_token(value):
    return 0 < len(value) <= MAX_TOKEN_LENGTH and all(c in TOKEN_CHARACTERS for c in value)


def check_credential(name, value, token=False):
    """Refuse a credential with white space or control characters (or, for a token, any character a bearer
    token cannot have) before anything is sent; the message never shows the value."""
    if value is None:
        return
    if not isinstance(value, str):
        raise IscError("%s must be a string" % name)
    if any(c.isspace() or not c.isprintable() for c in value):
        raise IscError("%s contains white space or control characters (a trailing newline from a file or a "
                       "vault, perhaps): remove them. The value is not shown" % name)
    if token and not _is_token(value):
        raise IscError("%s is not a bearer token: it may hold only letters, digits and - . _ ~ + / = (at most "
                       "%d characters). The value is not shown" % (name, MAX_TOKEN_LENGTH))


# -- answers ------------------------------------------------------------------------------------

class Response:
    """What the client keeps of an HTTP answer."""

    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data


class _Answer:
    """An HTTP answer read completely: status, headers, body bytes, reason phrase."""

    def __init__(self, status, headers, body, reason):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason


class _Transient(Exception):
    """A failure worth another attempt; carries the error to raise when attempts run out."""

    def __init__(self, error, delay=None):
        super().__init__(str(error))
        self.error = error
        self.delay = delay


class _TooSlow(Exception):
    """The answer did not arrive completely within the time of the exchange."""


class _TooLarge(Exception):
    """The answer is larger than MAX_BODY."""


class _BrokenBody(Exception):
    """The body cannot be decoded (truncated or corrupt compressed data, unknown encoding)."""


def _describe(data):
    """What came, in a few words (never the values: they may be anything, a token included)."""
    if data is None:
        return "an empty body"
    if isinstance(data, dict):
        # Only keys that read as field names are shown (a long one might be anything).
        keys = sorted(k for k in data if isinstance(k, str) and len(k) <= 40 and k.replace("_", "").isalnum())
        others = len(data) - len(keys)
        text = ", ".join(repr(k) for k in keys[:8]) + (" and %d more" % (len(keys) - 8) if len(keys) > 8 else "")
        if others:
            text += " and %d other key(s)" % others
        if not keys:
            return "a JSON object with %s" % ("%d key(s) that are not field names" % others if others else "no keys")
        return "a JSON object with keys %s" % text
    if isinstance(data, list):
        kinds = sorted(set(_kind(item) for item in data[:50]))
        return "a JSON list of %d item(s)%s" % (len(data), (" (%s)" % ", ".join(kinds)) if kinds else "")
    return "a JSON %s" % _kind(data)


def _kind(value):
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _parse_json(body):
    """(data, problem): the JSON of a body, or None and why it could not be read."""
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except RecursionError:
        return None, "a JSON body nested too deeply to read"
    except ValueError:
        return None, "a body that is not valid JSON"


def _socket_of(response):
    """The socket an answer is read from, if the HTTP library shows it (to bound each read in time)."""
    raw = getattr(response, "raw", None)
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    return getattr(connection, "sock", None)


def _read_body(response, ends, max_body):
    """The whole body (a bytearray), read in chunks: never past the monotonic time ends, never more than max_body bytes
    after decompression (gzip and deflate are decoded here, chunk by chunk, each output bounded)."""
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, detected
    elif encoding == "identity":
        decoder = None
    else:
        raise _BrokenBody("the answer uses Content-Encoding %r, which the client did not ask for" % encoding[:40])
    length = response.headers.get("Content-Length")
    if decoder is None and length and length.strip().isdigit() and int(length) > max_body:
        raise _TooLarge()
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read
    sock = _socket_of(response)
    body = bytearray()
    while True:
        left = ends - time.monotonic()
        if left <= 0:
            raise _TooSlow()
        if sock is not None:
            try:
                sock.settimeout(left)
            except OSError:
                sock = None
        try:
            chunk = read(READ_CHUNK, decode_content=False)
        except (socket.timeout, urllib3.exceptions.ReadTimeoutError):
            raise _TooSlow()
        if not chunk:
            break
        if decoder is None:
            body += chunk
        else:
            try:
                while chunk and not decoder.eof:
                    body += decoder.decompress(chunk, min(4 * READ_CHUNK, max_body + 1 - len(body)))
                    chunk = decoder.unconsumed_tail
                    if len(body) > max_body:
                        break
            except zlib.error:
                raise _BrokenBody("the compressed answer is corrupt")
        if len(body) > max_body:
            raise _TooLarge()
    if decoder is not None and not decoder.eof:
        raise _BrokenBody("the compressed answer broke off")
    return body


def _causes(exc):
    """exc and every exception it wraps (cause, context, reason, args), outermost first."""
    seen, queue = set(), [exc]
    while queue:
        item = queue.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        queue.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
        queue.extend(item.args)


def _reason(exc):
    """The short underlying reason of a failed exchange: 'connection refused', 'certificate verify failed:
    hostname mismatch', 'name or service not known', ..., else the exception's class name."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = (getattr(cause, "verify_message", None) or "").split(",")[0].strip().rstrip(".").lower()
            return "certificate verify failed" + (": " + detail if detail else "")
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return (cause.strerror or "the host name does not resolve").lower()
    for kind in (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
        for cause in causes:
            if isinstance(cause, kind):
                return (cause.strerror or kind.__name__).lower()
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return "TLS error: %s" % (cause.reason or cause.strerror or type(cause).__name__).lower()
    for cause in causes:
        name = type(cause).__name__
        if name == "RemoteDisconnected":
            return "the server closed the connection without answering"
        if name == "IncompleteRead":
            return "the answer broke off"
    for cause in causes:
        if isinstance(cause, (socket.timeout, TimeoutError)):
            return "timed out"
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return type(exc).__name__


def _is_certificate_failure(exc):
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc))


def _is_name_failure(exc):
    """A host name that does not resolve (a temporary failure of the resolver, EAI_AGAIN, excepted)."""
    return any(isinstance(cause, socket.gaierror) and cause.errno != socket.EAI_AGAIN for cause in _causes(exc))


def _never_sent(exc):
    """True when a connection error happened before the request left (nothing can have been applied)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    names = set(type(cause).__name__ for cause in _causes(exc))
    return bool(names & {"NewConnectionError", "NameResolutionError", "ConnectTimeoutError"}) or \
        _is_certificate_failure(exc) or _is_name_failure(exc)


class IscClient:
    """Talks to the task-status API of one ISC tenant in one API version."""

    def __init__(self, base_url, client_id=None, client_secret=None, access_token=None, token_url=None,
                 api_version="v2026", experimental=True, validate_certs=True, ca_path=None, timeout=30.0,
                 max_retries=5, retry_max_wait=120.0, rate_limit=100, rate_limit_window=10.0,
                 shared_pacing=False, backoff_base=0.5, backoff_max=8.0, clock=time.monotonic, sleep=time.sleep,
                 allow_insecure_http=False, client_id_source=None, max_body=MAX_BODY):
        if not HAS_REQUESTS:
            raise IscError("the Python library 'requests' is required")
        if api_version not in API_VERSIONS:
            raise IscError("api_version must be one of %s, got %r" % (", ".join(API_VERSIONS), api_version))
        if not access_token and not (client_id and client_secret):
            raise IscError("no credentials: set access_token, or client_id and client_secret "
                           "(environment SAIL_CLIENT_ID and SAIL_CLIENT_SECRET)")
        check_credential("access_token", access_token, token=True)
        check_credential("client_id", client_id)
        check_credential("client_secret", client_secret)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout <= 0:
            raise IscError("timeout must be a number of seconds greater than 0, got %r" % (timeout,))
        self.base_url = base_url.rstrip("/") if isinstance(base_url, str) else base_url
        self.token_url = token_url or "%s/oauth/token" % self.base_url
        # True when a URL sends in clear text to another host (allowed by allow_insecure_http).
        self.insecure_http = any([check_url("base_url", self.base_url, allow_insecure_http),
                                  check_url("token_url", self.token_url, allow_insecure_http)])
        self.client_id = client_id
        self.client_id_source = client_id_source
        self._client_secret = client_secret
        self._static_token = access_token
        self._token = access_token
        self._token_expires = None
        self._old_tokens = []
        self.api_version = api_version
        self.experimental = experimental and api_version in YEAR_VERSIONS
        self.timeout = float(timeout)
        self.max_retries = max(0, max_retries)
        self.retry_max_wait = retry_max_wait
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_body = max_body
        self.clock = clock
        self.sleep = sleep
        # Messages for the user that are not failures (a module emits them with module.warn).
        self.warnings = []
        if shared_pacing:
            # Send times shared with other processes: wall-clock time, comparable between them.
            self.limiter = RateLimiter(rate_limit, rate_limit_window, clock=time.time, sleep=sleep,
                                       path=pacing_path(self.token_url, client_id, access_token, api_version),
                                       warn=self._warn)
        else:
            self.limiter = RateLimiter(rate_limit, rate_limit_window, clock=clock, sleep=sleep)
        self.stats = collections.Counter()
        self.session = _Session()
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, _Adapter())
        # Passed on every request too: requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE in the
        # environment override session.verify (turning validate_certs=false back on, or replacing ca_path).
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self.session.verify = self.verify
        # Only the encodings _read_body decodes itself, chunk by chunk and bounded.
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT,
                                     "Accept-Encoding": "gzip, deflate"})

    # -- secrets ---------------------------------------------------------------------------

    @property
    def secrets(self):
        return [s for s in [self._client_secret, self._static_token, self._token] + self._old_tokens if s]

    def _fail(self, error):
        raise error.redacted(self.secrets)

    def _warn(self, message):
        self.warnings.append(redact(message, self.secrets))

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
            return self._exchange("POST", self.token_url, deadline, data=data)

        response = self._with_retries("POST", self.token_url, send, write=False, deadline=deadline)
        self.stats["token_requests"] += 1
        body = response.data

        def refuse(what):
            self._fail(IscError("the token endpoint answered with %s, where a JSON object with a string "
                                "access_token (a bearer token) and a numeric expires_in was expected" % what,
                                status=response.status, method="POST", url=self.token_url))

        if not isinstance(body, dict):
            refuse(_describe(body))
        token = body.get("access_token")
        if not token:
            refuse("no access_token")
        if not isinstance(token, str):
            refuse("an access_token that is a JSON %s" % _kind(token))
        if not _is_token(token):
            refuse("an access_token holding characters a bearer token cannot have (it is not shown)")
        expires_in = body.get("expires_in")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))
                                       or math.isnan(expires_in)):
            refuse("an expires_in that is a JSON %s" % _kind(expires_in))
        if self._token:
            self._old_tokens.append(self._token)
        self._token = token
        if expires_in is not None and expires_in > 0:
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

    def request(self, method, path, params=None, body=None, content_type=None, deadline=None, write=False,
                files=None):
        """Send one API request with auth, pacing and retries; return a Response for a 2xx answer.

        body is sent as JSON (Content-Type content_type, default application/json). files sends a
        multipart/form-data body instead: {name: value} for a plain field, {name: (filename, data[,
        mime type])} for a file, data as bytes or str (encoded once, so that a retry sends the same body);
        body must then be None. An empty files sends no body and no Content-Type.
        write=True marks a request that must not be applied twice: it is retried only when the
        answer proves it was not applied; otherwise the IscError has uncertain=True.
        Any answer that is not a 2xx, cannot be read, or breaks a limit is an IscError.
        """
        url = self.base_url + path
        headers = {}
        if self.experimental:
            headers["X-SailPoint-Experimental"] = "true"
        payload = None
        if files:
            if body is not None:
                raise IscError("request(): give body or files, not both")
            payload, headers["Content-Type"] = urllib3.encode_multipart_formdata(files)
        elif body is not None:
            headers["Content-Type"] = content_type or "application/json"
            payload = json.dumps(body)
        renewed = [False]

        def send():
            headers["Authorization"] = "Bearer " + self._bearer(deadline)
            response = self._paced_request(method, url, deadline, params=params, data=payload, headers=headers)
            if response.status == 401 and not self._static_token and not renewed[0]:
                # Token revoked or expired early: renew once and replay.
                renewed[0] = True
                self.stats["token_renewals_on_401"] += 1
                self._fetch_token(deadline)
                headers["Authorization"] = "Bearer " + self._token
                response = self._paced_request(method, url, deadline, params=params, data=payload, headers=headers)
            return response

        return self._with_retries(method, url, send, write=write, deadline=deadline, path=path)

    def _paced_request(self, method, url, deadline, **kwargs):
        """One API request inside a pacing slot, which ends when the answer has arrived (see RateLimiter)."""
        slot = self.limiter.acquire()
        self.stats["requests"] += 1
        try:
            return self._exchange(method, url, deadline, **kwargs)
        finally:
            self.limiter.done(slot)

    def _exchange(self, method, url, deadline, **kwargs):
        """One HTTP exchange, read completely within timeout (and the deadline): an _Answer.

        Redirects are not followed; the body is read by _read_body (time and size bounded).
        """
        limit = self.timeout
        if deadline is not None:
            limit = min(limit, deadline - self.clock())
            if limit <= 0:
                raise IscError("the time budget ran out before %s %s was sent" % (method, url), method=method,
                               url=url)
        ends = time.monotonic() + limit
        # The watchdog is the last resort (a trickled status line or headers); each read has its own bound.
        with _Watchdog(limit + WATCHDOG_SLACK) as watchdog:
            try:
                response = self.session.request(method, url, timeout=(limit, limit), verify=self.verify,
                                                allow_redirects=False, stream=True, **kwargs)
            except Exception:  # pylint: disable=broad-except
                if watchdog.fired:
                    raise _TooSlow()
                raise
            try:
                body = _read_body(response, ends, self.max_body)
            except BaseException as exc:
                response.close()  # a connection with an unread answer cannot be used again
                if watchdog.fired and not isinstance(exc, (_TooSlow, _TooLarge)):
                    raise _TooSlow()
                raise
        release = getattr(response.raw, "release_conn", None)
        if release is not None:
            release()
        self.stats["body_bytes"] += len(body)
        return _Answer(response.status_code, response.headers, body, response.reason)

    def _with_retries(self, method, url, send, write, deadline, path=None):
        attempt = 0
        while True:
            try:
                return self._interpret(method, url, send, write, path)
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
                if deadline is not None and self.clock() + delay >= deadline:
                    error.message += (" and the next retry (in %.1f s) would pass the time budget" % delay)
                    self._fail(error)
                attempt += 1
                self.stats["retries"] += 1
                self.sleep(delay)

    def _interpret(self, method, url, send, write, path):
        try:
            answer = send()
        except (IscError, _Transient):
            raise
        except Exception as exc:  # pylint: disable=broad-except
            # Whatever a server or the network does ends here as an IscError (or a retry), never as
            # another exception.
            self._failed_exchange(exc, method, url, write)

        status = answer.status
        if 300 <= status < 400:
            location = answer.headers.get("Location")
            self._fail(IscError("ISC answered %d, a redirect to %s: redirects are never followed, and nothing was "
                                "sent there" % (status, origin(location) if location else "no location"),
                                status=status, method=method, url=url, hint=REDIRECT_HINT))
        data, problem = _parse_json(answer.body)
        if 200 <= status < 300:
            if problem:
                error = IscError("ISC answered with %s" % problem, status=status, method=method, url=url,
                                 uncertain=write)
                if write or "nested" in problem:
                    self._fail(error)
                raise _Transient(error)
            return Response(status, answer.headers, data)

        content_type = None
        if answer.body and problem:
            content_type = answer.headers.get("Content-Type") or "unknown content type"
        error = error_from_answer(status, method, url, data, not problem and bool(answer.body), content_type,
                                  answer.reason, hint=self._hint(status, url, path))
        error.path_missing = status in (404, 405) and error.hint == BASE_URL_HINT
        if status == 429:
            self.stats["rate_limited"] += 1
            error.retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            raise _Transient(error, delay=error.retry_after)
        if status in TRANSIENT_STATUSES:
            if write and status not in WRITE_SAFE_STATUSES:
                error.uncertain = True
                self._fail(error)
            raise _Transient(error)
        self._fail(error)

    def _hint(self, status, url, path):
        """The hint for a non-2xx answer where the URL tells more than the status alone; None for the default."""
        if url == self.token_url:
            if status in (404, 405):
                return BASE_URL_HINT
            if status in (400, 401):
                source = self.client_id_source or "the client_id option or SAIL_CLIENT_ID"
                return ("The token endpoint refused client_id %r (from %s): check that it and its client_secret "
                        "(option or SAIL_CLIENT_SECRET) are a pair of this tenant's API client or personal access "
                        "token, and that base_url (or token_url) points at that tenant."
                        % (self.client_id, source)) if self.client_id else None
            return None
        if status == 405 or (status == 404 and urlsplit(self.base_url).path not in ("", "/")):
            return BASE_URL_HINT
        if status == 404:
            tasks = task_path(self.api_version)
            if path and path.startswith(tasks + "/") and "/" not in path[len(tasks) + 1:] \
                    and path != self.pending_tasks_path():
                return None  # one task: "No such task"
            return BASE_URL_HINT if path and path.startswith(tasks) else NOT_FOUND_HINT
        return None

    def _failed_exchange(self, exc, method, url, write):
        """Raise the IscError (or the _Transient) for an exchange that failed without an answer."""
        def fail(message, transient, sent, hint=NETWORK_HINT):
            error = IscError(message, method=method, url=url, hint=hint, uncertain=write and sent)
            if not transient or (write and sent):
                self._fail(error)
            raise _Transient(error)

        what = type(exc).__name__
        if isinstance(exc, _TooLarge):
            fail("ISC answered with more than %d MiB (after decompression), more than the client accepts"
                 % (self.max_body // (1024 * 1024)), False, True, hint=None)
        if isinstance(exc, _BrokenBody):
            fail("the answer of ISC cannot be read: %s" % exc, True, True)
        if isinstance(exc, _TooSlow):
            fail("ISC did not send its whole answer within %s s" % _seconds(self.timeout), True, True)
        if HAS_REQUESTS and isinstance(exc, requests.exceptions.ConnectTimeout):
            fail("could not connect to ISC within %s s (%s)" % (_seconds(self.timeout), what), True, False)
        if HAS_REQUESTS and isinstance(exc, requests.exceptions.ConnectionError):
            reason = _reason(exc)
            if _is_certificate_failure(exc):
                fail("connection to ISC failed: %s (%s)" % (reason, what), False, False,
                     hint="The server's TLS certificate does not verify for this host name: check base_url, or "
                          "give the CA that signed it with ca_path.")
            if _is_name_failure(exc):
                fail("connection to ISC failed: %s (%s)" % (reason, what), False, False,
                     hint="The host name of base_url (or token_url) does not resolve: check the tenant name "
                          "and the DNS of this machine.")
            fail("connection to ISC failed: %s (%s)" % (reason, what), True, not _never_sent(exc))
        if (HAS_REQUESTS and isinstance(exc, requests.exceptions.Timeout)) or \
                isinstance(exc, (socket.timeout, urllib3.exceptions.ReadTimeoutError)):
            fail("ISC did not answer within %s s (%s)" % (_seconds(self.timeout), what), True, True)
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
                            urllib3.exceptions.HTTPError)) or type(exc).__module__ == "http.client":
            fail("the answer of ISC broke off: %s (%s)" % (_reason(exc), what), True, True)
        if isinstance(exc, OSError) and getattr(exc, "errno", None) in (errno.ECONNRESET, errno.EPIPE):
            fail("the connection to ISC broke: %s (%s)" % (_reason(exc), what), True, True)
        fail("request to ISC failed: %s: %s" % (what, exc), False, False)  # cut after redaction (IscError)

    # -- task-status operations -------------------------------------------------------------

    def _task(self, method, response, url, write=False):
        """The TaskStatus of an answer, checked: a JSON object with a string id."""
        data = response.data
        if not (isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]):
            self._fail(IscError("ISC answered with %s, where a task (a JSON object with a string id) was expected"
                                % _describe(data), status=response.status, method=method, url=url,
                                uncertain=write))
        return data

    def get_task(self, task_id, deadline=None):
        """One TaskStatus; IscError with status 404 when ISC does not know the id."""
        path = task_path(self.api_version, task_id)
        return self._task("GET", self.request("GET", path, deadline=deadline), self.base_url + path)

    def patch_task(self, task_id, operations, deadline=None):
        """Apply JSON Patch operations to one task; returns the updated TaskStatus."""
        path = task_path(self.api_version, task_id)
        response = self.request("PATCH", path, body=list(operations), content_type=JSON_PATCH, deadline=deadline,
                                write=True)
        return self._task("PATCH", response, self.base_url + path, write=True)

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


def _seconds(value):
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


class TaskPages:
    """Iterates over every record of a list query, page by page.

    Always sends limit (the page size) and count=true, and follows offset until the records the
    server counts (X-Total-Count of the latest page, which grows while tasks are created) are all
    read or a page comes back short: N records take exactly ceil(N / page size) requests, never a
    trailing empty page. Drops records already seen (records shift between pages while tasks are
    created), stops after max_results records, and keeps the count of the latest page read in .total
    when count=True (it grows while tasks are created: a caller that stops at .total misses nothing).

    Every page is checked: a JSON list of task objects (each with a string id), and an X-Total-Count of
    ASCII digits. A full page that brings no record not seen before ends the listing with an IscError
    (a server that ignores offset, or repeats pages, would otherwise be read forever).
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

    def _fail(self, what, response, offset):
        self.client._fail(IscError(  # pylint: disable=protected-access
            "ISC answered page %d of the listing (offset %d) with %s" % (self.pages, offset, what),
            status=response.status, method="GET", url=self.client.base_url + self.path))

    def _records(self, response, offset):
        records = response.data
        if response.status == 204 and records is None:
            return []  # No Content: pending-tasks answers 204 when nothing is pending
        if not isinstance(records, list):
            self._fail("%s, where a JSON list of tasks was expected" % _describe(records), response, offset)
        for record in records:
            if not (isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]):
                self._fail("%s, where each item must be a task (a JSON object with a string id)"
                           % _describe(records), response, offset)
        return records

    def _total(self, response, offset):
        total = response.headers.get("X-Total-Count")
        if total is None:
            return None
        total = total.strip()
        if not (0 < len(total) <= MAX_COUNT_DIGITS and all("0" <= c <= "9" for c in total)):
            self._fail("the header X-Total-Count %s, where a count of ASCII digits was expected"
                       % ascii(total[:40]), response, offset)
        return int(total)

    def __iter__(self):
        seen = set()
        offset = yielded = stalled = 0
        previous = None
        while self.max_results is None or yielded < self.max_results:
            params = {"limit": self.page_size, "offset": offset}
            if self.filters:
                params["filters"] = self.filters
            if self.sorters:
                params["sorters"] = self.sorters
            params["count"] = "true"
            response = self.client.request("GET", self.path, params=params, deadline=self.deadline)
            self.pages += 1
            total = self._total(response, offset)
            if self.count and (self.pages == 1 or total is not None):
                self.total = total
            records = self._records(response, offset)
            new = 0
            for record in records:
                task_id = record["id"]
                if task_id in seen:
                    self.duplicates += 1
                    continue
                seen.add(task_id)
                new += 1
                yield record
                yielded += 1
                if self.max_results is not None and yielded >= self.max_results:
                    return
            if len(records) < self.page_size:
                return
            offset += len(records)
            if total is not None and offset >= total:
                return
            # A full page of records read before: tasks created meanwhile pushed them down (the count then
            # grew), or the server ignores offset or repeats pages, and the listing would never end.
            stalled = stalled + 1 if not new else 0
            if stalled and (total is None or previous is None or total <= previous or stalled > MAX_STALLED_PAGES):
                self._fail("%d record(s) that were all read before: the listing makes no progress (does the "
                           "server ignore offset?) and stopped after %d record(s)" % (len(records), yielded),
                           response, offset - len(records))
            previous = total
