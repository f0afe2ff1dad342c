# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A simulated task and its TaskStatus record at a given instant of the simulator clock.

Nothing runs in the background: a task is fixed by when it was created, how long it waits before launch, how long
it runs and how it ends, and its record is computed from those whenever it is asked for. Once the record can no
longer change, its JSON serialisation is cached.

Life of a task (all instants in milliseconds on the simulator clock)::

    created --launch_delay--> launched --duration--> ends_at --race_window--> completionStatus set
    (queued: launched null)   (running: percentComplete grows)  (completed set, completionStatus still null)

A STUCK task runs until ``ends_at`` and then stays where it is, pending, forever.
"""

from __future__ import annotations

import json

from .timeutil import format_ms

OUTCOMES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR", "STUCK")
COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")

_FINAL_PROGRESS = {
    "SUCCESS": "Completed",
    "WARNING": "Completed with warnings",
    "ERROR": "Failed",
    "TERMINATED": "Terminated",
    "TEMPERROR": "Failed with a temporary error",
}


def _message(kind: str, key: str, text: str, parameters=None) -> dict:
    return {
        "type": kind,
        "localizedText": {"locale": "en-US", "message": text},
        "key": key,
        "parameters": parameters if parameters is not None else [],
    }


class Task:
    """One task status, stored as the facts its record is computed from."""

    __slots__ = ("id", "definition", "source_id", "source_name", "outcome", "created", "launched_at", "ends_at",
                 "launcher", "total", "target_pct", "completed_override", "patched_at", "frozen", "_cache",
                 "id_key", "source_key", "launcher_key", "failure")

    def __init__(self, task_id, definition, source, outcome, created, launch_delay, duration, launcher):
        """``source`` is ``(id, name)`` or None; ``created``, ``launch_delay`` and ``duration`` are milliseconds."""
        self.id = task_id
        self.definition = definition
        self.source_id, self.source_name = source if source else (None, None)
        self.outcome = outcome
        self.created = created
        self.launched_at = created + launch_delay
        self.ends_at = self.launched_at + max(duration, 1)
        self.launcher = launcher
        seed = int(task_id.encode("utf-8").hex()[-8:] or "0", 16)
        self.total = 500 + seed % 49500
        self.target_pct = 100 if outcome in ("SUCCESS", "WARNING") else 10 + seed % 80
        self.completed_override = None
        self.patched_at = None
        self.frozen = None
        self._cache = None
        self.id_key = task_id.lower()
        self.source_key = (self.source_id or "").lower()
        self.launcher_key = launcher.lower()
        # (type, key, text) of the one message an ERROR task ends with instead of the generic ones, or None.
        self.failure = None

    # ----------------------------------------------------------------------------------------------- state
    def status(self, now: int, race: int):
        """completionStatus at ``now`` (None while pending)."""
        if self.frozen is not None:
            return self.frozen["completionStatus"]
        if self.outcome == "STUCK" or now < self.ends_at + race:
            return None
        return self.outcome

    def stable_from(self, race: int) -> int:
        """The instant after which the record no longer changes."""
        if self.frozen is not None:
            return 0
        return self.ends_at if self.outcome == "STUCK" else self.ends_at + race

    def record(self, now: int, race: int) -> dict:
        """The TaskStatus at ``now``; ``race`` is the race window in milliseconds. Callers must not mutate it."""
        if self.frozen is not None:
            return self.frozen
        record = self._natural(now, race)
        if self.completed_override is not None:
            record["completed"] = self.completed_override
            record["modified"] = max(record["modified"], format_ms(self.patched_at))
        return record

    def json(self, now: int, race: int, generation: int) -> bytes:
        """The record serialised as UTF-8 JSON, cached once it is final for this settings ``generation``."""
        cache = self._cache
        if cache is not None and cache[0] == generation:
            return cache[1]
        body = json.dumps(self.record(now, race), separators=(",", ":")).encode("utf-8")
        if now >= self.stable_from(race):
            self._cache = (generation, body)
        return body

    def freeze(self, record: dict) -> None:
        """Fix the record for good (a PATCH set its completionStatus)."""
        self.frozen = record
        self._cache = None

    def override_completed(self, value: str, now: int) -> None:
        """Remember a PATCHed ``completed`` while the task keeps running."""
        self.completed_override = value
        self.patched_at = now
        self._cache = None

    # ------------------------------------------------------------------------------------------- rendering
    def _natural(self, now: int, race: int) -> dict:
        definition = self.definition
        record = {
            "id": self.id,
            "type": "QUARTZ",
            "uniqueName": definition.unique_name,
            "description": definition.description,
            "parentName": None,
            "launcher": self.launcher,
            "target": None,
            "created": format_ms(self.created),
            "modified": format_ms(self.created),
            "launched": None,
            "completed": None,
            "completionStatus": None,
            "messages": [],
            "returns": definition.returns,
            "attributes": {},
            "progress": None,
            "percentComplete": 0,
            "taskDefinitionSummary": definition.summary,
        }
        if self.source_id is not None:
            record["target"] = {"id": self.source_id, "type": "APPLICATION", "name": "%s [source]" % self.source_name}
            record["attributes"] = {"appId": self.source_id}
        if now < self.launched_at:
            return record
        record["launched"] = format_ms(self.launched_at)
        record["messages"] = [_message("INFO", "task_started", "%s started by %s" % (definition.unique_name, self.launcher),
                                       [{"launcher": self.launcher}])]
        if now < self.ends_at or self.outcome == "STUCK":
            elapsed = min(now, self.ends_at) - self.launched_at
            pct = self.target_pct * elapsed // (self.ends_at - self.launched_at)
            record["percentComplete"] = pct
            record["progress"] = self._progress_text(pct) if pct else "Started"
            record["modified"] = format_ms(min(now, self.ends_at))
            return record
        self._finish(record)
        if now >= self.ends_at + race:
            record["completionStatus"] = self.outcome
            record["modified"] = format_ms(self.ends_at + race)
        else:
            record["modified"] = format_ms(self.ends_at)
        return record

    def _progress_text(self, pct: int) -> str:
        return "%s %s: %d of %d" % (self.definition.verb, self.definition.noun, self.total * pct // 100, self.total)

    def _finish(self, record: dict) -> None:
        """Fill the fields a task has once it ended (``completed`` set)."""
        noun = self.definition.noun
        done = self.total * self.target_pct // 100
        record["completed"] = format_ms(self.ends_at)
        record["percentComplete"] = self.target_pct
        record["progress"] = _FINAL_PROGRESS[self.outcome]
        attributes = dict(record["attributes"], total=done)
        if self.outcome in ("SUCCESS", "WARNING"):
            attributes.update(created=done // 50, updated=done // 10, deleted=done // 200, identityCount=done * 9 // 10)
        record["attributes"] = attributes
        messages = record["messages"]
        if self.failure is not None and self.outcome == "ERROR":
            kind, key, text = self.failure
            messages.append(_message(kind, key, text))
        elif self.outcome == "SUCCESS":
            messages.append(_message("INFO", "task_completed", "%d %s processed" % (done, noun)))
        elif self.outcome == "WARNING":
            messages.append(_message("WARN", "task_completed_with_warnings",
                                     "%d %s were skipped because they could not be correlated" % (done // 100 + 1, noun)))
        elif self.outcome == "ERROR":
            where = "source '%s'" % self.source_name if self.source_name else "the target system"
            messages.append(_message("ERROR", "connector_error",
                                     "Error connecting to %s: connect timed out after 60000 ms" % where,
                                     [{"source": self.source_name or ""}]))
            messages.append(_message("ERROR", "task_failed", "Task failed after %d of %d %s" % (done, self.total, noun)))
        elif self.outcome == "TERMINATED":
            messages.append(_message("WARN", "task_terminated", "Task was terminated before it completed"))
        else:
            messages.append(_message("ERROR", "temporary_error",
                                     "Temporary error communicating with the virtual appliance; the task may be retried"))
