# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Starting account and entitlement aggregations of sources: the logic behind the source_aggregation module.

``build_plan(params)`` validates the module options without any HTTP. ``run(client, params, check_mode)`` does
the rest and returns a RunResult:

1. one list query finds the aggregations of the same kind that still run on the sources (``sourceId`` plus
   ``completionStatus isnull``; on beta and v2024, which cannot filter on isnull, the pending-tasks list), never a
   filter on ``type``;
2. per source, ``when_running`` decides: wait for the running one to end and then start, reuse it, or start anyway;
3. each start is one POST, a write: the client retries it only on 429 and 503, which prove nothing was started.
   When its answer is lost, the task is looked for among the tasks of the source created since the request, and
   the POST is never sent again;
4. with ``wait: true``, the started (or reused) tasks are waited for by ``task_query.wait_for_tasks``, the wait of
   task_status_info.
"""

from __future__ import annotations

import time

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, filters, task_query, task_record
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.module_utils.results import RunResult
from ansible_collections.identitynow.tasks.plugins.module_utils.wait import wait_options

# kind: (path field of api_versions, the name of the task it starts)
KINDS = {
    "accounts": ("load_accounts", "Cloud Account Aggregation"),
    "entitlements": ("load_entitlements", "Cloud Group Aggregation"),
}
WHEN_RUNNING = ("wait_then_start", "reuse", "start")
# Source ids per "sourceId in (...)" list call, as for task ids.
SOURCE_CHUNK = 50
# A task created up to this many seconds before the request still counts as "created after it" when an answer
# is lost: the clocks of this host and of ISC may differ by that much.
CLOCK_SKEW = 120.0
# How often, and how many seconds apart, the tasks of a source are read to find a start whose answer was lost.
LOOKUP_TRIES = 3
LOOKUP_PAUSE = 2.0
# Tasks per source read when looking for it (the newest first).
LOOKUP_RECENT = 20

ENTITLEMENT_403_HINT = (
    "Entitlement aggregation accepts only tokens with a user context: use a personal access token (its client_id "
    "and client_secret) whose user is an ORG_ADMIN and that has the scope idn:entitlement:manage (or "
    "sp:scopes:all). An API client of the client-credentials grant has no user and gets 403 here.")
BETA_ACCOUNTS_403_HINT = (
    "beta load-accounts accepts only tokens with a user context: use a personal access token with "
    "idn:sources:manage (or sp:scopes:all), or api_version v2024, v2025, v2026 or v1, which also accept API clients "
    "with that scope.")
ACCOUNTS_403_HINT = (
    "Account aggregation needs the scope idn:sources:manage (or sp:scopes:all) and a user level of ORG_ADMIN, "
    "SOURCE_ADMIN or SOURCE_SUBADMIN.")
NOT_FOUND_HINT = ("ISC knows no source with this id: source_id takes the id of a source (32 hexadecimal characters, "
                  "as in the source's URL in ISC), not its name.")


class Plan:
    """The validated options."""

    def __init__(self):
        self.sources = []
        self.kind = "accounts"
        self.disable_optimization = None
        self.file_name = None
        self.file_data = None
        self.when_running = "wait_then_start"
        self.wait = None

    @property
    def task_name(self):
        return KINDS[self.kind][1]


def build_plan(params):
    """A Plan from module params; IscError naming the option and the accepted values on bad input. No HTTP."""
    plan = Plan()
    raw = params.get("source_id")
    if isinstance(raw, str):
        raw = [raw]
    for value in raw or []:
        text = "" if value is None else str(value).strip()
        if not text:
            raise IscError("source_id must not contain empty values, got %r" % (raw,))
        if text in (".", ".."):
            raise IscError("%r is not a source id" % text)
        if text not in plan.sources:
            plan.sources.append(text)
    if not plan.sources:
        raise IscError("source_id must name at least one source (a source id, or a list of them)")
    plan.kind = params.get("kind") or "accounts"
    if plan.kind not in KINDS:
        raise IscError("kind must be one of %s, got %r" % (", ".join(KINDS), plan.kind))
    plan.when_running = params.get("when_running") or "wait_then_start"
    if plan.when_running not in WHEN_RUNNING:
        raise IscError("when_running must be one of %s, got %r" % (", ".join(WHEN_RUNNING), plan.when_running))
    plan.disable_optimization = params.get("disable_optimization")
    if plan.disable_optimization is not None and plan.kind != "accounts":
        raise IscError("disable_optimization applies to account aggregations only (kind: accounts); entitlement "
                       "aggregation has no such field")
    path = params.get("file")
    if path is not None:
        if len(plan.sources) > 1:
            raise IscError("file is the CSV of one delimited-file source: give exactly one source_id with it, got %d"
                           % len(plan.sources))
        try:
            with open(path, "rb") as handle:
                plan.file_data = handle.read()
        except (IOError, OSError) as exc:
            raise IscError("file %s cannot be read: %s" % (path, exc.strerror or exc))
        plan.file_name = path.replace("\\", "/").rsplit("/", 1)[-1] or "upload.csv"
    plan.wait = wait_options(params)
    return plan


# -- paths and answers ---------------------------------------------------------------------------

def aggregation_path(api_version, kind, source_id):
    """The POST path that starts a kind of aggregation of a source in an API version (the id fully encoded)."""
    template = getattr(api_versions.get(api_version), KINDS[kind][0])
    encoded = "".join(c if c.isascii() and (c.isalnum() or c in "-_~") else
                      "".join("%%%02X" % b for b in c.encode("utf-8")) for c in source_id)
    return template.replace("{id}", encoded)


def user_context_only(api_version, kind):
    """Whether the operation accepts only user tokens: load-entitlements everywhere, load-accounts on beta."""
    return kind == "entitlements" or api_version == "beta"


def task_id_of(data):
    """The task id of a 202 answer: task.id (load-accounts) or the top-level id (load-entitlements); else None."""
    if not isinstance(data, dict):
        return None
    task = data.get("task")
    if isinstance(task, dict) and isinstance(task.get("id"), str) and task["id"]:
        return task["id"]
    if isinstance(data.get("id"), str) and data["id"]:
        return data["id"]
    return None


def source_id_of(record):
    """The source a task runs on: its target's id, else attributes.appId."""
    source_id = task_record.source_of(record)[0]
    if source_id:
        return source_id
    attributes = record.get("attributes")
    return attributes.get("appId") if isinstance(attributes, dict) else None


def _is_kind(record, plan):
    name = task_record.name_of(record)
    return isinstance(name, str) and name.strip().lower() == plan.task_name.lower()


# -- reading -------------------------------------------------------------------------------------

def find_running(client, plan, sources, deadline):
    """{source id: [records]} of the aggregations of plan.kind without a completionStatus on these sources."""
    row = api_versions.get(client.api_version)
    wanted = set(sources)
    records = []
    if "isnull" in row.filters.get("completionStatus", ()):
        for start in range(0, len(sources), SOURCE_CHUNK):
            query = filters.and_(filters.in_("sourceId", sources[start:start + SOURCE_CHUNK]),
                                 filters.isnull("completionStatus"))
            records.extend(client.list_tasks(filters=query, deadline=deadline))
    else:
        # beta and v2024 cannot filter on isnull and list only finished tasks: their pending-tasks list takes no
        # filters, so it is read whole and sorted out here.
        records.extend(client.list_tasks(path=row.pending_tasks_path, deadline=deadline))
    running = dict((source, []) for source in sources)
    for record in records:
        if not isinstance(record, dict) or task_record.status_of(record) is not None:
            continue
        source = source_id_of(record)
        if source in wanted and _is_kind(record, plan):
            running[source].append(record)
    return running


def find_started(client, plan, source_id, since, known, deadline):
    """The newest task of plan.kind on the source created at or after since (epoch seconds), not in known; or None.

    Reads the newest tasks of the source (and, on beta and v2024, the pending-tasks list, since their lists hold
    only finished tasks), a few times a little apart: a task may take a moment to be listed.
    """
    row = api_versions.get(client.api_version)
    for attempt in range(LOOKUP_TRIES):
        if attempt:
            if client.clock() + LOOKUP_PAUSE >= deadline:
                break
            client.sleep(LOOKUP_PAUSE)
        records = list(client.list_tasks(filters=filters.eq("sourceId", source_id), sorters="-created",
                                         page_size=LOOKUP_RECENT, max_results=LOOKUP_RECENT, deadline=deadline))
        if row.finished_only and row.pending_tasks_path:
            records.extend(record for record in client.list_tasks(path=row.pending_tasks_path, deadline=deadline)
                           if isinstance(record, dict) and source_id_of(record) == source_id)
        found = []
        for record in records:
            created = task_record.epoch_of(record.get("created")) if isinstance(record, dict) else None
            if (created is not None and created >= since and record.get("id") not in known
                    and _is_kind(record, plan)):
                found.append((created, record))
        if found:
            return max(found, key=lambda item: item[0])[1]
    return None


# -- starting ------------------------------------------------------------------------------------

def _form(plan):
    """The multipart fields of a start; empty when there is nothing to send (then no body, no Content-Type)."""
    fields = {}
    if plan.kind == "accounts" and plan.disable_optimization is not None:
        fields["disableOptimization"] = "true" if plan.disable_optimization else "false"
    if plan.file_data is not None:
        fields["file"] = (plan.file_name, plan.file_data, "text/csv")
    return fields


def start(client, plan, source_id, known, deadline, now=time.time):
    """Start the aggregation of one source; returns (task id, the 202 answer or None, recovered).

    recovered is True when the answer was lost and the task was found among the source's new tasks. IscError
    when ISC refused, or when the answer was lost and no such task exists (the POST is not repeated).
    """
    path = aggregation_path(client.api_version, plan.kind, source_id)
    sent_at = now()
    try:
        response = client.request("POST", path, files=_form(plan) or None, deadline=deadline, write=True)
    except IscError as exc:
        if exc.status == 403:
            if user_context_only(client.api_version, plan.kind):
                exc.hint = ENTITLEMENT_403_HINT if plan.kind == "entitlements" else BETA_ACCOUNTS_403_HINT
            else:
                exc.hint = ACCOUNTS_403_HINT
        elif exc.status == 404:
            exc.hint = NOT_FOUND_HINT
        if not exc.uncertain:
            raise
        return _recover(client, plan, source_id, sent_at, known, deadline, exc)
    task_id = task_id_of(response.data)
    if task_id is None:
        lost = IscError("ISC answered %s without a task id (neither task.id nor id)" % response.status,
                        status=response.status, method="POST", url=client.base_url + path, uncertain=True)
        return _recover(client, plan, source_id, sent_at, known, deadline, lost)
    return task_id, response.data, False


def _recover(client, plan, source_id, sent_at, known, deadline, lost):
    record = find_started(client, plan, source_id, sent_at - CLOCK_SKEW, known, deadline)
    if record is not None:
        return record["id"], None, True
    details = (plan.kind, source_id, lost.message, plan.task_name)
    lost.message = ("the answer to the start of the %s aggregation of source %s was lost (%s), and no %s of that "
                    "source created since the request was found: it was probably not started. It was not sent "
                    "again, so that an aggregation is never started twice" % details)
    lost.args = (lost.message,)
    lost.hint = ("Look at the source's tasks in ISC (or with identitynow.tasks.task_status_info source_ids: [%s]) "
                 "before you run this again." % source_id)
    raise lost


# -- the run -------------------------------------------------------------------------------------

class Entry:
    """What happened to one source."""

    def __init__(self, source_id, kind):
        self.source_id = source_id
        self.kind = kind
        self.decision = None
        self.task_id = None
        self.task = None
        self.running_task_ids = []
        self.recovered = False
        self.error = None

    def result(self):
        result = dict(source_id=self.source_id, kind=self.kind, decision=self.decision, task_id=self.task_id,
                      task=self.task, running_task_ids=self.running_task_ids)
        if self.recovered:
            result["recovered"] = True
        if self.error is not None:
            result["error"] = self.error
        return result


def _decide(plan, entries, running):
    """Set each entry's decision from what runs on its source and when_running."""
    for entry in entries:
        tasks = running.get(entry.source_id) or []
        entry.running_task_ids = [record.get("id") for record in tasks]
        if not tasks:
            entry.decision = "started"
        elif plan.when_running == "reuse":
            entry.decision = "reused"
            newest = max(tasks, key=lambda r: task_record.epoch_of(r.get("created")) or 0)
            entry.task_id, entry.task = newest.get("id"), newest
        elif plan.when_running == "wait_then_start":
            entry.decision = "waited_then_started"
        else:
            entry.decision = "started"


def _start_all(client, plan, entries, known, deadline, errors, warnings):
    """Start each entry's aggregation, in order; returns the reason to send no more (a 403 for every source) or
    None. Failures are recorded in the entries and appended to errors."""
    refused = None
    for entry in entries:
        if refused is not None:
            entry.decision, entry.error = "skipped", "not sent: %s" % refused
            continue
        try:
            entry.task_id, answer, entry.recovered = start(client, plan, entry.source_id, known, deadline)
        except IscError as exc:
            entry.decision, entry.error = "failed", str(exc)
            errors.append(exc)
            if exc.status == 403 and user_context_only(client.api_version, plan.kind):
                refused = "the token was refused for every source (HTTP 403 on %s)" % entry.source_id
            continue
        known.add(entry.task_id)
        if answer is not None:
            entry.task = answer.get("task") if isinstance(answer.get("task"), dict) else answer
        if entry.recovered:
            warnings.append("the answer to the start on source %s was lost; task %s of that source, created since "
                            "the request, is reported as the one started" % (entry.source_id, entry.task_id))
    return refused


def _remaining(deadline, clock):
    return max(0.001, deadline - clock())


def run(client, params, check_mode=False, clock=None):
    """Find, decide, start and (with wait) wait; a RunResult, never an exception."""
    clock = clock or client.clock
    try:
        plan = build_plan(params)
    except IscError as exc:
        return RunResult.failed(exc)
    deadline = clock() + plan.wait.timeout
    entries = [Entry(source, plan.kind) for source in plan.sources]
    warnings = []

    def report(failure=None, extra=None):
        result = dict(changed=any(e.decision in ("started", "waited_then_started") and (e.task_id or check_mode)
                                  for e in entries),
                      aggregations=[e.result() for e in entries],
                      task_ids=[e.task_id for e in entries if e.task_id])
        result.update(extra or {})
        if failure is not None:
            failure = dict(failure)
            for key, value in result.items():
                failure.setdefault(key, value)
        return RunResult(result, warnings, failure)

    try:
        running = find_running(client, plan, plan.sources, deadline)
    except IscError as exc:
        failure = exc.to_result()
        failure["msg"] = "while looking for running aggregations: %s" % failure["msg"]
        return report(failure)
    _decide(plan, entries, running)
    for entry in entries:
        if entry.running_task_ids and plan.when_running == "start":
            warnings.append("source %s has a running %s (%s); it was started anyway (when_running: start), and "
                            "ISC fails the new one because the running aggregation must complete first"
                            % (entry.source_id, plan.task_name, ", ".join(entry.running_task_ids)))
    if check_mode:
        return report()

    errors = []
    known = set(task_id for e in entries for task_id in e.running_task_ids)
    # Sources with nothing in the way start at once; those with a running aggregation (wait_then_start) after it
    # ended, so that the free ones do not wait for the busy ones.
    refused = _start_all(client, plan, [e for e in entries if e.decision == "started"], known, deadline, errors,
                         warnings)
    blocked = [e for e in entries if e.decision == "waited_then_started"]
    waiting_for = [task_id for e in blocked for task_id in e.running_task_ids]
    wait_failure = None
    if waiting_for and refused is None:
        before = task_query.wait_for_tasks(client, waiting_for, dict(
            params, wait_timeout=_remaining(deadline, clock), fail_on_status=None, fail_on_missing=False))
        # Its warnings (a running task that ended and left the list) do not concern the user.
        if before.failure:
            for entry in blocked:
                entry.decision, entry.error = "skipped", "not sent: the running aggregation did not end in time"
            wait_failure = dict((key, value) for key, value in before.failure.items() if key not in before.result)
            wait_failure["msg"] = ("nothing was started on the source(s) with a running aggregation (%s): while "
                                   "waiting for it to end (when_running: wait_then_start): %s"
                                   % (", ".join(e.source_id for e in blocked), wait_failure["msg"]))
        else:
            refused = _start_all(client, plan, blocked, known, deadline, errors, warnings)
    elif waiting_for:
        for entry in blocked:
            entry.decision, entry.error = "skipped", "not sent: %s" % refused

    failure = wait_failure
    if errors:
        failed = [e for e in entries if e.decision == "failed"]
        first = errors[0].to_result()
        failure = dict(first, msg="%d of %d aggregation start(s) failed: %s"
                       % (len(failed), len(entries), " | ".join("%s: %s" % (e.source_id, e.error) for e in failed)))
        if wait_failure is not None:
            failure["msg"] += " | and %s" % wait_failure["msg"]

    ids = [e.task_id for e in entries if e.task_id]
    extra = {}
    if plan.wait.wait and ids and failure is None:
        waited = task_query.wait_for_tasks(client, ids, dict(params, wait_timeout=_remaining(deadline, clock)))
        warnings.extend(waited.warnings)
        records = dict((r.get("id"), r) for r in waited.result.get("task_statuses", []))
        extra = dict((key, waited.result[key]) for key in ("task_statuses", "summary", "missing", "elapsed", "polls",
                                                           "timed_out") if key in waited.result)
        if failure is None and waited.failure:
            failure = dict((key, value) for key, value in waited.failure.items() if key not in waited.result)
    elif ids:
        try:
            records = client.get_tasks_by_ids(ids, deadline=deadline)
        except IscError as exc:
            records = {}
            warnings.append("the started task(s) could not be read back; task holds the start's answer: %s" % exc)
    else:
        records = {}
    for entry in entries:
        if entry.task_id in records:
            entry.task = records[entry.task_id]
    return report(failure, extra)
