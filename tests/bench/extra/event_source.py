# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark case 9: the Event-Driven Ansible event source identitynow.tasks.task_status on a busy tenant.

The tenant has `running` running aggregations (the rate limit on). The event source (the plugin file of the
collection under test, its main(queue, args) in this process with a list-backed queue, start now, the minimum
poll interval) takes them as its baseline; then `finishing` of them finish at the same moment, and `new` tasks
start and finish between two polls. Measured from the simulator's request log and the times the events reach the
queue:

- requests per poll while nothing happens (the documented bound: one per 250 running tasks plus one for the
  newest tasks), in the poll that sees the finishes (plus one read by id per 50 that left the running list), and
  over all polls; 429 answers;
- events: every finish and every start exactly once;
- latency from a transition (the moment ISC set completionStatus, or created a task) to its event on the queue:
  at most one interval plus the time of a poll.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import time

NUMBER = 9
TITLE = "event source"
SIZES = {
    "full": {"running": 200, "finishing": 50, "new": 10, "interval": 5.0, "quiet_polls": 3},
    # Below the source's minimum interval (5 s), to keep the smoke run short: only the smoke size lowers it.
    "smoke": {"running": 20, "finishing": 5, "new": 2, "interval": 2.0, "quiet_polls": 1},
}
PLUGIN = os.path.join("ansible_collections", "identitynow", "tasks", "extensions", "eda", "plugins", "event_source",
                      "task_status.py")
POLL_SLACK = 2.0  # seconds a poll of a few requests may take on top of the interval


def _load(collections):
    spec = importlib.util.spec_from_file_location("bench_event_source", os.path.join(collections, PLUGIN))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Queue:
    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append((time.time(), event))


def _polls(entries):
    """The API requests of the log, grouped by poll (each poll starts with the running list)."""
    polls = []
    for entry in entries:
        if not entry["path"].startswith("/v2026/task-status"):
            continue
        if entry["query"].get("filters") == "completionStatus isnull" and entry["query"].get("offset") in ("0", 0):
            polls.append([])
        if polls:
            polls[-1].append(entry)
    return polls


def run(bench, size):
    lib = bench.lib
    module = _load(bench.collections)
    interval, running, finishing, new = size["interval"], size["running"], size["finishing"], size["new"]
    module.MIN_INTERVAL = min(module.MIN_INTERVAL, interval)
    bench.reset("empty")
    race = lib.REAL_LIMITS["race_window"]
    # The finishing tasks end together, a few polls after the source has taken its baseline.
    end_in = interval * (1 + size["quiet_polls"]) + 1.0
    specs = [{"unique_name": "Cloud Account Aggregation", "outcome": "STUCK", "duration": 3600,
              "count": running - finishing, "created_ago": 600},
             {"unique_name": "Cloud Account Aggregation", "outcome": "ERROR", "duration": end_in + 600,
              "count": finishing, "created_ago": 600}]
    bench.ctl.add_tasks(*specs)
    finishing_ids = set(t["id"] for t in bench.ctl.tasks() if t["_sim"]["outcome"] == "ERROR")
    bench.ctl.clear_log()
    args = dict(base_url=bench.sim.url, client_id=lib.PAT[0], client_secret=lib.PAT[1], interval=interval)
    queue = _Queue()
    new_ids = []

    async def scenario():
        task = asyncio.ensure_future(module.main(queue, args))
        try:
            # Between two polls after the finishes: tasks that start and finish before the next poll.
            await asyncio.sleep(end_in + race + interval / 2.0)
            records = bench.ctl.add_tasks({"unique_name": "Cloud Group Aggregation", "outcome": "SUCCESS",
                                           "duration": 0.2, "count": new})
            new_ids.extend(r["id"] for r in records)
            deadline = time.time() + 3 * interval + 30
            wanted = len(finishing_ids) + 2 * new
            while len(queue.events) < wanted and time.time() < deadline and not task.done():
                await asyncio.sleep(0.1)
            await asyncio.sleep(interval + 1.0)  # one more poll: nothing more may come
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise lib.BenchError("the event source ended: %s" % task.exception())

    started = time.time()
    asyncio.run(scenario())
    wall = time.time() - started
    entries = bench.ctl.log()
    requests = lib.Requests(entries)
    polls = _polls(entries)
    sizes = [len(p) for p in polls]
    stuck = running - finishing
    quiet_bound = math.ceil(running / 250.0) + 1
    finish_bound = math.ceil(running / 250.0) + math.ceil(finishing / 50.0) + 1
    by_id = [len(p) for p in polls if any(e["query"].get("filters", "").startswith("id ") for e in p)]

    events = list(queue.events)
    keys = [e["event_key"] for dummy, e in events]
    expected = set("%s:finished" % i for i in finishing_ids) | set(
        "%s:%s" % (i, t) for i in new_ids for t in ("started", "finished"))
    latencies = []
    for moment, event in events:
        record = event["task"]
        if event["transition"] == "finished":
            # The simulator sets completionStatus (and modified) race_window seconds after completed.
            happened = module.task_record.epoch_of(record.get("modified"))
        else:
            happened = module.task_record.epoch_of(record.get("created"))
        if happened is not None:
            latencies.append(moment - happened)
    worst = max(latencies) if latencies else None
    c = NUMBER
    bench.add_row(case=c, measure="requests per poll, %d running tasks, nothing changes" % running,
                  ours=str(max(sizes[1:1 + size["quiet_polls"]] or [0])),
                  alternatives="polls %s" % " ".join(str(s) for s in sizes),
                  target="<= %d (1 per 250 running + 1 newest)" % quiet_bound,
                  met=bool(sizes[1:1 + size["quiet_polls"]]) and max(sizes[1:1 + size["quiet_polls"]]) <= quiet_bound,
                  data={"polls": sizes, "stuck": stuck})
    bench.add_row(case=c, measure="requests in the poll that sees %d finish" % finishing,
                  ours=str(max(by_id) if by_id else "n/a"),
                  target="<= %d (+1 read by id per 50)" % finish_bound,
                  met=bool(by_id) and max(by_id) <= finish_bound, data={"polls_with_reads_by_id": by_id})
    bench.add_row(case=c, measure="events: %d finishes + %d short-lived tasks (start, finish)" % (finishing, new),
                  ours="%d events, %d distinct" % (len(keys), len(set(keys))),
                  alternatives="missing %d, unexpected %d" % (len(expected - set(keys)), len(set(keys) - expected)),
                  target="= %d, each once" % len(expected), met=sorted(keys) == sorted(expected),
                  data={"expected": len(expected), "got": len(keys)})
    bench.add_row(case=c, measure="latency transition -> event (max of %d), interval %g s" % (len(latencies), interval),
                  ours=lib.fmt_s(worst),
                  alternatives="median %s" % lib.fmt_s(sorted(latencies)[len(latencies) // 2] if latencies else None),
                  target="<= interval + %g s" % POLL_SLACK,
                  met=worst is not None and worst <= interval + POLL_SLACK, data={"latencies": latencies})
    bench.add_row(case=c, measure="429 responses, %d polls in %s" % (len(polls), lib.fmt_s(wall)),
                  ours=str(requests["429"]), target="= 0", met=requests["429"] == 0,
                  data={"api_requests": requests["api"], "rejected": requests.rejected()})


def check(rows, size):
    """What the smoke run must show whatever the machine's speed: bounded polls, every event once, no 429."""
    for start in ("requests per poll", "requests in the poll that sees %d finish" % size["finishing"],
                  "events: %d finishes + %d short-lived tasks" % (size["finishing"], size["new"]), "429 responses"):
        found = [r for r in rows if r["measure"].startswith(start)]
        assert len(found) == 1 and found[0]["met"] is True, (start, found or [r["measure"] for r in rows])
