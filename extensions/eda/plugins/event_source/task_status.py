# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Event-Driven Ansible event source identitynow.tasks.task_status: task transitions of an ISC tenant.

It polls the task-status API with the collection's own client (plugins/module_utils/client.py) and puts
one event on the queue per transition of a task: ``started`` when ISC has created it, ``finished``
when both ``completed`` and ``completionStatus`` are set. See DOCUMENTATION and docs/eda.md.

The parts, top to bottom: options (the modules' connection options plus the source's own), the
Tracker (which transitions a set of observed records means, pure and without I/O), the state file,
one poll (the HTTP requests, run in a worker thread), and main(), which loops on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import stat
import sys
import threading
import time

DOCUMENTATION = r"""
---
short_description: Events for the task transitions of a SailPoint Identity Security Cloud tenant.
description:
  - An ansible-rulebook event source that polls the Task Management API of SailPoint Identity Security
    Cloud (ISC) and emits one event per transition of a task, C(started) or C(finished).
  - A task is C(finished) only when both C(completed) and C(completionStatus) are set (ISC sets them in
    two steps). A task that starts and finishes between two polls emits both events.
  - No task emits the same transition twice in one process; with O(state_file), not across restarts
    either.
  - "Each poll sends a bounded number of requests: the running tasks (one request per 250), the tasks
    that were running and are no longer listed as such, read by id (one request per 50), and the
    newest tasks since the last poll (one request per 250 tasks created since then, at least one).
    On a tenant with fewer than 250 running tasks that is two requests per poll, three when some of them
    finished. The requests share the rate-limit pacing of the collection's modules (same client ID and
    API version on the same host)."
  - Transient faults (HTTP 429, 5xx, resets, an expired token) are retried by the client, then the
    poll is logged and repeated with a growing delay (up to 5 minutes). Configuration and credential
    errors (HTTP 400, 401, 403, 404 and bad options) end the source with a message; ansible-rulebook
    then stops the activation.
  - "Every event has the keys C(transition) (C(started) or C(finished)), C(task_id), C(task_name)
    (C(uniqueName)), C(source_id), C(source_name) (of the task's target; null for tasks without a
    source), C(completion_status) (SUCCESS, WARNING, ERROR, TERMINATED or TEMPERROR for C(finished),
    null for C(started)), C(messages) (the task's messages as C(TYPE: text) strings), C(event_key)
    (C(task_id:transition), unique per event) and C(task) (the TaskStatus record as ISC returned it)."
  - Needs the Python libraries C(requests) and C(ansible-core) (for option validation) where
    ansible-rulebook runs; the decision environment in extensions/eda/decision-environment.yml has
    both.
options:
  base_url:
    description:
      - Base URL of the ISC API gateway, for example C(https://acme.api.identitynow.com).
      - If not set, O(tenant) is used, then the E(SAIL_BASE_URL) environment variable.
    type: str
  tenant:
    description:
      - Tenant name, turned into C(https://{tenant}.api.identitynow.com). Mutually exclusive with O(base_url).
    type: str
  client_id:
    description:
      - OAuth2 client ID of a personal access token or an API client (reading needs
        C(idn:task-management:read)).
      - If not set, the E(SAIL_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Secret of O(client_id). If not set, the E(SAIL_CLIENT_SECRET) environment variable is used.
      - Never logged.
    type: str
  access_token:
    description:
      - A bearer token to use instead of the client-credentials grant. It cannot be renewed, so the
        source ends with HTTP 401 when it expires.
      - The E(SAIL_ACCESS_TOKEN) environment variable is used when no client credentials are set.
    type: str
  token_url:
    description:
      - OAuth2 token endpoint. Defaults to O(base_url) followed by C(/oauth/token).
    type: str
  api_version:
    description:
      - API generation to call. On C(beta) and C(v2024) the running tasks are read from the
        deprecated pending-tasks list.
    type: str
    default: v2026
    choices: [v2026, v2025, v2024, beta, v1]
  experimental:
    description:
      - Send C(X-SailPoint-Experimental) on the year-versioned paths.
    type: bool
    default: true
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turning this off is insecure and logs a warning.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify the server with, instead of the system store.
    type: path
  timeout:
    description:
      - Seconds to wait for the server to connect and to answer each HTTP request.
    type: float
    default: 30
  max_retries:
    description:
      - How many times the client retries a request that failed transiently, before the poll is
        logged as failed and repeated later.
    type: int
    default: 5
  retry_max_wait:
    description:
      - Longest single wait, in seconds, before a retry, including a C(Retry-After) of HTTP 429.
    type: float
    default: 120
  rate_limit:
    description:
      - Requests at most per O(rate_limit_window), shared with the modules that run on the same host
        with the same client ID and API version. C(0) disables pacing.
    type: int
    default: 100
  rate_limit_window:
    description:
      - Length in seconds of the window O(rate_limit) is counted over.
    type: float
    default: 10
  allow_insecure_http:
    description:
      - Accept an C(http://) O(base_url) or O(token_url) to another host than this machine (C(http://) to
        C(localhost), C(127.0.0.0/8) or C(::1) needs no opt-in). The credentials then cross the network in
        clear text.
    type: bool
    default: false
  interval:
    description:
      - Seconds between the starts of two polls. At least 5.
      - At the default, a tenant with fewer than 250 running tasks costs 2 or 3 requests per 30 s, at
        most 1% of the documented budget of 100 requests per 10 s that the source shares with the jobs.
    type: float
    default: 30
  source_ids:
    description:
      - Watch only the tasks whose target is one of these sources (ids). Empty watches every task.
    type: list
    elements: str
    default: []
  task_names:
    description:
      - Watch only the tasks with one of these names (C(uniqueName), for example
        C(Cloud Account Aggregation); compared without regard to letter case). Empty watches every task.
    type: list
    elements: str
    default: []
  transitions:
    description:
      - The transitions that emit events.
    type: list
    elements: str
    default: [started, finished]
    choices: [started, finished]
  statuses:
    description:
      - The completion statuses for which C(finished) emits an event (any letter case; C(TEMP_ERROR)
        is taken as C(TEMPERROR)). The default is every status.
    type: list
    elements: str
    default: [SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR]
  start:
    description:
      - Where the events begin when there is no state to resume from.
      - C(now) emits only transitions that happen from now on (a task running now emits C(finished)
        when it ends, not C(started)).
      - A look-back such as C(90s), C(30m), C(1h), C(2d) or C(1h30m), or an ISO 8601 date-time, replays
        the transitions of the tasks created since then, then goes on from now.
      - With an existing O(state_file), the state wins and this option is not used.
    type: str
    default: now
  state_file:
    description:
      - File in which the source keeps what it has seen, so that a restart neither repeats nor misses
        events. Written after every poll that changed it, atomically (a new file renamed over the
        old one), with mode 0600; a symbolic link at this path is refused.
      - Without it, a restart begins again as O(start) says.
      - It holds task ids and times, never credentials, and belongs to one tenant and API version.
    type: path
"""

EXAMPLES = r"""
- name: React to failed aggregations
  hosts: localhost
  sources:
    - identitynow.tasks.task_status:
        tenant: acme                  # or base_url; or SAIL_BASE_URL
        # client_id / client_secret default to SAIL_CLIENT_ID / SAIL_CLIENT_SECRET
        task_names: [Cloud Account Aggregation]
        transitions: [finished]
        statuses: [ERROR, TERMINATED, TEMPERROR]
        interval: 60
        start: 1h
        state_file: /var/lib/eda/isc-task-status.json
  rules:
    - name: Aggregation failed
      condition: event.transition == "finished" and event.completion_status == "ERROR"
      action:
        run_playbook:
          name: identitynow.tasks.remediate_failed_aggregation
"""


def _collection_root():
    """The folder that holds ansible_collections/identitynow/tasks of this file, or None."""
    path = os.path.dirname(os.path.abspath(__file__))
    for name in ("event_source", "plugins", "eda", "extensions", "tasks", "identitynow", "ansible_collections"):
        if os.path.basename(path) != name:
            return None
        path = os.path.dirname(path)
    return path


# ansible-rulebook loads this file by path: make the collection it belongs to importable.
_ROOT = _collection_root()
if _ROOT is not None and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# pylint: disable=wrong-import-position
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import client as isc_client  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import connection  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import durations  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import filters  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils import task_record  # noqa: E402
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError, redact  # noqa: E402
# pylint: enable=wrong-import-position

LOG = logging.getLogger("identitynow.tasks.task_status")

TRANSITIONS = ("started", "finished")
DEFAULT_INTERVAL = 30.0
MIN_INTERVAL = 5.0
# Creation times read again on every poll: a task may become visible in the list a little after its
# creation time, and the newest task seen may be newer than one that shows up later.
OVERLAP = 120.0
PAGE_SIZE = isc_client.MAX_PAGE_SIZE
ID_CHUNK = isc_client.ID_CHUNK
# Polls in a row in which a task that was running is not returned by id before it is given up.
MAX_MISSES = 3
# Seconds a finished task is remembered after its finish was seen, in case a list still shows it running.
FINISHED_MEMORY = 600.0
BACKOFF_MAX = 300.0
STATE_VERSION = 1


class ConfigurationError(Exception):
    """Options, credentials or state that cannot work: the source ends with this message."""


class _Stopped(Exception):
    """The source is stopping: a worker thread gives up its sleep."""


# -- options ---------------------------------------------------------------------------------------

def argument_spec():
    """The options: the modules' connection options (with their SAIL_* fallbacks) plus the source's own."""
    return connection.isc_argument_spec(
        interval=dict(type="float", default=DEFAULT_INTERVAL),
        source_ids=dict(type="list", elements="str", default=[]),
        task_names=dict(type="list", elements="str", default=[]),
        transitions=dict(type="list", elements="str", default=list(TRANSITIONS), choices=list(TRANSITIONS)),
        statuses=dict(type="list", elements="str", default=list(task_record.COMPLETION_STATUSES)),
        start=dict(type="str", default="now"),
        state_file=dict(type="path"),
    )


def parse_start(value, now):
    """Epoch seconds from which transitions are replayed, or None for 'now'."""
    text = value.strip() if isinstance(value, str) else ""
    if text.lower() == "now":
        return None
    if durations.has_unit(text):
        return now - durations.parse_duration(text, "start")
    moment = task_record.parse_timestamp(text, allow_date=True)
    if moment is not None:
        return moment.timestamp()
    raise ConfigurationError("start must be 'now', a look-back such as %s, or an ISO 8601 date-time such as "
                             "2026-12-01T08:00:00Z; got %r" % (durations.EXAMPLES, value))


class Config:
    """The validated options of one source."""

    def __init__(self, args, environ=None, now=None):
        args = dict(args or {})
        args.pop("eda_feedback_queue", None)  # added by ansible-rulebook for sources that take feedback
        result = ArgumentSpecValidator(argument_spec()).validate(args)
        secrets = [s for s in getattr(result, "_no_log_values", ()) if isinstance(s, str)]
        if result.error_messages:
            raise ConfigurationError("identitynow.tasks.task_status: %s"
                                     % redact("; ".join(result.error_messages), secrets))
        params = result.validated_parameters
        try:
            self.connection = connection.resolve_connection(params, environ)
        except IscError as exc:
            raise ConfigurationError("identitynow.tasks.task_status: %s" % redact(str(exc), secrets)) from None
        self.secrets = secrets + [s for s in (self.connection["client_secret"], self.connection["access_token"]) if s]
        self.interval = params["interval"]
        if not (self.interval >= MIN_INTERVAL and math.isfinite(self.interval)):
            raise ConfigurationError("identitynow.tasks.task_status: interval must be at least %g seconds (the "
                                     "source shares the tenant's 100 requests per 10 s with the jobs), got %s"
                                     % (MIN_INTERVAL, params["interval"]))
        self.source_ids = list(dict.fromkeys(s for s in params["source_ids"] if s))
        self.task_names = set(name.strip().lower() for name in params["task_names"] if name.strip())
        self.transitions = set(params["transitions"])
        try:
            self.statuses = set(task_record.normalize_statuses(params["statuses"], "statuses"))
        except IscError as exc:
            raise ConfigurationError("identitynow.tasks.task_status: %s" % exc) from None
        try:
            self.since = parse_start(params["start"], time.time() if now is None else now)
        except ConfigurationError as exc:
            raise ConfigurationError("identitynow.tasks.task_status: %s" % exc) from None
        self.state_file = params["state_file"]
        if self.state_file:
            check_state_path(self.state_file)
        self.version = api_versions.get(self.connection["api_version"])

    def wants(self, record):
        """Whether the record is a task this source watches (source and name options)."""
        if self.source_ids and task_record.source_of(record)[0] not in self.source_ids:
            return False
        if self.task_names and (task_record.name_of(record) or "").strip().lower() not in self.task_names:
            return False
        return True

    def emits(self, transition, record):
        """Whether a transition of a watched task becomes an event (transitions and statuses options)."""
        if transition not in self.transitions:
            return False
        return transition != "finished" or task_record.status_of(record) in self.statuses


# -- the transitions -------------------------------------------------------------------------------

class Tracker:
    """What the source knows of the tasks it watches, and the transitions new observations make.

    For each task it remembers its creation time, whether its finish is accounted for (emitted, or
    before the start), how many polls in a row a read by id missed it, and when its finish was seen.
    ``cursor`` is the newest creation time seen (the server's clock): every poll reads the tasks created
    since ``cursor - OVERLAP``, and forgets the finished ones created before that, which no read returns
    again, once their finish is FINISHED_MEMORY old (a list that lags behind cannot bring them back).
    A task first seen after the first poll but created before ``cursor - OVERLAP`` did not start now
    (every newer task was read): it emits its finish, not a start.
    ``primed`` is false until the first poll has been applied: with ``since`` None (start now), what
    that poll sees is the baseline, whose transitions lie in the past.
    """

    def __init__(self, since=None, overlap=OVERLAP):
        self.since = since
        self.overlap = overlap
        self.cursor = None
        self.primed = False
        # id -> [created epoch or None, finished accounted for, misses, epoch the finish was seen or None]
        self.tasks = {}

    def cutoff(self):
        """Creation time from which the newest tasks are read; None: from the newest one less the overlap."""
        if self.cursor is not None:
            return self.cursor - self.overlap
        return self.since

    def unfinished(self):
        """Ids of the tasks whose finish is still to come."""
        return [task_id for task_id, entry in self.tasks.items() if not entry[1]]

    def observe(self, record, now=None):
        """The transitions (in order) that one record of a task shows for the first time."""
        task_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(task_id, str) or not task_id:
            return []
        created = task_record.epoch_of(record.get("created"))
        finished = task_record.is_finished(record)
        transitions = []
        entry = self.tasks.get(task_id)
        if entry is None:
            before_start = (not self.primed) if self.since is None else (created is not None and created < self.since)
            cutoff = self.cutoff()
            long_ago = self.primed and created is not None and cutoff is not None and created < cutoff
            entry = self.tasks[task_id] = [created, False, 0, None]
            if before_start:
                entry[1] = finished
            elif not long_ago:
                transitions.append("started")
        entry[2] = 0
        if created is not None and (entry[0] is None or created > entry[0]):
            entry[0] = created
        if finished and not entry[1]:
            entry[1] = True
            transitions.append("finished")
        if entry[1] and entry[3] is None:
            entry[3] = time.time() if now is None else now
        return transitions

    def advance(self, created):
        """A task created at `created` (epoch seconds) was listed among the newest: move the cursor."""
        if created is not None and (self.cursor is None or created > self.cursor):
            self.cursor = created

    def missed(self, task_id):
        """A read by id did not return a task whose finish is to come; True when it is given up."""
        entry = self.tasks.get(task_id)
        if entry is None or entry[1]:
            return False
        entry[2] += 1
        if entry[2] >= MAX_MISSES:
            del self.tasks[task_id]
            return True
        return False

    def prune(self, now=None):
        """Forget finished tasks that no later poll can return, once their finish is FINISHED_MEMORY old."""
        cutoff = self.cutoff()
        seen_before = (time.time() if now is None else now) - FINISHED_MEMORY
        for task_id in [task_id for task_id, entry in self.tasks.items()
                        if entry[1] and (entry[0] is None or (cutoff is not None and entry[0] < cutoff))
                        and (entry[3] is None or entry[3] <= seen_before)]:
            del self.tasks[task_id]

    # -- state -------------------------------------------------------------------------------------

    def to_state(self, identity):
        return dict(version=STATE_VERSION, tenant=identity, cursor=self.cursor,
                    tasks=dict((task_id, list(entry)) for task_id, entry in sorted(self.tasks.items())))

    def load_state(self, state, identity, path):
        """Resume from a state file's content; ConfigurationError when it is not one of ours for this tenant."""
        def bad(why):
            return ConfigurationError("state_file %s %s; move it away to start again (start: now or a look-back)"
                                      % (path, why))
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise bad("is not a state file of version %d of identitynow.tasks.task_status" % STATE_VERSION)
        if state.get("tenant") != identity:
            raise bad("belongs to %r, not to %r" % (state.get("tenant"), identity))
        cursor, tasks = state.get("cursor"), state.get("tasks")
        if cursor is not None and not _is_number(cursor) or not isinstance(tasks, dict):
            raise bad("has no valid cursor and tasks")
        loaded = {}
        for task_id, entry in tasks.items():
            if not (isinstance(entry, list) and len(entry) == 4 and (entry[0] is None or _is_number(entry[0]))
                    and isinstance(entry[1], bool) and isinstance(entry[2], int) and not isinstance(entry[2], bool)
                    and (entry[3] is None or _is_number(entry[3]))):
                raise bad("has an invalid entry for task %r" % task_id)
            loaded[task_id] = list(entry)
        self.cursor, self.tasks, self.primed = cursor, loaded, True


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def event_for(transition, record):
    """The event of one transition (see DOCUMENTATION for its keys)."""
    source_id, source_name = task_record.source_of(record)
    return dict(
        transition=transition,
        task_id=record.get("id"),
        task_name=task_record.name_of(record),
        source_id=source_id,
        source_name=source_name,
        completion_status=task_record.status_of(record) if transition == "finished" else None,
        messages=task_record.messages_of(record),
        event_key="%s:%s" % (record.get("id"), transition),
        task=record,
    )


# -- the state file ----------------------------------------------------------------------------------

def check_state_path(path):
    """ConfigurationError unless path can be the state file: not a link, not a folder, in a folder."""
    if os.path.islink(path):
        raise ConfigurationError("identitynow.tasks.task_status: state_file %s is a symbolic link; the state is "
                                 "never written through one: give the path of a regular file" % path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise ConfigurationError("identitynow.tasks.task_status: state_file %s exists and is not a regular file"
                                 % path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigurationError("identitynow.tasks.task_status: the folder of state_file %s does not exist" % path)


def read_state(path):
    """The JSON content of the state file, or None when there is none."""
    try:
        # Not through a symbolic link, and without blocking on a FIFO put there.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError("identitynow.tasks.task_status: cannot read state_file %s: %s (a symbolic link "
                                 "is never followed)" % (path, exc.strerror)) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ConfigurationError("identitynow.tasks.task_status: state_file %s is not a regular file" % path)
    with os.fdopen(descriptor, "r", encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except ValueError:
            raise ConfigurationError("identitynow.tasks.task_status: state_file %s is not valid JSON; move it away "
                                     "to start again" % path) from None


def write_state(path, state):
    """Replace the state file atomically: a new file of mode 0600 beside it, renamed over it.

    The rename replaces a symbolic link put at the path meanwhile instead of writing through it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    data = json.dumps(state, separators=(",", ":"), sort_keys=True).encode("utf-8")
    name = ".%s.%d.%016x.tmp" % (os.path.basename(path), os.getpid(), random.getrandbits(64))
    temporary = os.path.join(folder, name)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# -- one poll --------------------------------------------------------------------------------------

class Poller:
    """The reads of one poll, with the collection's client; run in a worker thread."""

    def __init__(self, config, client, stopped=None):
        self.config = config
        self.client = client
        self.stopped = stopped or (lambda: False)
        source_filter = None
        if config.source_ids and len(config.source_ids) <= ID_CHUNK:
            source_filter = filters.in_("sourceId", config.source_ids)
        self.source_filter = source_filter
        if config.version.finished_only:
            # beta and v2024 list finished tasks only: the running ones are on the pending-tasks list.
            self.running_path, self.running_filter = config.version.pending_tasks_path, None
        else:
            self.running_path = None
            self.running_filter = filters.and_(filters.isnull("completionStatus"), source_filter)

    def fetch(self, tracker):
        """(running, gone, by_id, newest): the records read now, in the order they were read, for apply_poll."""
        running = list(self.client.list_tasks(filters=self.running_filter, path=self.running_path,
                                              page_size=PAGE_SIZE))
        listed = set(record.get("id") for record in running if isinstance(record, dict))
        gone = [task_id for task_id in tracker.unfinished() if task_id not in listed]
        self._check()
        by_id = self.client.get_tasks_by_ids(gone) if gone else {}
        self._check()
        newest = []
        cutoff = tracker.cutoff()
        for record in self.client.list_tasks(filters=self.source_filter, sorters="-created", page_size=PAGE_SIZE):
            created = task_record.epoch_of(record.get("created")) if isinstance(record, dict) else None
            if created is None:
                continue
            if cutoff is None:
                cutoff = created - tracker.overlap
            if created < cutoff:
                break
            newest.append(record)
        return running, gone, by_id, newest

    def _check(self):
        """Between two reads: a source that stops sends nothing more."""
        if self.stopped():
            raise _Stopped()


def apply_poll(config, tracker, fetched):
    """The events of one poll's reads; updates the tracker. No I/O, nothing that can fail on a record."""
    running, gone, by_id, newest = fetched
    events = []

    def observe(record):
        if isinstance(record, dict) and config.wants(record):
            for transition in tracker.observe(record):
                if config.emits(transition, record):
                    events.append(event_for(transition, record))

    for record in running:
        observe(record)
    for task_id in gone:
        record = by_id.get(task_id)
        if record is None:
            if tracker.missed(task_id):
                LOG.warning("task %s is no longer returned by ISC (deleted, or older than 90 days): no finished "
                            "event for it", task_id)
        else:
            observe(record)
    # Oldest first, so that the events of tasks created in the same interval come in creation order.
    for record in reversed(newest):
        observe(record)
        # Every listed task moves the cursor, watched or not: the next poll reads back to it, not further.
        tracker.advance(task_record.epoch_of(record.get("created")))
    tracker.primed = True
    tracker.prune()
    return events


# -- the source --------------------------------------------------------------------------------------

def is_permanent(error):
    """True for a failure that polling again cannot mend: an HTTP 3xx or 4xx answer except 408 and 429
    (a wrong URL, credentials or permissions, a filter the API version refuses). Network faults, 5xx and
    broken answers are transient."""
    return error.status is not None and 300 <= error.status < 500 and error.status not in (408, 429)


def backoff_delay(failures, interval):
    """Seconds before the next poll after `failures` failed polls in a row: doubling, at most BACKOFF_MAX."""
    delay = min(BACKOFF_MAX, interval * (2 ** min(failures - 1, 16)))
    return random.uniform(delay * 0.8, delay)


class TaskStatusSource:
    """The poll loop of one source."""

    def __init__(self, config):
        self.config = config
        self.tracker = Tracker(config.since)
        self.identity = "%s %s" % (config.connection["base_url"].rstrip("/"), config.connection["api_version"])
        self._stop = threading.Event()
        self._saved = None
        self.polls = 0

    def stop(self):
        """Make a worker thread that sleeps in the client (a retry, pacing) give up at once."""
        self._stop.set()

    def _sleep(self, seconds):
        """The client's sleep (retries, pacing): gives up when the source stops."""
        if self._stop.wait(seconds):
            raise _Stopped()

    def make_client(self):
        settings = dict(self.config.connection)
        if not settings.get("validate_certs", True):
            LOG.warning("validate_certs is false: the TLS certificate of %s is not verified, which lets anyone on the "
                        "network path read the credentials", settings["base_url"])
        clear = [url for url in (settings["base_url"], settings.get("token_url")) if url
                 and isc_client.check_url("base_url", url, allow_insecure_http=True)]
        if clear:
            LOG.warning("allow_insecure_http is true and %s is reached over http://: the client secret, the tokens "
                        "and every answer cross the network in clear text", " and ".join(clear))
        try:
            return isc_client.IscClient(shared_pacing=True, sleep=self._sleep, **settings)
        except IscError as exc:
            raise ConfigurationError("identitynow.tasks.task_status: %s" % redact(str(exc), self.config.secrets))

    async def _in_thread(self, function, *args):
        """function(*args) in a daemon thread, awaited; a stop sets _stop so that the thread ends soon."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def deliver(setter, value):
            if not future.done():
                setter(value)

        def work():
            try:
                result = function(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                outcome = (future.set_exception, exc)
            else:
                outcome = (future.set_result, result)
            try:
                loop.call_soon_threadsafe(deliver, *outcome)
            except RuntimeError:
                pass  # the loop is closed: nobody waits any more

        threading.Thread(target=work, name="identitynow.tasks.task_status", daemon=True).start()
        try:
            return await future
        except asyncio.CancelledError:
            self._stop.set()
            raise

    def load(self):
        if not self.config.state_file:
            return
        state = read_state(self.config.state_file)
        if state is not None:
            self.tracker.load_state(state, self.identity, self.config.state_file)
            self._saved = json.dumps(self.tracker.to_state(self.identity), sort_keys=True)
            LOG.info("resuming from %s: %d tasks tracked", self.config.state_file, len(self.tracker.unfinished()))

    async def save(self):
        if not self.config.state_file:
            return
        state = self.tracker.to_state(self.identity)
        text = json.dumps(state, sort_keys=True)
        if text == self._saved:
            return
        # Shielded: once the events are on the queue, the state that says so is written even if the
        # source is cancelled meanwhile.
        job = asyncio.ensure_future(self._in_thread(write_state, self.config.state_file, state))
        try:
            await asyncio.shield(job)
        except asyncio.CancelledError:
            if not job.done():
                await asyncio.wait([job])
            raise
        self._saved = text

    async def run(self, queue):
        loop = asyncio.get_running_loop()
        self.load()
        client = self.make_client()
        poller = Poller(self.config, client, stopped=self._stop.is_set)
        LOG.info("watching the tasks of %s (%s) every %g s", self.config.connection["base_url"],
                 self.config.connection["api_version"], self.config.interval)
        failures = 0
        while True:
            begun = loop.time()
            try:
                fetched = await self._in_thread(poller.fetch, self.tracker)
            except IscError as exc:
                # The client's errors hold no secret; the options' secrets are removed once more regardless.
                message = redact(str(exc), self.config.secrets)
                if is_permanent(exc):
                    raise ConfigurationError("identitynow.tasks.task_status: %s" % message) from None
                failures += 1
                delay = max(backoff_delay(failures, self.config.interval), exc.retry_after or 0)
                LOG.warning("poll failed, %d in a row (%s); next poll in %.0f s", failures, message, delay)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Never a traceback in the activation's log: say what failed, back off, try again.
                failures += 1
                delay = backoff_delay(failures, self.config.interval)
                LOG.error("poll failed, %d in a row (%s: %s); next poll in %.0f s", failures, type(exc).__name__,
                          redact(str(exc), self.config.secrets), delay)
            else:
                failures = 0
                events = apply_poll(self.config, self.tracker, fetched)
                self.polls += 1
                for event in events:
                    await queue.put(event)
                await self.save()
                delay = max(0.0, self.config.interval - (loop.time() - begun))
                LOG.debug("poll %d: %d running, %d read by id, %d newest; %d events, %d tasks tracked", self.polls,
                          len(fetched[0]), len(fetched[1]), len(fetched[3]), len(events), len(self.tracker.tasks))
            for warning in client.warnings:
                LOG.warning("%s", redact(warning, self.config.secrets))
            del client.warnings[:]
            await asyncio.sleep(delay)


async def main(queue, args):
    """Entry point of ansible-rulebook: poll the tenant and put one event per task transition on queue."""
    source = TaskStatusSource(Config(args))
    try:
        await source.run(queue)
    finally:
        source.stop()


if __name__ == "__main__":
    # Try it without ansible-rulebook: python task_status.py '{"tenant": "acme", "start": "1h"}'
    class _PrintQueue:
        async def put(self, event):
            print(json.dumps(event, sort_keys=True))  # noqa: T201

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
