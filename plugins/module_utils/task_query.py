# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading task statuses and waiting for them: the logic behind the task_status_info module.

``build_query(params)`` turns the module options into a validated ``Query`` without any HTTP: bad
input raises IscError naming the option and the accepted values. ``run(client, query)`` reads the
selected tasks (GET by id, chunked ``id in (...)`` list calls, or a paged list query), applies the
client-side filters, optionally waits until every selected task is finished, and returns an
``Outcome`` whose ``result`` is the module result and ``failure`` the fail_json arguments, if any.
"""

from __future__ import annotations

import math
import re
import time

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, filters, task_record
from ansible_collections.identitynow.tasks.plugins.module_utils.client import MAX_PAGE_SIZE
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# Options that select tasks by content; none of them can be combined with id or ids.
FILTER_OPTIONS = ("source_ids", "completion_status", "pending", "types", "launchers", "filters", "unique_names",
                  "created_after", "created_before", "older_than", "sorters", "count")
# Versions whose list returns only finished tasks; pending ones come from the deprecated pending-tasks list.
FINISHED_ONLY_VERSIONS = tuple(v.name for v in api_versions.VERSIONS if v.finished_only)
DEFAULT_MAX_RESULTS = 10000
BACKOFF_FACTOR = 1.5
# How many unfinished or failed tasks a failure message names (all of them are in the result).
MESSAGE_TASKS = 10

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_DURATION_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


# -- parsing helpers ---------------------------------------------------------------------------

def parse_duration(text, option):
    """Seconds in a duration such as '90s', '30m', '6h', '2d', '1w' or '1h30m'; a bare number is seconds."""
    value = str(text).strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None and _DURATION_FULL.match(value):
        seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(value))
    if seconds is None or seconds < 0 or math.isinf(seconds) or math.isnan(seconds):
        raise IscError("%s must be a duration of 0 or more: a number of seconds or a number with one of the units "
                       "s, m, h, d, w (for example 30m, 6h, 2d, 1h30m); got %r" % (option, text))
    return seconds


def parse_datetime(text):
    """Epoch seconds of an ISO 8601 date-time or date (midnight UTC) string; None when text is not one."""
    if not isinstance(text, str):
        return None
    return task_record.epoch_of(text, allow_date=True)


def parse_time_bound(value, option, now):
    """Epoch seconds for created_after/created_before: a date-time, a date, or a duration ago."""
    text = str(value).strip()
    when = parse_datetime(text)
    if when is not None:
        return when
    if _DURATION_FULL.match(text):
        return now - parse_duration(text, option)
    raise IscError("%s must be an ISO 8601 date-time such as 2025-01-31T08:00:00Z, a date such as 2025-01-31 "
                   "(UTC), or a duration such as 30m, 6h, 2d meaning that long ago; got %r" % (option, value))


def _string_list(params, option):
    """The non-empty strings of a list option, de-duplicated in order; None when the option is not set."""
    values = params.get(option)
    if values is None:
        return None
    result = []
    for value in values:
        text = "" if value is None else str(value).strip()
        if not text:
            raise IscError("%s must not contain empty values, got %r" % (option, values))
        if text not in result:
            result.append(text)
    return result


# -- the query ---------------------------------------------------------------------------------

class Query:
    """Validated options: what to read, how to filter it, whether and how to wait."""

    def __init__(self):
        self.api_version = "v2026"
        self.task_id = None           # one task, read with GET by id
        self.ids = None               # many tasks, read with chunked 'id in (...)' list calls
        self.server_filter = None     # a filters.Expr, a raw filter string, or None
        self.path = None              # None: the list endpoint; else the pending-tasks endpoint
        self.sorters = None
        self.page_size = MAX_PAGE_SIZE
        self.max_results = DEFAULT_MAX_RESULTS  # 0: no cap
        self.count = False
        self.unique_names = None      # lower-cased names, matched on the client side
        self.created_after = None     # epoch seconds
        self.created_before = None
        self.fields = None
        self.wait = False
        self.wait_timeout = 600.0
        self.wait_sleep = 5.0
        self.wait_sleep_max = 30.0
        self.fail_on_status = []
        self.fail_on_missing = False

    @property
    def by_id(self):
        return self.task_id is not None or self.ids is not None

    @property
    def client_side(self):
        return bool(self.unique_names) or self.created_after is not None or self.created_before is not None

    def matches(self, record):
        """Whether a record passes the client-side filters."""
        if self.unique_names:
            names = [record.get("uniqueName"), (record.get("taskDefinitionSummary") or {}).get("uniqueName")]
            if not any(isinstance(n, str) and n.strip().lower() in self.unique_names for n in names):
                return False
        if self.created_after is not None or self.created_before is not None:
            created = parse_datetime(record.get("created"))
            if created is None:
                return False
            if self.created_after is not None and created < self.created_after:
                return False
            if self.created_before is not None and created >= self.created_before:
                return False
        return True


def _option_is_set(params, name):
    value = params.get(name)
    if name == "count":
        return bool(value)
    return value is not None and value != [] and value != ""


def _checked(expr, option, api_version):
    """expr checked against api_version, with the option named in the error."""
    if expr is None:
        return None
    try:
        return expr.check(api_version)
    except IscError as exc:
        raise IscError("%s: %s" % (option, exc.message))


def build_query(params, now=None):
    """A Query from module params; IscError naming the option and accepted values on bad input. No HTTP."""
    now = time.time() if now is None else now
    query = Query()
    version = params.get("api_version") or "v2026"
    query.api_version = version

    # -- selection by id -------------------------------------------------------------------
    task_id = params.get("id")
    ids = _string_list(params, "ids")
    if task_id is not None and ids is not None:
        raise IscError("id and ids are mutually exclusive: use id for one task or ids for many")
    if task_id is not None:
        task_id = str(task_id).strip()
        if not task_id:
            raise IscError("id must be a non-empty task id")
    if task_id is not None or ids is not None:
        used = [name for name in FILTER_OPTIONS if _option_is_set(params, name)]
        if used:
            raise IscError("%s selects tasks by id and cannot be combined with %s; use either id/ids, or the "
                           "filter options (%s)" % ("id" if task_id is not None else "ids", ", ".join(used),
                                                    ", ".join(FILTER_OPTIONS)))
    query.task_id = task_id
    query.ids = ids

    # -- sizes -----------------------------------------------------------------------------
    page_size = params.get("page_size")
    if page_size is not None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise IscError("page_size must be between 1 and %d, got %s" % (MAX_PAGE_SIZE, page_size))
        query.page_size = page_size
    max_results = params.get("max_results")
    if max_results is not None:
        if max_results < 0:
            raise IscError("max_results must be 0 (no cap) or more, got %s" % max_results)
        query.max_results = max_results

    # -- server-side filters ---------------------------------------------------------------
    parts = []
    source_ids = _string_list(params, "source_ids")
    if source_ids:
        parts.append(_checked(filters.in_("sourceId", source_ids), "source_ids", version))
    statuses = task_record.normalize_statuses(params.get("completion_status"), "completion_status")
    pending = params.get("pending")
    if statuses and pending:
        raise IscError("completion_status and pending: true contradict each other: a pending task has no "
                       "completion status")
    if statuses:
        parts.append(_checked(filters.in_("completionStatus", statuses), "completion_status", version))
    elif pending is False:
        parts.append(_checked(filters.in_("completionStatus", task_record.COMPLETION_STATUSES), "pending", version))
    types = _string_list(params, "types")
    if types:
        parts.append(_checked(filters.in_("type", [t.upper() for t in types]), "types", version))
    launchers = _string_list(params, "launchers")
    if launchers:
        parts.append(_checked(filters.in_("launcher", launchers), "launchers", version))
    query.sorters = params.get("sorters")
    if query.sorters is not None and query.sorters not in ("created", "-created"):
        raise IscError("sorters must be one of created, -created; got %r" % query.sorters)

    if pending:
        if version in FINISHED_ONLY_VERSIONS:
            # These lists hold only finished tasks and cannot filter with isnull: read pending-tasks,
            # which takes no filters or sorters at all.
            candidates = (("source_ids", source_ids), ("types", types), ("filters", params.get("filters")),
                          ("sorters", query.sorters))
            blockers = [name for name, value in candidates if value]
            if blockers:
                raise IscError(
                    "pending: api_version %s lists pending tasks only through its deprecated pending-tasks "
                    "endpoint, which accepts no filters or sorters; remove %s, or use api_version v2025, v2026 "
                    "or v1 (they filter with completionStatus isnull)" % (version, ", ".join(blockers)))
            query.path = api_versions.get(version).pending_tasks_path
        else:
            parts.append(_checked(filters.isnull("completionStatus"), "pending", version))

    raw = params.get("filters")
    if raw is not None:
        raw = str(raw).strip()
        if not raw:
            raise IscError("filters must not be empty")
        if parts:
            used = [n for n in ("source_ids", "completion_status", "pending", "types", "launchers")
                    if params.get(n) not in (None, [])]
            raise IscError("filters (a raw filter string) cannot be combined with %s; put every condition in "
                           "filters, or use only the structured options" % ", ".join(used))
        query.server_filter = raw
    else:
        query.server_filter = filters.and_(*parts)

    # -- client-side filters ---------------------------------------------------------------
    unique_names = _string_list(params, "unique_names")
    if unique_names:
        query.unique_names = [n.lower() for n in unique_names]
    if params.get("created_after") is not None:
        query.created_after = parse_time_bound(params["created_after"], "created_after", now)
    if params.get("older_than") is not None and params.get("created_before") is not None:
        raise IscError("created_before and older_than are mutually exclusive: older_than: 6h means "
                       "created_before six hours ago")
    if params.get("created_before") is not None:
        query.created_before = parse_time_bound(params["created_before"], "created_before", now)
    if params.get("older_than") is not None:
        query.created_before = now - parse_duration(params["older_than"], "older_than")
    if (query.created_after is not None and query.created_before is not None
            and query.created_after >= query.created_before):
        raise IscError("created_after (%s) must be earlier than created_before/older_than (%s)"
                       % (_iso(query.created_after), _iso(query.created_before)))
    query.count = bool(params.get("count"))

    # -- result shape ----------------------------------------------------------------------
    fields = _string_list(params, "fields")
    if fields is not None:
        unknown = [f for f in fields if f not in task_record.TASK_FIELDS]
        if unknown:
            raise IscError("fields: unknown field(s) %s; accepted (TaskStatus fields, camelCase): %s"
                           % (", ".join(unknown), ", ".join(task_record.TASK_FIELDS)))
        query.fields = fields

    # -- waiting ---------------------------------------------------------------------------
    query.wait = bool(params.get("wait"))
    for name in ("wait_timeout", "wait_sleep", "wait_sleep_max"):
        value = params.get(name)
        if value is None:
            continue
        if value <= 0 or math.isinf(value) or math.isnan(value):
            raise IscError("%s must be a number of seconds greater than 0, got %s" % (name, value))
        setattr(query, name, float(value))
    query.wait_sleep_max = max(query.wait_sleep_max, query.wait_sleep)
    query.fail_on_status = task_record.normalize_statuses(params.get("fail_on_status"), "fail_on_status")
    query.fail_on_missing = bool(params.get("fail_on_missing"))
    return query


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# -- reading -----------------------------------------------------------------------------------

class Selection:
    """What one read found: records in order, ids ISC did not return, the server's total."""

    def __init__(self):
        self.records = []
        self.missing = []
        self.total = None
        self.truncated = False
        self.warnings = []


def read(client, query, deadline=None):
    """The selected tasks, by id or by list query, with the client-side filters applied."""
    selection = Selection()
    if query.task_id is not None:
        try:
            selection.records.append(client.get_task(query.task_id, deadline=deadline))
        except IscError as exc:
            if exc.status != 404:
                raise
            selection.missing.append(query.task_id)
        return selection
    if query.ids is not None:
        found = client.get_tasks_by_ids(query.ids, deadline=deadline) if query.ids else {}
        for task_id in query.ids:
            if task_id in found:
                selection.records.append(found[task_id])
            else:
                selection.missing.append(task_id)
        return selection
    return _read_list(client, query, selection, deadline)


def _read_list(client, query, selection, deadline):
    cap = query.max_results or None
    page_size = query.page_size
    server_cap = None
    if cap and not query.client_side:
        # Every record the server sends is kept: ask for no more than needed.
        server_cap = cap
        page_size = min(page_size, cap)
    # count=true makes ISC send X-Total-Count: once that many records have come, no further page is
    # requested (without it, N tasks in full pages would cost one more, empty, page).
    pages = client.list_tasks(filters=query.server_filter, sorters=query.sorters, page_size=page_size,
                              max_results=server_cap, count=True, deadline=deadline, path=query.path)
    received = 0
    more = True
    iterator = iter(pages)
    while True:
        if pages.total is not None and received + pages.duplicates >= pages.total:
            more = False
            break
        try:
            record = next(iterator)
        except StopIteration:
            more = False
            break
        received += 1
        if not query.matches(record):
            continue
        selection.records.append(record)
        if cap and len(selection.records) >= cap:
            break
    if query.count:
        selection.total = pages.total
    if cap and len(selection.records) >= cap and more:
        exhausted = (not query.client_side and pages.total is not None and pages.total <= cap)
        if not exhausted:
            selection.truncated = True
            selection.warnings.append(
                "stopped at max_results=%d tasks; more tasks may match%s. Raise max_results (0 means no cap) "
                "or narrow the filters" % (cap, "" if pages.total is None else " (ISC counts %d)" % pages.total))
    return selection


# -- waiting -----------------------------------------------------------------------------------

class WaitState:
    """Progress of a wait, reported in the result."""

    def __init__(self):
        self.polls = 0
        self.timed_out = False
        self.elapsed = 0.0
        self.disappeared = []


def wait_for(client, query, selection, start, deadline, clock, sleep, state=None):
    """Poll the unfinished tasks of selection until all are finished, one fails, or the deadline passes.

    One poll round is one client.get_tasks_by_ids call for the tasks still running: one list request
    per 50 ids. The records in selection are replaced by the newest ones as they come. Returns a
    WaitState (the one given, updated as the wait goes, so that a caller still has it when the client
    raises IscError).
    """
    state = state or WaitState()
    index = dict((record.get("id"), i) for i, record in enumerate(selection.records))
    interval = query.wait_sleep
    while True:
        if query.fail_on_status and _failed_tasks(selection.records, query.fail_on_status):
            break
        running = [r.get("id") for r in selection.records
                   if not task_record.is_finished(r) and r.get("id") not in state.disappeared]
        if not running:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            state.timed_out = True
            break
        sleep(min(interval, remaining))
        interval = min(interval * BACKOFF_FACTOR, query.wait_sleep_max)
        found = client.get_tasks_by_ids(running, deadline=deadline)
        state.polls += 1
        for task_id in running:
            if task_id in found:
                selection.records[index[task_id]] = found[task_id]
            else:
                state.disappeared.append(task_id)
    state.elapsed = clock() - start
    return state


def _failed_tasks(records, statuses):
    return [r for r in records if task_record.is_finished(r) and task_record.status_of(r) in statuses]


# -- results -----------------------------------------------------------------------------------

def summarize(records, now=None):
    """Counts per completion status, pending count and the oldest pending task."""
    now = time.time() if now is None else now
    by_status = dict((status, 0) for status in task_record.COMPLETION_STATUSES)
    pending = []
    for record in records:
        if task_record.is_finished(record):
            status = task_record.status_of(record)
            by_status[status] = by_status.get(status, 0) + 1
        else:
            pending.append(record)
    oldest = None
    dated = [(parse_datetime(r.get("created")), r) for r in pending]
    dated = [(when, r) for when, r in dated if when is not None]
    if dated:
        when, record = min(dated, key=lambda item: item[0])
        oldest = task_record.progress_of(record)
        oldest["age_seconds"] = round(max(0.0, now - when), 3)
    elif pending:
        oldest = task_record.progress_of(pending[0])
        oldest["age_seconds"] = None
    return dict(count=len(records), finished=len(records) - len(pending), pending=len(pending),
                by_status=by_status, oldest_pending=oldest)


def project(record, fields):
    """The record with only the given top-level fields (id always kept)."""
    if not fields:
        return record
    keys = ["id"] + [f for f in fields if f != "id"]
    return dict((key, record[key]) for key in keys if key in record)


class Outcome:
    """The module result, warnings, and fail_json arguments when the module must fail."""

    def __init__(self, result, warnings, failure=None):
        self.result = result
        self.warnings = warnings
        self.failure = failure


def run(client, query, clock=None, sleep=None, now=None):
    """Read (and wait for) the selected tasks; an Outcome. IscError from reading propagates."""
    clock = clock or client.clock
    sleep = sleep or client.sleep
    start = clock()
    deadline = start + query.wait_timeout if query.wait else None

    if not query.wait:
        selection = read(client, query)
        failure = state = None
    else:
        # While waiting, an error still reports how long and how often the module polled.
        selection = Selection()
        state = WaitState()
        failure = None
        try:
            selection = read(client, query, deadline=deadline)
            wait_for(client, query, selection, start, deadline, clock, sleep, state)
        except IscError as exc:
            state.elapsed = clock() - start
            state.timed_out = clock() >= deadline
            failure = exc.to_result()
            failure["msg"] = "while waiting for tasks: %s" % failure["msg"]
    warnings = list(selection.warnings)

    disappeared = state.disappeared if state else []
    records = [r for r in selection.records if r.get("id") not in disappeared]
    missing = selection.missing + disappeared
    if selection.missing:
        warnings.append("ISC did not return %d of the requested task(s): %s. Tasks older than 90 days are not "
                        "returned." % (len(selection.missing), ", ".join(selection.missing)))
    for task_id in disappeared:
        last = selection.records[[r.get("id") for r in selection.records].index(task_id)]
        warnings.append("task %s disappeared while waiting (ISC no longer returns it); last seen: %s"
                        % (task_record.describe(last), task_record.progress_text(last)))

    result = dict(changed=False, task_statuses=[project(r, query.fields) for r in records],
                  summary=summarize(records, now=now), missing=missing)
    if query.count:
        result["total"] = selection.total
    if not query.by_id:
        result["truncated"] = selection.truncated
    if query.wait:
        result.update(elapsed=round(state.elapsed, 3), polls=state.polls, timed_out=state.timed_out)

    if failure is None:
        failure = _failure(query, records, missing, state)
    if failure is not None:
        failure = dict(failure)
        for key, value in result.items():
            failure.setdefault(key, value)
    return Outcome(result, warnings, failure)


def _failure(query, records, missing, state):
    """fail_json arguments when a task ended in fail_on_status, the wait timed out, or tasks are missing."""
    failed = _failed_tasks(records, query.fail_on_status) if query.fail_on_status else []
    if failed:
        details = []
        for record in failed[:MESSAGE_TASKS]:
            messages = task_record.messages_of(record)
            details.append("%s ended with %s%s" % (task_record.describe(record), task_record.status_of(record),
                                                   (": " + "; ".join(messages)) if messages else ""))
        more = " (and %d more)" % (len(failed) - MESSAGE_TASKS) if len(failed) > MESSAGE_TASKS else ""
        return dict(msg="%d task(s) ended with a status listed in fail_on_status (%s): %s%s"
                        % (len(failed), ", ".join(query.fail_on_status), " | ".join(details), more),
                    failed_tasks=[dict(task_record.progress_of(r), messages=task_record.messages_of(r)) for r in failed])
    if state is not None and state.timed_out:
        unfinished = [r for r in records if not task_record.is_finished(r)]
        details = ["%s: %s" % (task_record.describe(r), task_record.progress_text(r)) for r in unfinished[:MESSAGE_TASKS]]
        more = " (and %d more)" % (len(unfinished) - MESSAGE_TASKS) if len(unfinished) > MESSAGE_TASKS else ""
        return dict(msg="timed out after %.1f s (wait_timeout %s s) with %d of %d task(s) unfinished: %s%s"
                        % (state.elapsed, _number(query.wait_timeout), len(unfinished), len(records),
                           " | ".join(details), more),
                    unfinished=[task_record.progress_of(r) for r in unfinished])
    if missing and query.fail_on_missing:
        return dict(msg="ISC did not return %d task(s) (fail_on_missing is true): %s. Tasks older than 90 days "
                        "are not returned." % (len(missing), ", ".join(missing)))
    return None


def _number(value):
    return ("%d" % value) if float(value).is_integer() else ("%s" % value)
