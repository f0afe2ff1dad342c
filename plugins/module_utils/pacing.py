# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pacing under the gateway's rate limit: a sliding window, optionally shared between processes.

ISC's gateway allows 100 requests per 10 seconds per client id and API version. RateLimiter keeps
the requests of one client under that limit; with a path, the window lives in a locked file so that
the module runs of one play (a list, then the PATCHes) count together, as the gateway counts them.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import os
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: pacing stays per process
    fcntl = None


class RateLimiter:
    """Sliding-window pacing: at most `limit` requests in any `window` seconds.

    acquire() waits for a free slot and takes it at the current time; done(slot) moves the slot to
    the time the answer arrived. The gateway counts a request at some moment between the two, so a
    request that is counted late (a slow connection, a busy gateway) can never make a later one
    look earlier to the gateway than to us: the window is measured from the latest moment it can
    have been counted.

    With `path`, the slot times live in that file (locked while read and written), so that every
    process pacing under the same path shares one window: the module runs of a play that follow
    each other within seconds (a list, then the PATCHes) count together, as the gateway counts
    them. Without a usable file, pacing is per process.
    """

    MARGIN = 0.1  # seconds added to the window, for clock skew between us and the gateway

    def __init__(self, limit, window, clock=time.monotonic, sleep=time.sleep, path=None, warn=None):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.path = path if fcntl is not None else None
        self.sent = collections.deque()
        self.waited = 0.0
        # Called with a message when the shared file cannot be used and pacing falls back to the process.
        self.warn = warn or (lambda message: None)

    def acquire(self):
        """Wait until a request may be sent; returns its slot for done(), or None when not pacing."""
        if not self.limit or self.limit <= 0:
            return None
        return self._locked(self._take_slot)

    def done(self, slot):
        """The request of `slot` has its answer (or failed): count it from now on."""
        if slot is not None:
            self._locked(lambda: self._move_slot(slot))

    def _locked(self, change):
        shared = self._open_shared()
        try:
            if shared is not None:
                self.sent = _read_times(shared)
            result = change()
            if shared is not None:
                _write_times(shared, self.sent)
            return result
        finally:
            if shared is not None:
                os.close(shared)  # also releases the lock

    def _move_slot(self, slot):
        try:
            self.sent.remove(slot)
        except ValueError:
            pass  # dropped from the window meanwhile: an answer slower than the window still counts now
        now = max(self.clock(), slot)
        position = len(self.sent)
        while position and self.sent[position - 1] > now:
            position -= 1
        self.sent.insert(position, now)

    def _take_slot(self):
        now = self.clock()
        horizon = self.window + self.MARGIN
        while self.sent and self.sent[-1] > now:
            self.sent.pop()  # from before the clock was set back: not a reason to wait
        while self.sent and now - self.sent[0] >= horizon:
            self.sent.popleft()
        while len(self.sent) >= self.limit:
            delay = self.sent[0] + horizon - now
            if delay > 0:
                self.sleep(delay)
                self.waited += delay
            self.sent.popleft()
            now = self.clock()
        self.sent.append(now)
        return now

    def _open_shared(self):
        """The locked descriptor of the shared file, or None (no path, or the file is unusable)."""
        if self.path is None:
            return None
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            self.path = None
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:
            os.close(descriptor)
            self.path = None
            return None
        return descriptor


def _read_times(descriptor):
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    try:
        times = json.loads(b"".join(chunks).decode("utf-8") or "[]")
    except ValueError:
        times = []
    if not isinstance(times, list):
        times = []
    return collections.deque(sorted(t for t in times if isinstance(t, (int, float)) and not isinstance(t, bool)))


def _write_times(descriptor, times):
    data = json.dumps(list(times)).encode("utf-8")
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, data)


def token_client_id(access_token):
    """The client_id claim of an access token, or None.

    ISC's access tokens are JWTs. The claims are read, not verified: they only name the pacing window, so
    that the tokens of one client share it, as the gateway counts per client id.
    """
    parts = (access_token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8"))
    except (ValueError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    value = claims.get("client_id") if isinstance(claims, dict) else None
    return value if isinstance(value, str) and value else None


def pacing_path(token_url, client_id, access_token, api_version):
    """The shared pacing file for a client id and API version, as the gateway counts.

    With a token only, the client id comes from the token (a digest of the token when it names none).
    The name holds a digest only; the file holds request times, never credentials.
    """
    who = (client_id or token_client_id(access_token)
           or hashlib.sha256((access_token or "").encode("utf-8")).hexdigest())
    digest = hashlib.sha256("\n".join((token_url, who, api_version)).encode("utf-8")).hexdigest()[:24]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), "identitynow.tasks-pacing-%s-%d.json" % (digest, user))
