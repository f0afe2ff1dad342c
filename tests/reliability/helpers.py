# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Small helpers of the reliability suite: tasks, the simulator's request log, module tasks."""

from __future__ import annotations

import re
import time

TRACKING_ID = re.compile(r"^[0-9a-f]{32}$")


def stuck(sim, count=1, **spec):
    """Tasks stuck pending for an hour (their 'modified' no longer moves); a list of records."""
    spec = dict(dict(outcome="STUCK", created_ago=3600, duration=60), **spec)
    if count == 1:
        return [sim.add_task(**spec)]
    return sim.add_tasks(dict(spec, count=count))


def api_log(sim, method=None, path=None):
    """API requests of the simulator's log (token requests left out), optionally by method and path prefix."""
    return [e for e in sim.log() if e["path"] != "/oauth/token"
            and (method is None or e["method"] == method) and (path is None or e["path"].startswith(path))]


def token_requests(sim):
    return [e for e in sim.log() if e["path"] == "/oauth/token"]


def state(sim, task_id):
    """The task as the tenant holds it now (control interface, not the API: no log entry, no fault)."""
    for task in sim.tasks():
        if task["id"] == task_id:
            return task
    raise AssertionError("no task %s in the simulator" % task_id)


def wait_for_log(sim, predicate, timeout=60.0, what="log entries"):
    """Poll the request log until predicate(log) is true; the log then."""
    end = time.monotonic() + timeout
    while True:
        log = sim.log()
        if predicate(log):
            return log
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %s; log tail: %s" % (what, log[-5:]))
        time.sleep(0.02)


def info(name, **options):
    return {"name": name, "identitynow.tasks.task_status_info": options, "ignore_errors": True}


def update(name, **options):
    return {"name": name, "identitynow.tasks.task_status": options, "ignore_errors": True}


def assert_permanent_failure(result, status):
    """A permanent failure carries the status, SailPoint's detailCode and trackingId, and a hint."""
    assert result["_status"] == "failed"
    assert result["status"] == status, result
    assert result.get("detail_code"), result
    assert TRACKING_ID.match(result.get("tracking_id", "")), result
    assert result.get("hint"), result
    assert "trackingId: %s" % result["tracking_id"] in result["msg"]
    assert "Hint: " in result["msg"]
