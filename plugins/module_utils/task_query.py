# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading task statuses and waiting for them: the logic behind the task_status_info module.

``execute(client, params)`` is the module's one call: it builds the query and runs it, and returns a
RunResult (result, warnings, failure). ``build_query(params)`` turns the module options into a
validated ``Query`` without any HTTP; bad input raises IscError naming the option and the accepted
values. The argument spec checks what it can say (mutually exclusive options, choices); this module
checks the rest: values, ranges, and what an API version supports. ``run(client, query)`` reads the
selected tasks (GET by id, chunked ``id in (...)`` list calls, or a paged list query), applies the
client-side filters and optionally waits until every selected task is finished.
``wait_for_tasks(client, ids, params)`` is the wait for a list of task ids that other modules reuse.
"""

from __future__ import annotations

import time

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, filters, task_record
from ansible_collections.identitynow.tasks.plugins.module_utils.client import MAX_PAGE_SIZE
from ansible_collections.identitynow.tasks.plugins.module_utils.durations import has_unit, parse_duration
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.module_utils.results import RunResult
from ansible_collections.identitynow.tasks.plugins.module_utils.wait import (
    WaitState, failed_tasks, wait_for, wait_options)

# Options that select tasks by content; none of them can be combined with id or ids. This rule stays
# here rather than in the argument spec: an empty list and count=false do not count as set.
FILTER_OPTIONS = ("source_ids", "completion_status", "pending", "types", "launchers", "filters", "unique_names",
                  "created_after", "created_before", "older_than", "sorters", "count")
# Versions whose list returns only finished tasks; pending ones come from the deprecated pending-tasks list.
FINISHED_ONLY_VERSIONS = tuple(v.name for v in api_versions.VERSIONS if v.finished_only)
# The structured server-side filters, which a raw filters string replaces.
STRUCTURED_FILTERS = ("source_ids", "completion_status", "pending", "types", "launchers")
# How many unfinished or failed tasks a failure message names (all of them are in the result).
MESSAGE_TASKS = 10


# -- parsing helpers ---------------------------------------------------------------------------

def parse_time_bound(value, option, now):
    """Epoch seconds for created_after/created_before: a date-time, a date, or a duration ago."""
    text = str(value).strip()
    when = task_record.epoch_of(text, allow_date=True)
    if when is not None:
        return when
    if has_unit(text):
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


def _option_is_set(params, name):
    value = params.get(name)
    if name == "count":
        return bool(value)
    return value is not None and value != [] and value != ""


# -- the query ---------------------------------------------------------------------------------

class Query:
    """Validated options: what to read, how to filter it, whether and how to wait.

    An option a library caller leaves out (None) is not set: no page size (the client's), no cap,
    no wait. The server-side filter is built for one API version by for_version(): build_query()
    does it for the module's api_version, run() again when the client speaks another one.
    """

    def __init__(self):
        self.api_version = None
        self.task_id = None           # one task, read with GET by id
        self.ids = None               # many tasks, read with chunked 'id in (...)' list calls
        self.conditions = []          # (option, filters.Expr) of the structured server-side filters
        self.pending = None           # True, False or None (both)
        self.raw_filter = None        # the filters option, sent as is
        self.server_filter = None     # a filters.Expr, a raw filter string, or None (set by for_version)
        self.path = None              # None: the list endpoint; else the pending-tasks endpoint
        self.sorters = None
        self.page_size = None         # None: the client's page size
        self.max_results = None       # None or 0: no cap
        self.count = False
        self.unique_names = None      # lower-cased names, matched on the client side
        self.created_after = None     # epoch seconds
        self.created_before = None
        self.fields = None
        self.wait = None              # wait.WaitOptions
        self.empty_ids_warning = False

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
            created = task_record.epoch_of(record.get("created"))
            if created is None:
                return False
            if self.created_after is not None and created < self.created_after:
                return False
            if self.created_before is not None and created >= self.created_before:
                return False
        return True

    def for_version(self, version):
        """Check the server-side filters against an API version and build them; IscError naming the option."""
        row = api_versions.get(version)
        parts = [_checked(expr, option, version) for option, expr in self.conditions]
        self.path = None
        if self.pending and version in FINISHED_ONLY_VERSIONS:
            # These lists hold only finished tasks and cannot filter with isnull: read pending-tasks,
            # which takes no filters or sorters at all.
            blockers = [option for option, dummy in self.conditions if option in ("source_ids", "types")]
            blockers += [name for name, value in (("filters", self.raw_filter), ("sorters", self.sorters)) if value]
            if blockers:
                raise IscError(
                    "pending: api_version %s lists pending tasks only through its deprecated pending-tasks "
                    "endpoint, which accepts no filters or sorters; remove %s, or use api_version v2025, v2026 "
                    "or v1 (they filter with completionStatus isnull)" % (version, ", ".join(blockers)))
            self.path = row.pending_tasks_path
        elif self.pending:
            parts.append(_checked(filters.isnull("completionStatus"), "pending", version))
        self.server_filter = self.raw_filter if self.raw_filter is not None else filters.and_(*parts)
        self.api_version = version
        return self


def _checked(expr, option, api_version):
    """expr checked against api_version, with the option named in the error."""
    try:
        return expr.check(api_version)
    except IscError as exc:
        raise IscError("%s: %s" % (option, exc.message))


def build_query(params, now=None):
    """A Query from module params; IscError naming the option and accepted values on bad input. No HTTP."""
    now = time.time() if now is None else now
    query = Query()
    _select_by_id(query, params)
    _sizes(query, params)
    _server_filters(query, params)
    _client_filters(query, params, now)
    _result_shape(query, params)
    query.wait = wait_options(params)
    query.empty_ids_warning = query.wait.wait and query.ids == []
    if params.get("api_version") is not None:
        query.for_version(params["api_version"])
    return query


def _select_by_id(query, params):
    task_id = params.get("id")
    ids = _string_list(params, "ids")
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


def _sizes(query, params):
    page_size = params.get("page_size")
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise IscError("page_size must be between 1 and %d, got %s" % (MAX_PAGE_SIZE, page_size))
    query.page_size = page_size
    max_results = params.get("max_results")
    if max_results is not None and max_results < 0:
        raise IscError("max_results must be 0 (no cap) or more, got %s" % max_results)
    query.max_results = max_results
    query.count = bool(params.get("count"))


def _server_filters(query, params):
    source_ids = _string_list(params, "source_ids")
    if source_ids:
        query.conditions.append(("source_ids", filters.in_("sourceId", source_ids)))
    statuses = task_record.normalize_statuses(params.get("completion_status"), "completion_status")
    query.pending = params.get("pending")
    if statuses and query.pending:
        raise IscError("completion_status and pending: true contradict each other: a pending task has no "
                       "completion status")
    if statuses:
        query.conditions.append(("completion_status", filters.in_("completionStatus", statuses)))
    elif query.pending is False:
        query.conditions.append(("pending", filters.in_("completionStatus", task_record.COMPLETION_STATUSES)))
    types = _string_list(params, "types")
    if types:
        query.conditions.append(("types", filters.in_("type", [t.upper() for t in types])))
    launchers = _string_list(params, "launchers")
    if launchers:
        query.conditions.append(("launchers", filters.in_("launcher", launchers)))
    query.sorters = params.get("sorters")

    raw = params.get("filters")
    if raw is not None:
        raw = str(raw).strip()
        if not raw:
            raise IscError("filters must not be empty")
        if query.conditions or query.pending:
            used = [n for n in STRUCTURED_FILTERS if params.get(n) not in (None, [])]
            raise IscError("filters (a raw filter string) cannot be combined with %s; put every condition in "
                           "filters, or use only the structured options" % ", ".join(used))
        query.raw_filter = raw


def _client_filters(query, params, now):
    unique_names = _string_list(params, "unique_names")
    if unique_names:
        query.unique_names = [n.lower() for n in unique_names]
    if params.get("created_after") is not None:
        query.created_after = parse_time_bound(params["created_after"], "created_after", now)
    if params.get("created_before") is not None:
        query.created_before = parse_time_bound(params["created_before"], "created_before", now)
    if params.get("older_than") is not None:
        query.created_before = now - parse_duration(params["older_than"], "older_than")
    if (query.created_after is not None and query.created_before is not None
            and query.created_after >= query.created_before):
        raise IscError("created_after (%s) must be earlier than created_before/older_than (%s)"
                       % (_iso(query.created_after), _iso(query.created_before)))


def _result_shape(query, params):
    fields = _string_list(params, "fields")
    if fields is not None:
        unknown = [f for f in fields if f not in task_record.TASK_FIELDS]
        if unknown:
            raise IscError("fields: unknown field(s) %s; accepted (TaskStatus fields, camelCase): %s"
                           % (", ".join(unknown), ", ".join(task_record.TASK_FIELDS)))
        query.fields = fields


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
            if exc.status != 404 or exc.path_missing:
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
    page_size = query.page_size or MAX_PAGE_SIZE
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
    dated = [(task_record.epoch_of(r.get("created")), r) for r in pending]
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


# -- running -----------------------------------------------------------------------------------

def execute(client, params):
    """The module's one call: build the query from params and run it; a RunResult, never an exception."""
    try:
        return run(client, build_query(params))
    except IscError as exc:
        return RunResult.failed(exc)


def wait_for_tasks(client, task_ids, params, clock=None, sleep=None):
    """Wait until the tasks of task_ids are finished, with the wait options of params (wait_argument_spec()).

    For modules that start tasks and wait for them: reads the ids (one list request per 50), polls
    until every task is finished, one ends in fail_on_status, or wait_timeout passes, and returns a
    RunResult with the keys of task_status_info (task_statuses, summary, missing, elapsed, polls,
    timed_out). A missing id fails unless fail_on_missing is false. Never raises IscError.
    """
    query = Query()
    try:
        query.ids = list(dict.fromkeys(task_ids))
        query.wait = wait_options(dict(params, wait=True))
    except IscError as exc:
        return RunResult.failed(exc)
    query.empty_ids_warning = not query.ids
    try:
        return run(client, query, clock=clock, sleep=sleep)
    except IscError as exc:
        return RunResult.failed(exc)


def run(client, query, clock=None, sleep=None, now=None):
    """Read (and wait for) the selected tasks; a RunResult.

    IscError from reading propagates when not waiting (execute() turns it into a failure); while
    waiting, an error is a failure that still reports how long and how often the module polled.
    """
    clock = clock or client.clock
    sleep = sleep or client.sleep
    waiting = query.wait is not None and query.wait.wait
    if not query.by_id and query.api_version != client.api_version:
        query.for_version(client.api_version)
    start = clock()
    deadline = start + query.wait.timeout if waiting else None

    warnings = []
    if query.empty_ids_warning:
        warnings.append("wait is true but ids is empty: there is nothing to wait for, so the module returned "
                        "at once")
    if not waiting:
        selection = read(client, query)
        failure = state = None
    else:
        selection = Selection()
        state = WaitState()
        failure = None
        try:
            selection = read(client, query, deadline=deadline)
            wait_for(client, selection.records, query.wait, start, deadline, clock, sleep, state)
        except IscError as exc:
            state.elapsed = clock() - start
            state.timed_out = clock() >= deadline
            failure = exc.to_result()
            failure["msg"] = "while waiting for tasks: %s" % failure["msg"]
    warnings.extend(selection.warnings)

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
    if waiting:
        result.update(elapsed=round(state.elapsed, 3), polls=state.polls, timed_out=state.timed_out)

    if failure is None:
        failure = _failure(query, records, missing, state)
    if failure is not None:
        failure = dict(failure)
        for key, value in result.items():
            failure.setdefault(key, value)
    return RunResult(result, warnings, failure)


def _failure(query, records, missing, state):
    """fail_json arguments when a task ended in fail_on_status, the wait timed out, or tasks are missing."""
    options = query.wait
    failed = failed_tasks(records, options.fail_on_status) if options and options.fail_on_status else []
    if failed:
        details = []
        for record in failed[:MESSAGE_TASKS]:
            messages = task_record.messages_of(record)
            details.append("%s ended with %s%s" % (task_record.describe(record), task_record.status_of(record),
                                                   (": " + "; ".join(messages)) if messages else ""))
        more = " (and %d more)" % (len(failed) - MESSAGE_TASKS) if len(failed) > MESSAGE_TASKS else ""
        return dict(msg="%d task(s) ended with a status listed in fail_on_status (%s): %s%s"
                        % (len(failed), ", ".join(options.fail_on_status), " | ".join(details), more),
                    failed_tasks=[dict(task_record.progress_of(r), messages=task_record.messages_of(r)) for r in failed])
    if state is not None and state.timed_out:
        unfinished = [r for r in records if not task_record.is_finished(r)]
        details = ["%s: %s" % (task_record.describe(r), task_record.progress_text(r)) for r in unfinished[:MESSAGE_TASKS]]
        more = " (and %d more)" % (len(unfinished) - MESSAGE_TASKS) if len(unfinished) > MESSAGE_TASKS else ""
        return dict(msg="timed out after %.1f s (wait_timeout %s s) with %d of %d task(s) unfinished: %s%s"
                        % (state.elapsed, _number(options.timeout), len(unfinished), len(records),
                           " | ".join(details), more),
                    unfinished=[task_record.progress_of(r) for r in unfinished])
    if missing and options and options.fail_on_missing:
        return dict(msg="ISC did not return %d task(s) (fail_on_missing is true%s): %s. Tasks older than 90 days "
                        "are not returned, and neither are the tasks of another tenant: check the ids, or set "
                        "fail_on_missing: false to accept missing tasks"
                        % (len(missing), ", the default with wait: true" if options.missing_by_default else "",
                           ", ".join(missing)))
    return None


def _number(value):
    return ("%d" % value) if float(value).is_integer() else ("%s" % value)
