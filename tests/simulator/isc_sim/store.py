# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""All mutable state of one simulated tenant, guarded by one lock.

The simulator clock is the wall clock plus an offset that the control API can advance; token expiry, rate-limit
windows, task life and the 90-day window all run on it.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import secrets
import threading
import uuid
from collections import deque

from . import scenarios
from .aggregations import (OVERLAP_DURATION, OVERLAP_TEXT, SOURCE_KINDS, SOURCE_OUTCOMES, TASK_NAMES,
                           TIMESTAMP_FORMS, Source)
from .definitions import ADMIN_IDENTITY_ID, BY_CODE, BY_NAME, stable_id
from .tasks import OUTCOMES, Task
from .timeutil import format_ms, wall_ms

DAY_MS = 86400 * 1000
RETENTION_MS = 90 * DAY_MS
LOG_LIMIT = 100000

#: Built-in settings; ``start_simulator``/environment values replace them as the defaults a reset restores.
DEFAULT_SETTINGS = {
    "token_ttl": 749,
    "rate_limit": 100,
    "rate_window": 10,
    "race_window": 2,
    "require_experimental": False,
    "aggregation_timestamps": "iso",
}

FAULT_KINDS = ("status", "latency", "drop", "malformed", "html", "rate_storm", "expire_tokens")
_FAULT_KEYS = {
    "status": {"status"},
    "latency": {"seconds"},
    "drop": {"apply"},
    "malformed": set(),
    "html": {"status"},
    "rate_storm": {"retry_after"},
}
_COMMON_FAULT_KEYS = {"kind", "count", "after", "method", "path"}


class InvalidRequest(ValueError):
    """A control-API or task-spec value that cannot be used."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_settings(changes) -> dict:
    """Check a settings mapping (any subset of DEFAULT_SETTINGS) and return it."""
    if not isinstance(changes, dict):
        raise InvalidRequest("settings must be an object")
    checks = {
        "token_ttl": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "rate_limit": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0 disables rate limiting)"),
        "rate_window": (lambda v: _is_number(v) and v > 0, "a number > 0"),
        "race_window": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
        "require_experimental": (lambda v: isinstance(v, bool), "a boolean"),
        "aggregation_timestamps": (lambda v: v in TIMESTAMP_FORMS, "one of %s" % ", ".join(TIMESTAMP_FORMS)),
    }
    for key, value in changes.items():
        if key not in checks:
            raise InvalidRequest("unknown setting %r; known: %s" % (key, ", ".join(checks)))
        check, expected = checks[key]
        if not check(value):
            raise InvalidRequest("setting %r must be %s, got %r" % (key, expected, value))
    return changes


def _spec_number(spec: dict, key: str, default: float) -> float:
    value = spec.get(key, default)
    if not _is_number(value) or value < 0:
        raise InvalidRequest("task %r must be a number >= 0, got %r" % (key, value))
    return value


def _spec_string(spec: dict, key: str, default):
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise InvalidRequest("task %r must be a non-empty string, got %r" % (key, value))
    return value


class Store:
    """The tenant: tasks, tokens, settings, clock offset, rate-limit counters, fault rules and request log."""

    def __init__(self, defaults=None):
        self.lock = threading.RLock()
        self.defaults = dict(DEFAULT_SETTINGS)
        self.defaults.update(validate_settings(dict(defaults or {})))
        self.settings = {}
        self.generation = 0
        self.changes = 0
        self._selections = {}
        self._transitions = (-1, [])
        self.offset_ms = 0
        self.tasks = {}
        self.sources = {}
        self.ordered = []
        self.created_keys = []
        self.tokens = {}
        self.rate = {}
        self.faults = []
        self.log = deque(maxlen=LOG_LIMIT)
        self.seq = 0
        self.scenario = "empty"

    # ------------------------------------------------------------------------------------ reset, settings
    def reset(self, scenario: str = "empty", tasks=None, settings=None) -> None:
        """Forget everything, restore the default settings, apply ``settings`` and load ``scenario``."""
        if scenario not in scenarios.SCENARIOS:
            raise InvalidRequest("unknown scenario %r; known: %s" % (scenario, ", ".join(scenarios.SCENARIOS)))
        if tasks is not None and (not _is_int(tasks) or tasks < 0):
            raise InvalidRequest("tasks must be an integer >= 0, got %r" % (tasks,))
        changes = validate_settings(dict(settings or {}))
        with self.lock:
            self.settings = dict(self.defaults)
            self.settings.update(changes)
            self.generation += 1
            self.changes += 1
            self.offset_ms = 0
            self.tasks, self.ordered, self.created_keys = {}, [], []
            self.tokens, self.rate, self.faults = {}, {}, []
            self.log.clear()
            self.seq = 0
            self.scenario = scenario
            self.sources = {}
            self.add_sources(scenarios.sources_of(scenario))
            self.add_tasks(scenarios.SCENARIOS[scenario](tasks))

    def update_settings(self, changes: dict) -> dict:
        """Apply a subset of settings; returns all settings."""
        validate_settings(changes)
        with self.lock:
            self.settings.update(changes)
            self.generation += 1  # cached records depend on race_window
            self.changes += 1
            return dict(self.settings)

    @property
    def race_ms(self) -> int:
        return int(self.settings["race_window"] * 1000)

    # ---------------------------------------------------------------------------------------------- clock
    def now(self) -> int:
        """The simulator clock in milliseconds."""
        return wall_ms() + self.offset_ms

    def advance(self, seconds) -> int:
        """Move the simulator clock forward."""
        if not _is_number(seconds) or seconds < 0:
            raise InvalidRequest("advance must be a number of seconds >= 0, got %r" % (seconds,))
        with self.lock:
            self.offset_ms += int(seconds * 1000)
            return self.now()

    # ---------------------------------------------------------------------------------------------- tasks
    def add_tasks(self, specs) -> list:
        """Create tasks from control-API specs (see docs/simulator.md); returns the new Task objects."""
        if not isinstance(specs, list):
            raise InvalidRequest("tasks must be a list of task specs")
        with self.lock:
            now = self.now()
            new = []
            for spec in specs:
                new.extend(self._build(spec, now, {t.id for t in new}))
            for task in new:
                self.tasks[task.id] = task
            self.ordered.extend(new)
            self.ordered.sort(key=lambda t: (t.created, t.id))
            self.created_keys = [t.created for t in self.ordered]
            self.changes += 1
            return new

    def _build(self, spec, now: int, pending_ids: set) -> list:
        if not isinstance(spec, dict):
            raise InvalidRequest("a task spec must be an object")
        unknown = set(spec) - {"id", "source_id", "source_name", "unique_name", "outcome", "duration", "launch_delay",
                               "created_ago", "launcher", "count"}
        if unknown:
            raise InvalidRequest("unknown task spec keys: %s" % ", ".join(sorted(unknown)))
        name = _spec_string(spec, "unique_name", "Cloud Account Aggregation")
        definition = BY_NAME.get(name) or BY_CODE.get(name)
        if definition is None:
            raise InvalidRequest("unknown unique_name %r; known: %s" % (name, ", ".join(BY_NAME)))
        outcome = _spec_string(spec, "outcome", "SUCCESS").upper()
        if outcome not in OUTCOMES:
            raise InvalidRequest("outcome must be one of %s, got %r" % (", ".join(OUTCOMES), spec["outcome"]))
        count = spec.get("count", 1)
        if not _is_int(count) or count < 1:
            raise InvalidRequest("count must be an integer >= 1, got %r" % (count,))
        if "id" in spec and count != 1:
            raise InvalidRequest("a spec with an id cannot have count > 1")
        source = None
        if definition.per_source:
            source_name = _spec_string(spec, "source_name", "Active Directory")
            source = (_spec_string(spec, "source_id", stable_id("source", source_name)), source_name)
        created = now - int(_spec_number(spec, "created_ago", 0) * 1000)
        launch_delay = int(_spec_number(spec, "launch_delay", 0) * 1000)
        duration = int(_spec_number(spec, "duration", 30) * 1000)
        launcher = _spec_string(spec, "launcher", ADMIN_IDENTITY_ID)
        built = []
        for dummy in range(count):
            task_id = _spec_string(spec, "id", uuid.uuid4().hex)
            if task_id in self.tasks or task_id in pending_ids:
                raise InvalidRequest("a task with id %r already exists" % task_id)
            built.append(Task(task_id, definition, source, outcome, created, launch_delay, duration, launcher))
        return built

    # -------------------------------------------------------------------------------- sources, aggregations
    def add_sources(self, specs) -> list:
        """Add sources, or replace those with the same id; returns the Source objects."""
        if not isinstance(specs, list):
            raise InvalidRequest("sources must be a list of source specs")
        built = [_source(spec) for spec in specs]
        with self.lock:
            for source in built:
                self.sources[source.id] = source
        return built

    def start_aggregation(self, source: Source, operation: str, launcher: str):
        """Create the task of a started aggregation; returns ``(task, overlapping)``.

        While an aggregation of the same kind runs on the source (no completionStatus yet), the new task still
        starts, and fails at once with the "currently running aggregation" message.
        """
        definition = BY_NAME[TASK_NAMES[operation]]
        with self.lock:
            now = self.now()
            race = self.race_ms
            overlapping = any(task.definition is definition and task.source_id == source.id
                              and task.status(now, race) is None for task in self.visible(now))
            if overlapping:
                outcome, duration = "ERROR", OVERLAP_DURATION * 1000
            else:
                outcome, duration = source.outcome, int(source.duration * 1000)
            task = Task(uuid.uuid4().hex, definition, (source.id, source.name), outcome, now, 0, duration, launcher)
            if overlapping:
                task.failure = ("WARN", OVERLAP_TEXT, OVERLAP_TEXT)
            self.tasks[task.id] = task
            self.ordered.append(task)
            if len(self.ordered) > 1 and (self.ordered[-2].created, self.ordered[-2].id) > (task.created, task.id):
                self.ordered.sort(key=lambda t: (t.created, t.id))
                self.created_keys = [t.created for t in self.ordered]
            else:
                self.created_keys.append(task.created)
            self.changes += 1
            return task, overlapping

    def visible(self, now: int) -> list:
        """Tasks created within the last 90 days, oldest first (created, then id)."""
        return self.ordered[bisect.bisect_left(self.created_keys, now - RETENTION_MS):]

    def find(self, task_id: str, now: int):
        """The task with ``task_id`` if it is within the 90-day window, else None."""
        task = self.tasks.get(task_id)
        return task if task is not None and task.created >= now - RETENTION_MS else None

    def select(self, key, now: int, build) -> list:
        """``build()``, a list of tasks, cached under ``key`` until its content may differ.

        That is when the store changes (tasks added or patched, settings, reset) or when the clock reaches the next
        instant at which a task gets its completionStatus or leaves the 90-day window. Callers hold the lock and do
        not mutate the list.
        """
        entry = self._selections.get(key)
        if entry is not None and entry[0] == self.changes and now < entry[1]:
            return entry[2]
        result = build()
        if len(self._selections) >= 256:
            self._selections.clear()
        self._selections[key] = (self.changes, self._next_change(now), result)
        return result

    def task_changed(self) -> None:
        """Note that a task was patched (cached selections are stale)."""
        self.changes += 1

    def _next_change(self, now: int) -> float:
        if self._transitions[0] != self.changes:
            race = self.race_ms
            self._transitions = (self.changes, sorted(task.ends_at + race for task in self.ordered
                                                      if task.frozen is None and task.outcome != "STUCK"))
        times = self._transitions[1]
        index = bisect.bisect_right(times, now)
        next_status = times[index] if index < len(times) else math.inf
        oldest = bisect.bisect_left(self.created_keys, now - RETENTION_MS)
        next_expiry = self.created_keys[oldest] + RETENTION_MS + 1 if oldest < len(self.created_keys) else math.inf
        return min(next_status, next_expiry)

    # --------------------------------------------------------------------------------------------- tokens
    def issue_token(self, client_id: str, claims: dict) -> str:
        """A new access token for ``client_id``: a JWT as ISC issues (header, ``claims`` plus ``client_id`` and
        ``exp``, signature), whose signature part is random, so that a token cannot be guessed from its claims."""
        with self.lock:
            expires = self.now() + self.settings["token_ttl"] * 1000
            body = dict(claims, client_id=client_id, exp=expires // 1000)
            token = ".".join((_b64url({"alg": "HS256", "typ": "JWT"}), _b64url(body), secrets.token_urlsafe(32)))
            self.tokens[token] = [client_id, expires]
            return token

    def token_info(self, token: str):
        """``(client_id, expired)`` for a known token, None for an unknown one."""
        with self.lock:
            entry = self.tokens.get(token)
            return None if entry is None else (entry[0], self.now() >= entry[1])

    def expire_tokens(self) -> None:
        with self.lock:
            now = self.now()
            for entry in self.tokens.values():
                entry[1] = min(entry[1], now)

    # ----------------------------------------------------------------------------------------- rate limit
    def rate_check(self, client_id: str, version: str):
        """Count one request; returns None if allowed, else the Retry-After seconds."""
        with self.lock:
            limit = self.settings["rate_limit"]
            if not limit:
                return None
            now = self.now()
            window = int(self.settings["rate_window"] * 1000)
            hits = self.rate.setdefault((client_id, version), deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil((hits[len(hits) - limit] + window - now) / 1000))
            hits.append(now)
            return None

    # --------------------------------------------------------------------------------------------- faults
    def add_fault(self, rule) -> dict:
        """Validate and store a fault rule (``expire_tokens`` acts at once and is not stored)."""
        if not isinstance(rule, dict):
            raise InvalidRequest("a fault rule must be an object")
        kind = rule.get("kind")
        if kind not in FAULT_KINDS:
            raise InvalidRequest("fault kind must be one of %s, got %r" % (", ".join(FAULT_KINDS), kind))
        if kind == "expire_tokens":
            self.expire_tokens()
            return {"kind": kind}
        unknown = set(rule) - _COMMON_FAULT_KEYS - _FAULT_KEYS[kind]
        if unknown:
            raise InvalidRequest("unknown keys for fault %r: %s" % (kind, ", ".join(sorted(unknown))))
        stored = {"kind": kind, "count": rule.get("count", 1), "after": rule.get("after", 0),
                  "method": rule.get("method"), "path": rule.get("path")}
        if not _is_int(stored["count"]) or stored["count"] < 1:
            raise InvalidRequest("fault count must be an integer >= 1")
        if not _is_int(stored["after"]) or stored["after"] < 0:
            raise InvalidRequest("fault after must be an integer >= 0")
        for key in ("method", "path"):
            if stored[key] is not None and not isinstance(stored[key], str):
                raise InvalidRequest("fault %s must be a string" % key)
        if stored["method"]:
            stored["method"] = stored["method"].upper()
        self._fault_parameters(kind, rule, stored)
        stored["skipped"] = 0
        with self.lock:
            self.faults.append(stored)
        return dict(stored)

    @staticmethod
    def _fault_parameters(kind: str, rule: dict, stored: dict) -> None:
        if kind == "status":
            stored["status"] = rule.get("status", 500)
            if stored["status"] not in (500, 502, 503, 504):
                raise InvalidRequest("status fault needs status 500, 502, 503 or 504")
        elif kind == "html":
            stored["status"] = rule.get("status", 502)
            if not _is_int(stored["status"]) or not 400 <= stored["status"] <= 599:
                raise InvalidRequest("html fault status must be an integer 400..599")
        elif kind == "latency":
            stored["seconds"] = rule.get("seconds")
            if not _is_number(stored["seconds"]) or stored["seconds"] < 0:
                raise InvalidRequest("latency fault needs seconds >= 0")
        elif kind == "drop":
            stored["apply"] = rule.get("apply", False)
            if not isinstance(stored["apply"], bool):
                raise InvalidRequest("drop fault apply must be a boolean")
        elif kind == "rate_storm":
            stored["retry_after"] = rule.get("retry_after", 600)
            if not _is_int(stored["retry_after"]) or stored["retry_after"] < 1:
                raise InvalidRequest("rate_storm retry_after must be an integer >= 1")

    def take_fault(self, method: str, path: str, token_path: bool):
        """The fault rule that applies to this request, if any; consumes one of its ``count``."""
        with self.lock:
            for rule in self.faults:
                if rule["method"] and rule["method"] != method:
                    continue
                if rule["path"] is None and token_path or rule["path"] is not None and rule["path"] not in path:
                    continue
                if rule["skipped"] < rule["after"]:
                    rule["skipped"] += 1
                    continue
                rule["count"] -= 1
                if rule["count"] == 0:
                    self.faults.remove(rule)
                return rule
            return None

    # ------------------------------------------------------------------------------------------------ log
    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            entry["time"] = format_ms(self.now())
            self.log.append(entry)


def _source(spec) -> Source:
    """A Source from a control-API spec: name (required), id, kind, outcome, duration."""
    if not isinstance(spec, dict):
        raise InvalidRequest("a source spec must be an object")
    unknown = set(spec) - {"id", "name", "kind", "outcome", "duration"}
    if unknown:
        raise InvalidRequest("unknown source spec keys: %s" % ", ".join(sorted(unknown)))
    name = _spec_string(spec, "name", None) if "name" in spec else None
    if name is None:
        raise InvalidRequest("a source spec needs a name")
    kind = spec.get("kind", "direct")
    if kind not in SOURCE_KINDS:
        raise InvalidRequest("source kind must be one of %s, got %r" % (", ".join(SOURCE_KINDS), kind))
    outcome = _spec_string(spec, "outcome", "SUCCESS").upper()
    if outcome not in SOURCE_OUTCOMES:
        raise InvalidRequest("source outcome must be one of %s, got %r" % (", ".join(SOURCE_OUTCOMES), spec["outcome"]))
    source_id = _spec_string(spec, "id", stable_id("source", name))
    return Source(source_id, name, kind, outcome, _spec_number(spec, "duration", 20))


def _b64url(value: dict) -> str:
    """One unpadded base64url part of a JWT."""
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
