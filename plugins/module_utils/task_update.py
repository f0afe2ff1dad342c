# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Desired task status in, JSON Patch out: the logic of the task_status module.

``request_from_params()`` turns module options into an UpdateRequest and rejects bad input before any
request is sent. ``TaskUpdater.run()`` reads the tasks (one GET for one id, one list call per 50 ids
otherwise), plans each update locally with ``jsonpatch``, sends a PATCH only where something differs,
and reports one outcome per task:

- ``changed``: the task was (or, in check mode, would be) updated;
- ``unchanged``: it already had the desired state, or another run gave it that state between the read and
  the guarded write; nothing was applied;
- ``not_found``: ISC does not return the id (unknown, or older than 90 days);
- ``refused``: the module would not change it (already finished, a ``test`` operation does not hold,
  or the task changed between the read and the write);
- ``failed``: ISC rejected the PATCH, or its outcome could not be established;
- ``skipped``: not attempted because ``stop_on_error`` stopped the run, or because ISC refused a PATCH
  with HTTP 403 (the token's rights, the same for every task: the run stops instead of sending N
  PATCHes that get N identical 403s).

Whatever the client raises for one task becomes that task's outcome; the run goes on.

The PATCH is guarded by RFC 6902 ``test`` operations on ``/modified`` (and on ``/completionStatus`` once
it is set) with the values just read, so ISC applies nothing if the task moved on in between. A test
on ``/completionStatus`` with ``null`` cannot be sent: JsonPatchOperation's ``value`` has no null
branch. When the answer to a PATCH is lost, the task is read again and the re-read decides the
outcome; the PATCH is never sent a second time.
"""

from __future__ import annotations

import re

from ansible_collections.identitynow.tasks.plugins.module_utils.errors import PATCH_403_HINT, IscError
from ansible_collections.identitynow.tasks.plugins.module_utils.results import RunResult
from ansible_collections.identitynow.tasks.plugins.module_utils.task_record import (
    format_timestamp, normalize_status, parse_timestamp, status_of, utc_now)

try:
    import jsonpatch
    HAS_JSONPATCH = True
except ImportError:  # pragma: no cover - connection.client_from_module names it to the user
    HAS_JSONPATCH = False

STATUS = "completionStatus"
COMPLETED = "completed"
MODIFIED = "modified"
FIELDS = (STATUS, COMPLETED)
MANAGED_PATHS = ("/" + STATUS, "/" + COMPLETED)
PATCH_OPS = ("add", "remove", "replace", "test", "move", "copy")
OUTCOMES = ("changed", "unchanged", "not_found", "refused", "failed", "skipped")
FAIL_ON_CHOICES = ("not_found", "refused", "failed")
NOW = "now"

NOT_FOUND_MSG = ("ISC returned no task with this id: the id is unknown, or the task is older than 90 days "
                 "(ISC returns no data for tasks older than 90 days)")

_POINTER_RE = re.compile(r"^(/([^~/]|~[01])*)*$")


# -- values ---------------------------------------------------------------------------------------

def normalize_completed(value, now, option="completed"):
    """The wire form of a 'completed' value: an ISO 8601 date-time, or 'now'."""
    if isinstance(value, str) and value.strip().lower() == NOW:
        return format_timestamp(now)
    moment = parse_timestamp(value)
    if moment is None:
        raise IscError("%s must be an ISO 8601 date-time such as 2024-05-17T19:33:16.470Z, or 'now', got %r"
                       % (option, value))
    return format_timestamp(moment)


def same_instant(left, right):
    """True when two 'completed' values name the same millisecond (or are equal as given)."""
    if left == right:
        return True
    left_time, right_time = parse_timestamp(left), parse_timestamp(right)
    if left_time is None or right_time is None:
        return False
    return format_timestamp(left_time) == format_timestamp(right_time)


def _json_type(value):
    return "null" if value is None else type(value).__name__


def _check_value(value, where, name="value"):
    """RFC 6902 values the spec allows: string, boolean, integer, object or array; never null."""
    if value is None:
        raise IscError("%s: '%s' must not be null (ISC's JsonPatchOperation has no null value)" % (where, name))
    if isinstance(value, float):
        raise IscError("%s: '%s' must be a string, boolean, integer, object or array, got a float (%r)"
                       % (where, name, value))
    if not isinstance(value, (str, bool, int, dict, list)):
        raise IscError("%s: '%s' must be a string, boolean, integer, object or array, got %s"
                       % (where, name, _json_type(value)))
    if isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, where, "%s.%s" % (name, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, where, "%s[%d]" % (name, index))


def validate_patch(operations, now, allow_other_paths=False):
    """Check a raw JSON Patch before anything is sent; return it with values in the platform's form.

    op must be one of add, remove, replace, test, move, copy; path (and from) must be JSON pointers;
    operations that change the task may only target /completionStatus and /completed unless
    allow_other_paths; values may not be null; completionStatus values must be a completion status
    (upper-cased), completed values an ISO 8601 date-time or 'now' (sent as UTC with milliseconds).
    """
    if not isinstance(operations, list) or not operations:
        raise IscError("patch must be a non-empty list of JSON Patch operations")
    result = []
    for index, operation in enumerate(operations):
        where = "patch[%d]" % index
        if not isinstance(operation, dict):
            raise IscError("%s must be a dictionary with op, path and value (or from), got %s"
                           % (where, _json_type(operation)))
        op = operation.get("op")
        if op not in PATCH_OPS:
            raise IscError("%s: 'op' must be one of %s, got %r" % (where, ", ".join(PATCH_OPS), op))
        allowed_keys = {"op", "path"}
        allowed_keys.update({"value"} if op in ("add", "replace", "test") else set())
        allowed_keys.update({"from"} if op in ("move", "copy") else set())
        unknown = sorted(set(operation) - allowed_keys)
        if unknown:
            raise IscError("%s: '%s' does not take %s; accepted keys: %s"
                           % (where, op, ", ".join(unknown), ", ".join(sorted(allowed_keys))))
        pointers = [("path", operation.get("path"))]
        if op in ("move", "copy"):
            pointers.append(("from", operation.get("from")))
        for key, pointer in pointers:
            if not isinstance(pointer, str) or not _POINTER_RE.match(pointer):
                raise IscError("%s: '%s' must be a JSON pointer such as /completionStatus, got %r" % (where, key, pointer))
            if pointer == "":
                raise IscError("%s: '%s' must not be empty (the whole task cannot be %s)" % (where, key,
                               "tested" if op == "test" else "replaced"))
        changes = [p for k, p in pointers if k == "path" and op != "test" or k == "from" and op == "move"]
        if not allow_other_paths:
            for pointer in changes:
                if pointer not in MANAGED_PATHS:
                    raise IscError("%s: '%s' may only change %s, got %r; set allow_other_paths=true to send other paths"
                                   % (where, op, " and ".join(MANAGED_PATHS), pointer))
        clean = dict(operation)
        if op in ("add", "replace", "test"):
            if "value" not in operation:
                raise IscError("%s: '%s' needs a 'value'" % (where, op))
            _check_value(operation["value"], where)
            path = operation["path"]
            if path == MANAGED_PATHS[0]:
                clean["value"] = normalize_status(operation["value"], option="%s.value" % where)
            elif path == MANAGED_PATHS[1] and op != "test":
                clean["value"] = normalize_completed(operation["value"], now, option="%s.value" % where)
            elif path == MANAGED_PATHS[1] and parse_timestamp(operation["value"]) is None:
                raise IscError("%s: 'value' for /completed must be an ISO 8601 date-time, got %r"
                               % (where, operation["value"]))
        result.append(clean)
    return result


# -- the request ----------------------------------------------------------------------------------

class UpdateRequest:
    """Validated module options: which tasks, which desired state, which safety settings."""

    def __init__(self, ids, single, guard, fail_on, allow_finished, stop_on_error, now):
        self.ids = ids
        self.single = single
        self.completion_status = None
        self.completed = None                 # wire form, or None
        self.completed_is_now = False
        self.patch = None
        self.allow_finished = allow_finished
        self.guard = guard
        self.stop_on_error = stop_on_error
        self.fail_on = tuple(fail_on)
        self.now = now


def request_from_params(params, now=None):
    """An UpdateRequest from module params; IscError naming the option for bad input.

    The argument spec of task_status already holds the rules it can say (id or ids, one of the desired
    state options, patch apart from them, the fail_on choices) and the defaults; guard and fail_on must
    be given. This checks the values: ids and the desired state, and the raw patch.
    """
    now = now or utc_now()
    task_id, ids = params.get("id"), params.get("ids")
    if task_id is not None:
        if not isinstance(task_id, str) or not task_id.strip():
            raise IscError("id must be a non-empty task id, got %r" % (task_id,))
        wanted, single = [task_id.strip()], True
    else:
        if not isinstance(ids, list) or not ids:
            raise IscError("ids must be a non-empty list of task ids")
        bad = [i for i in ids if not isinstance(i, str) or not i.strip()]
        if bad:
            raise IscError("ids must hold only non-empty task ids, got %r" % (bad[0],))
        wanted, single = list(dict.fromkeys(i.strip() for i in ids)), False

    request = UpdateRequest(wanted, single, guard=params["guard"], fail_on=params["fail_on"],
                            allow_finished=bool(params.get("allow_finished")),
                            stop_on_error=bool(params.get("stop_on_error")), now=now)
    status, completed, patch = params.get("completion_status"), params.get("completed"), params.get("patch")
    if patch is not None:
        request.patch = validate_patch(patch, now, allow_other_paths=bool(params.get("allow_other_paths")))
    if status is not None:
        request.completion_status = normalize_status(status)
    if completed is not None:
        request.completed = normalize_completed(completed, now)
        request.completed_is_now = isinstance(completed, str) and completed.strip().lower() == NOW
    return request


# -- planning -------------------------------------------------------------------------------------

class Plan:
    """What to do with one task: outcome so far, the operations to send, and the expected result."""

    def __init__(self, outcome, operations=None, changes=None, expected=None, msg=None):
        self.outcome = outcome
        self.operations = operations or []
        self.changes = changes or []
        self.expected = expected
        self.msg = msg


def desired_fields(task, request):
    """(before, after) of completionStatus and completed, from the desired-state options."""
    before = dict((name, task[name]) for name in FIELDS if name in task)
    after = dict(before)
    if request.completion_status is not None and status_of(task) != request.completion_status:
        after[STATUS] = request.completion_status
    current_completed = task.get(COMPLETED)
    if request.completed is not None:
        if request.completed_is_now:
            # 'now' stamps a task that has no completion time; an existing time is kept.
            if current_completed is None:
                after[COMPLETED] = request.completed
        elif not same_instant(current_completed, request.completed):
            after[COMPLETED] = request.completed
    elif after.get(STATUS) is not None and current_completed is None:
        # A task given a completion status without a completion time gets the time of the change.
        after[COMPLETED] = format_timestamp(request.now)
    return before, after


def guard_operations(task):
    """test operations that hold only while the task is as it was read (no null values)."""
    guard = []
    if isinstance(task.get(MODIFIED), str):
        guard.append({"op": "test", "path": "/" + MODIFIED, "value": task[MODIFIED]})
    if isinstance(task.get(STATUS), str):
        guard.append({"op": "test", "path": "/" + STATUS, "value": task[STATUS]})
    return guard


def same_value(name, left, right):
    """Field equality as the platform means it: statuses in any case, completion times as instants."""
    if name == STATUS and isinstance(left, str) and isinstance(right, str):
        return status_of({STATUS: left}) == status_of({STATUS: right})
    if name == COMPLETED and isinstance(left, str) and isinstance(right, str):
        return same_instant(left, right)
    return left == right


def changed_keys(before, after):
    """Top-level keys whose values differ."""
    keys = [k for k in before if k not in after or before[k] != after[k]]
    return keys + [k for k in after if k not in before]


def plan_update(task, request):
    """Plan the update of one task as read."""
    if request.patch is not None:
        try:
            expected = jsonpatch.apply_patch(task, request.patch)
        except jsonpatch.JsonPatchTestFailed as exc:
            return Plan("refused", msg="a test operation of patch does not hold for the task as read (%s); "
                                       "nothing was sent" % exc)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            return Plan("failed", msg="patch cannot be applied to the task as read (%s); nothing was sent" % exc)
        changes = changed_keys(task, expected)
        change_ops = list(request.patch)
    else:
        before, after = desired_fields(task, request)
        change_ops = jsonpatch.make_patch(before, after).patch
        expected = jsonpatch.apply_patch(task, change_ops) if change_ops else task
        changes = changed_keys(before, after)
    if not changes:
        return Plan("unchanged", expected=task)
    if task.get(STATUS) is not None and not request.allow_finished:
        return Plan("refused", expected=task,
                    msg="the task already finished with completionStatus %s; set allow_finished=true to change a "
                        "finished task" % task.get(STATUS))
    guard = guard_operations(task) if request.guard else []
    return Plan("changed", operations=guard + change_ops, changes=changes, expected=expected)


# -- running --------------------------------------------------------------------------------------

def _error_details(error):
    details = error.to_result()
    details.pop("msg", None)
    return details


def _token_cannot_patch(entry):
    """True for the entry of a PATCH refused with HTTP 403: the token's rights, the same for every task."""
    error = entry.get("error") or {}
    return entry["outcome"] == "failed" and error.get("status") == 403 and error.get("method") == "PATCH"


class TaskUpdater:
    """Runs an UpdateRequest against an IscClient."""

    def __init__(self, client, request, check_mode=False, diff=False):
        self.client = client
        self.request = request
        self.check_mode = check_mode
        self.diff = diff

    def read(self):
        """{id: record} of the tasks ISC returns; one GET for one id, one list call per 50 ids otherwise."""
        ids = self.request.ids
        if len(ids) == 1:
            try:
                return {ids[0]: self.client.get_task(ids[0])}
            except IscError as exc:
                if exc.status == 404 and not exc.path_missing:
                    return {}
                raise
        return self.client.get_tasks_by_ids(ids)

    def run(self):
        """A RunResult: changed, msg and per-task entries (see the module's RETURN); a failure per fail_on.

        IscError propagates when the first read fails. After that every task gets an outcome, whatever
        the client raises for one of them.
        """
        found = self.read()
        entries = []
        skip_reason = None
        for task_id in self.request.ids:
            task = found.get(task_id)
            if skip_reason is not None:
                entries.append(self._entry(task_id, "skipped", None, [], msg=skip_reason))
                continue
            if task is None:
                entry = self._entry(task_id, "not_found", None, [], msg=NOT_FOUND_MSG)
            else:
                entry = self._update_safely(task_id, task)
            entries.append(entry)
            if self.request.stop_on_error and entry["outcome"] in self.request.fail_on:
                skip_reason = "not attempted: stop_on_error stopped the run at an earlier failure"
            elif _token_cannot_patch(entry):
                skip_reason = ("not attempted: ISC refused the PATCH of task %s with HTTP 403, so this token cannot "
                               "update task statuses. %s" % (task_id, entry["error"].get("hint") or PATCH_403_HINT))
        return self._result(entries)

    def _update_safely(self, task_id, task):
        """update_one(), with anything the client raises for this task made its outcome."""
        if not isinstance(task, dict):
            return self._entry(task_id, "failed", None, [], msg="ISC listed this task as %s, not as a task "
                               "record; nothing was sent" % _json_type(task))
        try:
            return self.update_one(task_id, task)
        except IscError as exc:
            return self._entry(task_id, "failed", task, [], error=_error_details(exc), msg=str(exc))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # An answer of an unexpected shape that got past the client's checks.
            return self._entry(task_id, "failed", task, [], msg="the answers of ISC for this task could not be "
                               "read (%s: %s); check the task in ISC" % (type(exc).__name__, exc))

    def update_one(self, task_id, task):
        plan = plan_update(task, self.request)
        if plan.outcome != "changed":
            return self._entry(task_id, plan.outcome, task, [], msg=plan.msg)
        if self.check_mode:
            return self._entry(task_id, "changed", plan.expected, plan.operations, before=task, changes=plan.changes,
                               msg="check mode: nothing was sent")
        try:
            updated = self.client.patch_task(task_id, plan.operations)
        except IscError as exc:
            return self._after_error(task_id, task, plan, exc)
        if not isinstance(updated, dict):
            # The PATCH was sent and answered, but not with a task: establish what happened by reading it.
            return self._after_error(task_id, task, plan, IscError(
                "ISC answered the PATCH with %s, not a task record" % _json_type(updated), method="PATCH",
                uncertain=True))
        return self._entry(task_id, "changed", updated, plan.operations, before=task, changes=plan.changes)

    def _reread(self, task_id):
        try:
            current = self.client.get_task(task_id)
        except IscError as exc:
            return None, exc
        if not isinstance(current, dict):
            return None, IscError("ISC answered the read of task %s with %s, not a task record"
                                  % (task_id, _json_type(current)))
        return current, None

    def _after_error(self, task_id, task, plan, exc):
        """Establish the outcome of a PATCH that did not answer 200, never sending it again."""
        details = _error_details(exc)
        if exc.status == 404 and not exc.path_missing:
            return self._entry(task_id, "not_found", None, plan.operations, msg=NOT_FOUND_MSG, error=details)
        if exc.uncertain:
            current, reread_error = self._reread(task_id)
            if current is None:
                return self._entry(task_id, "failed", task, plan.operations, error=details, uncertain=True,
                                   msg="the answer to the PATCH was lost (%s) and the task could not be read again "
                                       "(%s): whether the change was applied is unknown" % (exc, reread_error))
            if all(same_value(k, current.get(k), plan.expected.get(k)) for k in plan.changes):
                return self._entry(task_id, "changed", current, plan.operations, before=task, changes=plan.changes,
                                   uncertain=True, msg="the answer to the PATCH was lost (%s); the task read again "
                                                       "shows the change applied" % exc.message)
            if all(same_value(k, current.get(k), task.get(k)) for k in plan.changes):
                return self._entry(task_id, "failed", current, plan.operations, error=details, uncertain=True,
                                   msg="the answer to the PATCH was lost (%s); the task read again shows the change "
                                       "was not applied and it was not sent again: run the module again" % exc)
            return self._entry(task_id, "refused", current, plan.operations, error=details, uncertain=True,
                               msg="the answer to the PATCH was lost (%s); the task read again holds neither the old "
                                   "nor the desired values: something else changed it" % exc.message)
        guarded = any(op["op"] == "test" for op in plan.operations)
        if exc.status in (400, 409, 412, 422) and guarded:
            current, _ignored = self._reread(task_id)
            if current is not None:
                moved = [op["path"][1:] for op in plan.operations if op["op"] == "test"
                         and current.get(op["path"][1:]) != task.get(op["path"][1:])]
                if moved and plan_update(current, self.request).outcome == "unchanged":
                    # Another run (or a person) made the same change first: the desired state holds.
                    return self._entry(task_id, "unchanged", current, [],
                                       msg="the task changed between the read and the write and already has the "
                                           "desired state (another run changed it); nothing was applied")
                if moved:
                    state = ("it finished with completionStatus %s" % current.get(STATUS)
                             if current.get(STATUS) is not None else "it is still pending and apparently running")
                    return self._entry(task_id, "refused", current, plan.operations, error=details,
                                       msg="the task changed between the read and the write (%s changed; %s), so "
                                           "ISC refused the guarded PATCH and nothing was applied"
                                           % (", ".join(moved), state))
            return self._entry(task_id, "failed", current or task, plan.operations, error=details,
                               msg="%s. If this tenant does not support the JSON Patch test operation, set "
                                   "guard=false" % exc)
        return self._entry(task_id, "failed", task, plan.operations, error=details, msg=str(exc))

    def _entry(self, task_id, outcome, task, operations, msg=None, before=None, changes=None, error=None,
               uncertain=False):
        entry = {"id": task_id, "outcome": outcome, "changed": outcome == "changed", "task": task,
                 "operations": operations}
        if msg:
            entry["msg"] = msg
        if error:
            entry["error"] = error
        if uncertain:
            entry["uncertain"] = True
        if self.diff and outcome == "changed" and before is not None:
            entry["diff"] = {"before": dict((k, before.get(k)) for k in changes),
                             "after": dict((k, (task or {}).get(k)) for k in changes)}
        return entry

    def _result(self, entries):
        summary = dict((outcome, 0) for outcome in OUTCOMES)
        for entry in entries:
            summary[entry["outcome"]] += 1
        failing = [e for e in entries if e["outcome"] in self.request.fail_on]
        result = {"changed": any(e["changed"] for e in entries)}
        if self.request.single:
            entry = entries[0]
            result.update(task=entry["task"], operations=entry["operations"], outcome=entry["outcome"])
            for key in ("error", "uncertain"):
                if key in entry:
                    result[key] = entry[key]
            if entry.get("error"):
                for key, value in entry["error"].items():
                    result.setdefault(key, value)
            result["msg"] = entry.get("msg") or "task %s %s" % (entry["id"], entry["outcome"])
            if "diff" in entry:
                result["diff"] = entry["diff"]
            elif self.diff:
                result["diff"] = {"before": {}, "after": {}}
        else:
            result.update(tasks=entries, summary=summary)
            counts = ", ".join("%d %s" % (n, o) for o, n in summary.items() if n)
            if failing:
                first = failing[0]
                result["msg"] = "%s; first failure: task %s %s: %s" % (
                    counts, first["id"], first["outcome"], first.get("msg", ""))
            else:
                result["msg"] = counts
            if self.diff:
                result["diff"] = {"before": dict((e["id"], e["diff"]["before"]) for e in entries if "diff" in e),
                                  "after": dict((e["id"], e["diff"]["after"]) for e in entries if "diff" in e)}
        return RunResult(result, failure=dict(result) if failing else None)


def update_tasks(client, request, check_mode=False, diff=False):
    """The RunResult of a request: read, plan, patch and report. IscError when the read fails."""
    return TaskUpdater(client, request, check_mode=check_mode, diff=diff).run()


def execute(client, params, check_mode=False, diff=False):
    """The module's one call: check params, then update the tasks; a RunResult, never an exception."""
    try:
        return update_tasks(client, request_from_params(params), check_mode=check_mode, diff=diff)
    except IscError as exc:
        return RunResult.failed(exc)
