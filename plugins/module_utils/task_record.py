# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a TaskStatus record means: its fields, statuses, times, and how a task is described.

The single definition that the modules, the filter plugins and the event source use:

- the TaskStatus fields and the completion statuses, with the aliases seen outside the enum;
- "finished": ISC sets ``completed`` and ``completionStatus`` in two steps, and a task is finished
  only when both are set;
- one ISO 8601 parser and formatter (records also carry epoch milliseconds in places);
- the texts a task is described with: name, source, messages, progress.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# Fields of a TaskStatus record, in the order of the schema.
TASK_FIELDS = (
    "id", "type", "uniqueName", "description", "parentName", "launcher", "target", "created", "modified",
    "launched", "completed", "completionStatus", "messages", "returns", "attributes", "progress",
    "percentComplete", "taskDefinitionSummary",
)
COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")
# Spellings of completion statuses seen outside the TaskStatus enum, mapped to it.
STATUS_ALIASES = {"TEMP_ERROR": "TEMPERROR"}
# The statuses the docs recommend failing a gate on (README, role defaults, module examples, docs/awx.md).
RECOMMENDED_FAIL_ON_STATUS = ("ERROR", "TERMINATED", "TEMPERROR")

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$")
# A number this large is epoch milliseconds, not seconds (seconds reach it in the year 5138).
_EPOCH_MS_FROM = 1e11


# -- statuses ---------------------------------------------------------------------------------

def normalize_status(value, option="completion_status"):
    """A completion status in the API's spelling (upper case, aliases resolved); IscError otherwise."""
    status = value.strip().upper() if isinstance(value, str) else None
    status = STATUS_ALIASES.get(status, status)
    if status not in COMPLETION_STATUSES:
        raise IscError("%s: unknown completion status %r; accepted (any letter case): %s"
                       % (option, value, ", ".join(COMPLETION_STATUSES)))
    return status


def normalize_statuses(values, option):
    """normalize_status() of each value, de-duplicated in order."""
    result = []
    for value in values or []:
        status = normalize_status(value if isinstance(value, str) else str(value), option)
        if status not in result:
            result.append(status)
    return result


def status_of(record):
    """The completion status in upper case, or None while the task runs."""
    status = record.get("completionStatus")
    if not status:
        return None
    status = str(status).upper()
    return STATUS_ALIASES.get(status, status)


def is_finished(record):
    """A task is finished only when both completed and completionStatus are set (ISC sets them in two steps)."""
    return bool(record.get("completed")) and bool(record.get("completionStatus"))


def is_finishing(record):
    """completed is set but completionStatus not yet: the task is between the two steps."""
    return bool(record.get("completed")) and not record.get("completionStatus")


# -- times ------------------------------------------------------------------------------------

def parse_timestamp(value, allow_date=False):
    """An aware datetime from an ISO 8601 date-time (or a datetime); None when value is not one.

    Accepts a 'T' or space separator, any number of fractional digits, and 'Z' or an offset; a
    date-time without a zone is taken as UTC. With allow_date, a plain date means midnight UTC.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if not match or (match.group(4) is None and not allow_date):
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour, minute, second = (int(match.group(i) or 0) for i in (4, 5, 6))
    micros = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = timezone.utc
    if match.group(9):
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        zone = timezone(-offset if match.group(9) == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    except (ValueError, OverflowError):
        return None


def epoch_of(value, allow_date=True):
    """Epoch seconds of a record time: an ISO 8601 string or epoch milliseconds/seconds; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if math.isnan(value) or math.isinf(value):
            return None
        return value / 1000.0 if abs(value) >= _EPOCH_MS_FROM else float(value)
    moment = parse_timestamp(value, allow_date=allow_date)
    return None if moment is None else moment.timestamp()


def format_timestamp(moment):
    """YYYY-MM-DDTHH:MM:SS.mmmZ in UTC (a datetime or epoch seconds), the form of the schema's examples."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (moment.microsecond // 1000)


def utc_now():
    return datetime.now(timezone.utc)


# -- describing a task ---------------------------------------------------------------------------

def name_of(record):
    """The task's name: uniqueName, else the task definition's."""
    return record.get("uniqueName") or (record.get("taskDefinitionSummary") or {}).get("uniqueName")


def source_of(record):
    """(source id, source name) of the task's target, either of them None when not given."""
    target = record.get("target")
    if not isinstance(target, dict):
        return None, None
    return target.get("id"), target.get("name")


def describe(record):
    """'id (uniqueName on target)' for messages."""
    name = name_of(record)
    target = source_of(record)[1]
    label = " ".join(part for part in (name, ("on %s" % target) if target else None) if part)
    return "%s (%s)" % (record.get("id"), label) if label else str(record.get("id"))


def messages_of(record):
    """The task's messages as 'TYPE: text' lines."""
    texts = []
    for message in record.get("messages") or []:
        if not isinstance(message, dict):
            continue
        localized = message.get("localizedText") or {}
        text = localized.get("message") if isinstance(localized, dict) else None
        text = text or message.get("key")
        if text:
            texts.append("%s: %s" % (message.get("type") or "INFO", text))
    return texts


def progress_of(record):
    """The fields that tell how far a task is."""
    return dict(id=record.get("id"), uniqueName=record.get("uniqueName"), created=record.get("created"),
                launched=record.get("launched"), completed=record.get("completed"),
                completionStatus=record.get("completionStatus"), progress=record.get("progress"),
                percentComplete=record.get("percentComplete"))


def progress_text(record):
    """How far a task is, in words."""
    parts = []
    if record.get("progress"):
        parts.append("progress %r" % record["progress"])
    if record.get("percentComplete") is not None:
        parts.append("%s%%" % record["percentComplete"])
    if is_finishing(record):
        parts.append("completed at %s, completion status not yet set" % record["completed"])
    elif not record.get("launched"):
        parts.append("not launched yet")
    return ", ".join(parts) or "no progress reported"
