# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that turn TaskStatus records into what the roles print and return.

The roles wait_for_aggregation, clear_pending_tasks and task_report call these filters instead of
building rows in Jinja. Every filter is linear in the number of records, and the facts about a record
(finished, status, name, source, messages, times) come from module_utils/task_record.py. Each filter
is documented in the .yml file of its name next to this one (``ansible-doc -t filter``).
"""

from __future__ import annotations

import math
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.identitynow.tasks.plugins.module_utils import durations, task_record
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# ISC names a source target "NAME [source]"; the roles show NAME.
_SOURCE_SUFFIX = re.compile(r" \[source\]$")
# The report counts pending tasks in a column of their own, after the completion statuses.
REPORT_STATUSES = task_record.COMPLETION_STATUSES + ("PENDING",)
# The report lists as failures the statuses a gate fails on by default.
FAILURE_STATUSES = task_record.RECOMMENDED_FAIL_ON_STATUS


# -- inputs ---------------------------------------------------------------------------------------

def string_list(value, name="value"):
    """A list of non-empty, trimmed strings, without duplicates, from a list or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise AnsibleFilterError("%s must be a list of strings or a comma-separated string, got %s"
                                 % (name, type(value).__name__))
    result, seen = [], set()
    for item in items:
        if item is None:
            continue
        if isinstance(item, (dict, list, tuple)):
            raise AnsibleFilterError("%s must contain strings, got %s %r" % (name, type(item).__name__, item))
        text = str(item).strip()
        if text and text not in seen:
            seen.add(text)
            result.append(text)
    return result


def completion_statuses(value, name="fail_on_status"):
    """string_list() of completion statuses in the API's spelling (upper case, TEMP_ERROR read as TEMPERROR)."""
    try:
        return task_record.normalize_statuses(string_list(value, name), name)
    except IscError as exc:
        raise AnsibleFilterError(exc.message)


def duration_seconds(value, name="duration", positive=False):
    """Seconds in a duration (90s, 30m, 6h, 1h30m; a bare number is seconds), read by module_utils/durations."""
    try:
        seconds = durations.parse_duration(value, name, positive=positive)
    except IscError as exc:
        raise AnsibleFilterError(exc.message)
    return int(seconds) if float(seconds).is_integer() else seconds


# -- texts ----------------------------------------------------------------------------------------

def clock_text(seconds):
    """45s, 2m 05s, 1h 02m 05s, 2d 03h 04m."""
    secs = int(seconds)
    if secs >= 86400:
        return "%dd %02dh %02dm" % (secs // 86400, secs % 86400 // 3600, secs % 3600 // 60)
    if secs >= 3600:
        return "%dh %02dm %02ds" % (secs // 3600, secs % 3600 // 60, secs % 60)
    if secs >= 60:
        return "%dm %02ds" % (secs // 60, secs % 60)
    return "%ds" % secs


def age_text(seconds):
    """How long a task has been pending: 0h 10m, 7h 00m, 1d 06h 00m."""
    secs = int(seconds)
    if secs >= 86400:
        return "%dd %02dh %02dm" % (secs // 86400, secs % 86400 // 3600, secs % 3600 // 60)
    return "%dh %02dm" % (secs // 3600, secs % 3600 // 60)


def elapsed_text(seconds):
    """Minutes and seconds, as the progress reports count: 0m 35s, 10m 00s, 75m 10s."""
    secs = int(seconds)
    return "%dm %02ds" % (secs // 60, secs % 60)


def span_text(seconds):
    """A time option as a person writes it: 3s, 90s, 60m, 6h, 1h 30m 00s."""
    if float(seconds) != int(seconds):
        return "%ss" % seconds
    secs = int(seconds)
    if secs >= 7200 and secs % 3600 == 0:
        return "%dh" % (secs // 3600)
    if secs >= 120 and secs % 60 == 0:
        return "%dm" % (secs // 60)
    if secs < 120:
        return "%ds" % secs
    return clock_text(secs)


def _whole(epoch):
    return None if epoch is None else math.floor(epoch)


def _now(now):
    return task_record.utc_now().timestamp() if now is None else float(now)


def _native(value):
    """A module result as plain Python containers.

    ansible-core 2.19 hands a filter its variables in lazy containers that template each value on its first
    access, which costs far more than the filter's own work over thousands of records. Module results hold
    no templates (they are not trusted as templates), so the filter reads them from a plain copy, made the way
    ansible-core itself makes one. Older ansible-core, and values that are plain already, pass unchanged.
    Only for module results and for what these filters returned: a role input may hold a template that must be
    rendered.
    """
    copy = getattr(value, "_non_lazy_copy", None)
    return copy() if callable(copy) else value


def _records(value, name):
    """The records of a module result (task_statuses) or of a list; each must be a mapping."""
    value = _native(value)
    if isinstance(value, dict):
        value = value.get("task_statuses") or []
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("%s must be a list of task records or a task_status_info result, got %s"
                                 % (name, type(value).__name__))
    for record in value:
        if not isinstance(record, dict):
            raise AnsibleFilterError("%s must contain task records (mappings), got %s %r"
                                     % (name, type(record).__name__, record))
    return value


# -- rows -----------------------------------------------------------------------------------------

def task_row(record, now=None):
    """What the roles show of one record: names, status, times in seconds, messages (no line)."""
    now = _now(now)
    finished = task_record.is_finished(record)
    finishing = task_record.is_finishing(record)
    source_id, source_name = task_record.source_of(record)
    created = _whole(task_record.epoch_of(record.get("created")))
    began = _whole(task_record.epoch_of(record.get("launched")))
    began = created if began is None else began
    end = _whole(task_record.epoch_of(record.get("completed"))) if (finished or finishing) else None
    end = now if end is None else end
    return {
        "id": record.get("id"),
        "source": _SOURCE_SUFFIX.sub("", source_name or "") or None,
        "source_id": source_id,
        "name": task_record.name_of(record) or None,
        "status": task_record.status_of(record) if finished else None,
        "finished": finished,
        "finishing": finishing,
        "created": record.get("created"),
        "launched": record.get("launched"),
        "completed": record.get("completed"),
        "duration": max(int(end - began), 0) if began is not None else 0,
        "age": max(int(now - created), 0) if created is not None else 0,
        "progress": record.get("progress"),
        "percent_complete": record.get("percentComplete"),
        "messages": task_record.messages_of(record),
    }


def _label(row):
    return (row["source"] + " / " if row["source"] else "") + (row["name"] or "task")


def _problems(row):
    return [m for m in row["messages"] if not m.startswith("INFO:")]


def _wait_row(record, fail_on, now):
    row = task_row(record, now)
    took = clock_text(row["duration"])
    if row["finished"]:
        problems = _problems(row)
        row["failed"] = row["status"] in fail_on
        details = (": " + "; ".join(problems)) if problems and row["status"] != "SUCCESS" else ""
        row["line"] = "%-10s %s, %s (%s)%s" % (row["status"], _label(row), took, row["id"], details)
    else:
        row["failed"] = False
        row["status"] = "FINISHING" if row["finishing"] else "RUNNING"
        if row["finishing"]:
            state = "finishing: completed after %s, completion status not yet set" % took
        else:
            state = "%s %s" % ("running" if row["launched"] else "queued", took)
        row["line"] = "%s: %s, %s%%, %s (%s)" % (
            _label(row), row["progress"] or ("started" if row["launched"] else "queued"),
            row["percent_complete"] or 0, state, row["id"])
    row["duration_text"] = took
    return row


def _rank(record):
    """How far a record is: finished beats finishing beats running; then percent complete, then modified."""
    stage = 2 if task_record.is_finished(record) else (1 if task_record.is_finishing(record) else 0)
    percent = record.get("percentComplete")
    percent = percent if isinstance(percent, (int, float)) and not isinstance(percent, bool) else -1
    return stage, percent, task_record.epoch_of(record.get("modified")) or 0


def _newest(results):
    """{id: record}, the most advanced record of each id over the results, and the ids in first-seen order."""
    newest, order = {}, []
    for result in results:
        for record in _records(result, "results"):
            task_id = record.get("id")
            known = newest.get(task_id)
            if known is None:
                order.append(task_id)
                newest[task_id] = record
            elif _rank(record) >= _rank(known):
                newest[task_id] = record
    return newest, order


# -- wait_for_aggregation -------------------------------------------------------------------------

def wait_state(results, settings, now=None):
    """Where a wait stands, from its latest task_status_info results (the previous round first).

    settings: start (epoch seconds), timeout, progress_interval (seconds), fail_on_status, fail_fast,
    missing (ids the selection did not find). Returns rows, the progress lines, whether to go on, the
    timeout of the next round, and the result the role sets (wait_for_aggregation_result) when it ends.
    """
    results = _native(results)
    if isinstance(results, dict):
        results = [results]
    if not isinstance(results, (list, tuple)) or not results:
        raise AnsibleFilterError("wait_state: expected a list of task_status_info results, got %r" % (results,))
    results = [r for r in (_native(r) for r in results)
               if isinstance(r, dict) and "task_statuses" in r] or [results[-1]]
    now = _now(now)
    fail_on = completion_statuses(settings.get("fail_on_status") or [], "fail_on_status")
    timeout = float(settings["timeout"])
    elapsed = round(max(now - float(settings["start"]), 0.0), 1)
    newest, order = _newest(results)
    missing = string_list(list(settings.get("missing") or [])
                          + [task_id for result in results for task_id in result.get("missing") or []])
    gone = set(missing)
    order = [task_id for task_id in order if task_id not in gone]
    before = set(r.get("id") for r in _records(results[0], "results") if task_record.is_finished(r)) \
        if len(results) > 1 else set()

    rows = [_wait_row(newest[task_id], fail_on, now) for task_id in order]
    finished = [row for row in rows if row["finished"]]
    unfinished = [row for row in rows if not row["finished"]]
    failed = [row for row in rows if row["failed"]]
    timed_out = bool(unfinished) and elapsed >= timeout
    go_on = bool(unfinished) and elapsed < timeout and not (settings.get("fail_fast") and failed)
    intro = ["Waiting up to %s for %d of %d task(s):" % (span_text(timeout), len(unfinished), len(rows))]
    intro.extend(row["line"] for row in rows)
    lines = ["After %s of %s: %d of %d task(s) finished"
             % (elapsed_text(elapsed), span_text(timeout), len(finished), len(rows))]
    lines.extend("finished:  " + row["line"] for row in finished if row["id"] not in before)
    lines.extend(("finishing: " if row["finishing"] else "running:   ") + row["line"] for row in unfinished)

    outcome = ("failed" if failed else "timed_out" if unfinished else "missing" if missing
               else "nothing_running" if not rows else "success")
    took = elapsed_text(elapsed)
    if outcome == "failed":
        headline = "FAILED: %d of %d task(s) ended with %s%s, after %s." % (
            len(failed), len(rows), " or ".join(_unique(row["status"] for row in failed)),
            (" (%d still running when the role stopped)" % len(unfinished)) if unfinished else "", took)
    elif outcome == "timed_out":
        headline = "TIMED OUT after %s (timeout %s): %d of %d task(s) still running." % (
            took, span_text(timeout), len(unfinished), len(rows))
    elif outcome == "missing":
        headline = "FAILED: ISC does not return %d of the task id(s): %s (unknown, or older than 90 days)." % (
            len(missing), ", ".join(missing))
    elif outcome == "nothing_running":
        headline = "SUCCESS: nothing was running, so there was nothing to wait for."
    else:
        headline = "SUCCESS: all %d task(s) finished without a status of %s, after %s." % (
            len(rows), ", ".join(fail_on) or "(none: fail_on_status is empty)", took)
    summary = [headline] + [row["line"] if row["finished"] else "%-10s %s" % (row["status"], row["line"])
                            for row in rows]
    progress = float(settings.get("progress_interval") or timeout)
    return {
        "rows": rows,
        "ids": order,
        "unfinished": [row["id"] for row in unfinished],
        "intro": intro,
        "lines": lines,
        "continue": go_on,
        "timed_out": timed_out,
        "elapsed": elapsed,
        "round_timeout": max(min(progress, timeout - elapsed), 1),
        "result": {
            "outcome": outcome,
            "msg": headline,
            "elapsed": elapsed,
            "tasks": rows,
            "failed": [row["id"] for row in failed],
            "unfinished": [row["id"] for row in unfinished],
            "missing": missing,
            "summary": summary,
        },
    }


def _unique(values):
    result = []
    for value in values:
        if value not in result:
            result.append(value)
    return result


# -- clear_pending_tasks --------------------------------------------------------------------------

def clear_plan(records, older_than, task_names=None, source_ids=None, now=None):
    """The pending tasks clear_pending_tasks found, as rows with their age, and the selection in words."""
    now = _now(now)
    names = string_list(task_names, "task_names")
    sources = string_list(source_ids, "source_ids")
    selection = "task(s) pending for more than %s%s%s" % (
        older_than, (" named " + " or ".join(names)) if names else "",
        (" on source(s) " + ", ".join(sources)) if sources else "")
    rows = []
    for record in _records(records, "records"):
        row = task_row(record, now)
        row["age_text"] = age_text(row["age"])
        row["line"] = "%s, pending for %s, at %s%% %s (%s)" % (
            _label(row), row["age_text"], row["percent_complete"] or 0,
            ('"%s"' % row["progress"]) if row["progress"] else "not launched", row["id"])
        rows.append(dict((key, row[key]) for key in (
            "id", "source", "source_id", "name", "created", "age", "age_text", "progress", "percent_complete",
            "line")))
    return {"selection": selection, "rows": rows, "ids": [row["id"] for row in rows]}


def _without_hint(msg, hint):
    """msg without the hint at its end (IscError adds '. Hint: ...'), when the hint is given once apart."""
    text = str(msg or "")
    if hint:
        for separator in (". Hint: ", " Hint: ", " "):
            if text.endswith(separator + hint):
                return text[:-len(separator + hint)].rstrip()
    return text


def clear_summary(plan, cleared, completion_status, check_mode=False):
    """clear_pending_tasks_result: per matched task what task_status did, the headline, and one hint."""
    plan, cleared = _native(plan), _native(cleared)
    cleared = cleared if isinstance(cleared, dict) else {}
    entries = dict((e.get("id"), e) for e in cleared.get("tasks") or [] if isinstance(e, dict))
    check = bool(check_mode) or any(str(e.get("msg") or "").startswith("check mode") for e in entries.values())
    status = str(completion_status).upper()
    # The hint of the first failure (a task's, or the run's when it failed before any task), given once.
    hint = None
    for entry in entries.values():
        if entry.get("outcome") == "failed" and (entry.get("error") or {}).get("hint"):
            hint = entry["error"]["hint"]
            break
    run_failed = bool(cleared.get("failed")) and not entries
    if run_failed:
        hint = cleared.get("hint")
    tasks = []
    for row in plan["rows"]:
        entry = entries.get(row["id"]) or {"outcome": "failed", "msg": "task_status returned no result for it"}
        msg = _without_hint(entry.get("msg"), hint)
        if entry["outcome"] == "changed":
            what = "%s (%s)" % ("would clear" if check else "cleared", status)
        else:
            what = "left alone (%s): %s" % (entry["outcome"], msg)
        # What happened to each task; the task itself is in matched (one copy of the rows is enough).
        tasks.append({"id": row["id"], "outcome": entry["outcome"], "msg": entry.get("msg"),
                      "line": row["line"] + ": " + what})
    changed = [t["id"] for t in tasks if t["outcome"] == "changed"]
    failed = [t for t in tasks if t["outcome"] == "failed"]
    if not tasks:
        msg = "Nothing to clear: no %s." % plan["selection"]
    elif failed:
        others = len(tasks) - len(failed) - len(changed)
        msg = "FAILED to clear %d of %d %s (%d cleared%s)." % (
            len(failed), len(tasks), plan["selection"], len(changed), (", %d left alone" % others) if others else "")
    else:
        msg = "%s %d of %d %s%s" % ("Would clear" if check else "Cleared", len(changed), len(tasks), plan["selection"],
                                    " (check mode: nothing was changed)." if check else ".")
    lines = [msg]
    if run_failed:
        lines.append("task_status failed: %s" % _without_hint(cleared.get("msg"), hint))
    lines.extend(t["line"] for t in tasks)
    if hint and failed:
        lines.append("Hint: " + hint)
    return {
        "outcome": "nothing_to_clear" if not tasks else "failed" if failed else "checked" if check else "cleared",
        "msg": msg,
        "hint": hint if failed else None,
        "check_mode": check,
        "matched": plan["rows"],
        "tasks": tasks,
        "cleared": changed,
        "left_alone": [t["id"] for t in tasks if t["outcome"] != "changed"],
        "lines": lines,
    }


# -- task_report ----------------------------------------------------------------------------------

def task_report(recent, pending, hours, slowest=5, now=None):
    """task_report_result from the two reads of the task_report role (created in the window, pending now)."""
    now = _now(now)
    hours = int(hours)
    slowest = int(slowest)
    recent, pending = _native(recent), _native(pending)
    recent_records = _records(recent, "recent")
    pending_records = _records(pending, "pending")
    recent_ids = set()
    rows, seen = [], set()
    for records, is_recent in ((recent_records, True), (pending_records, False)):
        for record in records:
            task_id = record.get("id")
            if is_recent:
                recent_ids.add(task_id)
            if task_id in seen:
                continue
            seen.add(task_id)
            row = task_row(record, now)
            row["status"] = row["status"] if row["finished"] else "PENDING"
            row["name"] = row["name"] or "task"
            row["recent"] = task_id in recent_ids
            del row["finishing"]
            rows.append(row)
    recent_rows = [row for row in rows if row["recent"]]
    by_status = dict((status, 0) for status in REPORT_STATUSES)
    counts = {}
    for row in recent_rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        entry = counts.get(row["name"])
        if entry is None:
            entry = counts[row["name"]] = dict({"name": row["name"], "total": 0},
                                               **dict((s, 0) for s in REPORT_STATUSES))
        entry["total"] += 1
        entry[row["status"]] = entry.get(row["status"], 0) + 1
    finished = [row for row in recent_rows if row["finished"]]
    finished.sort(key=lambda row: row["duration"], reverse=True)
    pending_rows = [row for row in rows if not row["finished"]]
    pending_rows.sort(key=lambda row: row["age"], reverse=True)
    return {
        "hours": hours,
        "since": task_record.format_timestamp(int(now) - hours * 3600)[:19] + "Z",
        "generated": task_record.format_timestamp(int(now))[:19] + "Z",
        "total": len(recent_rows),
        "by_status": by_status,
        "counts": [counts[name] for name in sorted(counts)],
        "slowest": finished[:max(slowest, 0)],
        "failures": [row for row in recent_rows if row["status"] in FAILURE_STATUSES],
        "pending": pending_rows,
        "truncated": bool((recent if isinstance(recent, dict) else {}).get("truncated")
                          or (pending if isinstance(pending, dict) else {}).get("truncated")),
    }


def _cell(text):
    """A Markdown table cell: no line break, no unescaped pipe."""
    return str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _what(row):
    return _cell(_label(row))


def task_report_markdown(report):
    """The report of task_report_result as Markdown."""
    r = _native(report)
    lines = ["# ISC task report: the last %s hours" % r["hours"], ""]
    statuses = ", ".join("%d %s" % (count, status) for status, count in r["by_status"].items() if count)
    lines.append("Tasks created from %s to %s: %s" % (r["since"], r["generated"], r["total"]))
    lines.append("(%s)." % (statuses or "none"))
    if r["truncated"]:
        lines += ["", "**The lists were cut at the module's max_results; the counts are incomplete.**"]
    lines += ["", "## Tasks per name and status", ""]
    if r["counts"]:
        lines.append("| Task | SUCCESS | WARNING | ERROR | TERMINATED | TEMPERROR | pending | total |")
        lines.append("|:-----|--------:|--------:|------:|-----------:|----------:|--------:|------:|")
        for c in r["counts"]:
            lines.append("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
                _cell(c["name"]), c["SUCCESS"], c["WARNING"], c["ERROR"], c["TERMINATED"], c["TEMPERROR"],
                c["PENDING"], c["total"]))
    else:
        lines.append("No task was created in the last %s hours." % r["hours"])
    lines += ["", "## Slowest runs", ""]
    if r["slowest"]:
        lines.append("| Duration | Task | Source id | Status | Started | Task id |")
        lines.append("|---------:|:-----|:----------|:-------|:--------|:--------|")
        for t in r["slowest"]:
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                clock_text(t["duration"]), _what(t), _cell(t["source_id"] or ""), t["status"],
                t["launched"] or t["created"], _cell(t["id"])))
    else:
        lines.append("No finished run.")
    lines += ["", "## Failures (%d)" % len(r["failures"]), ""]
    for t in r["failures"]:
        lines.append("- **%s** %s%s, started %s, after %s (`%s`)" % (
            t["status"], _label(t), (" (source id `%s`)" % t["source_id"]) if t["source_id"] else "",
            t["launched"] or t["created"], clock_text(t["duration"]), t["id"]))
        lines.extend("  - %s" % m for m in _problems(t))
    if not r["failures"]:
        lines.append("No task failed.")
    lines += ["", "## Pending now (%d)" % len(r["pending"]), ""]
    if r["pending"]:
        lines.append("| Pending for | Task | Source id | Progress | Created | Task id |")
        lines.append("|------------:|:-----|:----------|:---------|:--------|:--------|")
        for t in r["pending"]:
            lines.append("| %s | %s | %s | %s, %s%% | %s | %s |" % (
                clock_text(t["age"]), _what(t), _cell(t["source_id"] or ""), _cell(t["progress"] or "not launched"),
                t["percent_complete"] or 0, t["created"], _cell(t["id"])))
    else:
        lines.append("Nothing is pending.")
    return "\n".join(lines) + "\n"


class FilterModule:
    """identitynow.tasks filters for the roles."""

    def filters(self):
        return {
            "string_list": string_list,
            "completion_statuses": completion_statuses,
            "duration_seconds": duration_seconds,
            "wait_state": wait_state,
            "clear_plan": clear_plan,
            "clear_summary": clear_summary,
            "task_report": task_report,
            "task_report_markdown": task_report_markdown,
        }
