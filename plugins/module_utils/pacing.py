# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pacing under the gateway's rate limit: a sliding window, optionally shared between processes.

ISC's gateway allows 100 requests per 10 seconds per client id and API version. RateLimiter keeps
the requests of one client under that limit; with a path, the window lives in a locked file so that
the module runs of one play (a list, then the PATCHes) count together, as the gateway counts them.

The shared file lives in a directory that only the user can write (see state_dir). Whatever is found
there is checked before use: the directory must be a real directory of the user that nobody else can
write, the file a regular file of the user with one link, opened without following a symbolic link
and without blocking, and its lock must come within LOCK_TIMEOUT. Anything else is left untouched and
pacing falls back to the process, with a warning.
"""

from __future__ import annotations

import base64
import collections
import errno
import hashlib
import json
import math
import os
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: pacing stays per process
    fcntl = None

STATE_DIR_NAME = "identitynow.tasks"
# What the shared state needs from the platform: without it, pacing is per process.
_SHARED = (fcntl is not None and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
           and hasattr(os, "geteuid") and os.open in os.supports_dir_fd)
_OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class UnusableState(Exception):
    """The shared pacing state cannot be used safely; the message says why."""


class RateLimiter:
    """Sliding-window pacing: at most `limit` requests in any `window` seconds.

    acquire() waits for a free slot and takes it at the current time; done(slot) moves the slot to
    the time the answer arrived. The gateway counts a request at some moment between the two, so a
    request that is counted late (a slow connection, a busy gateway) can never make a later one
    look earlier to the gateway than to us: the window is measured from the latest moment it can
    have been counted.

    With `path`, the slot times live in that file, so that every process pacing under the same path
    shares one window: the module runs of a play that follow each other within seconds (a list, then
    the PATCHes) count together, as the gateway counts them. The file is locked only while it is read
    and written, never while waiting: acquire() takes the lock, takes a free slot or learns how long
    to wait, releases the lock, sleeps, and tries again. Without a usable file (see the module
    docstring), pacing is per process and `warn` is called once with the reason.
    """

    MARGIN = 0.1  # seconds added to the window, for clock skew between us and the gateway
    LOCK_TIMEOUT = 2.0  # seconds to wait for the lock, which is held for microseconds by the processes that pace
    LOCK_RETRY = 0.01  # seconds between attempts to take the lock

    def __init__(self, limit, window, clock=time.monotonic, sleep=time.sleep, path=None, warn=None):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.path = path if _SHARED else None
        self.sent = collections.deque()
        self.waited = 0.0
        self._reset_warned = False
        # Called with a message when the shared file cannot be used and pacing falls back to the process.
        self.warn = warn or (lambda message: None)

    def acquire(self):
        """Wait until a request may be sent; returns its slot for done(), or None when not pacing."""
        if not self.limit or self.limit <= 0:
            return None
        earliest = None
        while True:
            slot, earliest = self._locked(lambda: self._take_slot(earliest))
            if slot is not None:
                return slot
            delay = earliest - self.clock()
            if delay > 0:
                self.sleep(delay)
                self.waited += delay

    def done(self, slot):
        """The request of `slot` has its answer (or failed): count it from now on."""
        if slot is not None:
            self._locked(lambda: self._move_slot(slot))

    def _locked(self, change):
        shared = self._open_shared()
        try:
            if shared is not None:
                self.sent = self._read_times(shared)
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

    def _take_slot(self, earliest):
        """(slot, None) when a slot was free and is now taken; else (None, the time to try again)."""
        now = self.clock()
        if earliest is not None:
            # Woken for the moment the oldest slot expires: a clock a hair behind it must not mean another wait.
            now = max(now, earliest)
        horizon = self.window + self.MARGIN
        while self.sent and self.sent[-1] > now:
            self.sent.pop()  # from before the clock was set back: not a reason to wait
        while self.sent and self.sent[0] + horizon <= now:
            self.sent.popleft()
        if len(self.sent) >= self.limit:
            return None, self.sent[0] + horizon
        self.sent.append(now)
        return now, None

    def _open_shared(self):
        """The locked descriptor of the shared file, or None (no path, or the state is unusable: warned)."""
        if self.path is None:
            return None
        try:
            descriptor = open_state_file(self.path)
        except UnusableState as exc:
            self._give_up(str(exc))
            return None
        deadline = time.monotonic() + self.LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return descriptor
            except OSError as exc:
                held = exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)
                if not held or time.monotonic() >= deadline:
                    os.close(descriptor)
                    self._give_up("%s could not be locked within %g s (%s)" % (
                        self.path, self.LOCK_TIMEOUT, "held by another process" if held else exc.strerror or exc))
                    return None
            time.sleep(self.LOCK_RETRY)

    def _read_times(self, descriptor):
        """The send times in the file; a file that holds anything else is started anew, with a warning."""
        times = _read_times(descriptor, max(1 << 20, 64 * self.limit))
        if times is None:
            if not self._reset_warned:
                self.warn("pacing: %s held no valid pacing state; it was started anew" % self.path)
                self._reset_warned = True
            times = collections.deque()
        return times

    def _give_up(self, reason):
        self.path = None
        self.warn("pacing is per process for the rest of this run, not shared with other module runs: %s" % reason)


def state_dir():
    """The directory of the shared pacing state of this user.

    $XDG_RUNTIME_DIR/identitynow.tasks when XDG_RUNTIME_DIR names a real directory of the user that
    nobody else can write (the per-user runtime directory of systemd and other session managers);
    otherwise identitynow.tasks-<uid> in the temporary directory (TMPDIR, else /tmp). Only the name
    is decided here: open_state_file creates the directory (mode 0700) and checks it at every use.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        try:
            info = os.lstat(runtime)
        except OSError:
            info = None
        if info is not None and _private(info, stat.S_ISDIR):
            return os.path.join(runtime, STATE_DIR_NAME)
    return os.path.join(tempfile.gettempdir(), "%s-%d" % (STATE_DIR_NAME, _uid()))


def open_state_file(path):
    """A read-write descriptor of the state file at path, after every check; UnusableState otherwise.

    The directory is created with mode 0700 if it is missing (its parent is not created), opened without
    following a symbolic link and must belong to the user and be writable by nobody else. The file is
    opened relative to that descriptor (no path can be swapped in between), without following a
    symbolic link and without blocking (a FIFO cannot stall the open), and must be a regular file of
    the user with a single link that nobody else can write. It is not locked yet.
    """
    directory, name = os.path.split(path)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UnusableState("cannot create the directory %s (%s)" % (directory, exc.strerror))
    try:
        directory_fd = os.open(directory, _DIR_FLAGS)
    except OSError as exc:
        raise UnusableState("%s is %s" % (directory, _what_is(directory, exc, "a directory")))
    try:
        _check(os.fstat(directory_fd), directory, stat.S_ISDIR, "a directory")
        try:
            descriptor = os.open(name, _OPEN_FLAGS, 0o600, dir_fd=directory_fd)
        except OSError as exc:
            raise UnusableState("%s is %s" % (path, _what_is(path, exc, "a regular file")))
    finally:
        os.close(directory_fd)
    try:
        info = os.fstat(descriptor)
        _check(info, path, stat.S_ISREG, "a regular file")
        if info.st_nlink != 1:
            raise UnusableState("%s has %d hard links; a pacing file has one" % (path, info.st_nlink))
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _uid():
    return os.geteuid() if hasattr(os, "geteuid") else 0


def _private(info, is_kind):
    return is_kind(info.st_mode) and info.st_uid == _uid() and not info.st_mode & _OTHERS_WRITE


def _check(info, path, is_kind, kind):
    if not is_kind(info.st_mode):
        raise UnusableState("%s is not %s" % (path, kind))
    if info.st_uid != _uid():
        raise UnusableState("%s belongs to uid %d, not to this user (uid %d)" % (path, info.st_uid, _uid()))
    if info.st_mode & _OTHERS_WRITE:
        raise UnusableState("%s can be written by others (mode %04o)" % (path, stat.S_IMODE(info.st_mode)))


def _what_is(path, error, kind):
    """Why path could not be opened as kind, for a message."""
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return "a symbolic link; it is not followed"
    except OSError:
        pass
    if error.errno in (errno.ENOTDIR, errno.ELOOP):
        return "not %s" % kind
    return "not usable (%s)" % (error.strerror or error)


def _read_times(descriptor, limit):
    """The sorted send times in the file (empty: none yet); None if it holds anything else or over limit bytes."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    size = 0
    while size <= limit:
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return None
    try:
        times = json.loads(b"".join(chunks).decode("utf-8") or "[]")
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting a RecursionError
        return None
    if not isinstance(times, list) or not all(_is_time(t) for t in times):
        return None
    return collections.deque(sorted(times))


def _is_time(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _write_times(descriptor, times):
    data = json.dumps(list(times)).encode("utf-8")
    os.lseek(descriptor, 0, os.SEEK_SET)
    # Write over the old content, then cut what is left of it: truncating to 0 first makes ext4 flush the
    # file on every write (about 3 ms a request). The file is locked meanwhile; a file left half-written by
    # a crash is read as corrupt and started anew.
    written = 0
    while written < len(data):
        written += os.write(descriptor, data[written:])
    os.ftruncate(descriptor, len(data))


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
    """The shared pacing file for a client id and API version, as the gateway counts, in state_dir().

    With a token only, the client id comes from the token (a digest of the token when it names none).
    The name holds a digest only; the file holds request times, never credentials.
    """
    who = (client_id or token_client_id(access_token)
           or hashlib.sha256((access_token or "").encode("utf-8")).hexdigest())
    digest = hashlib.sha256("\n".join((token_url, who, api_version)).encode("utf-8")).hexdigest()[:24]
    return os.path.join(state_dir(), "pacing-%s.json" % digest)
