# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark case 6: one runbook over many tenants, with forks.

Each tenant is its own simulator process on its own loopback port, with its own personal access token client
(SIM_PAT_CLIENT_ID / SIM_PAT_CLIENT_SECRET) and its own rate limit, holding its own stuck tasks. One playbook
(cases/many_tenants.yml) with an inventory of one host per tenant (local connection, the tenant's connection
in host variables, handed to the modules by module_defaults) clears them all, once with --forks 1 and once
with --forks N, each from a fresh set of stuck tasks. The SAIL_* variables are removed from the playbook's
environment, so a task that reached a tenant with anything but its host's variables would fail.

Each tenant's floor is what its rate limit allows for the least requests that can do its job: one list page
and one PATCH per task (with 100 requests per 10 s, 201 requests cannot end before 20 s). The case checks
that forks N is at least 5x faster than forks 1 (the tenants do not wait for one another: no global lock,
no pacing window shared between tenants, little per-fork overhead), that every tenant's part of the forks N
run stays within 1.15x its own floor, that no tenant answered 429, that every task was cleared exactly once
(one successful PATCH per task, by the request logs), and that no tenant's secret appears in the output.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from urllib.parse import urlencode

NUMBER = 6
TITLE = "many tenants"
SIZES = {
    "full": {"tenants": 8, "stuck": 200, "rate_limit": 100, "rate_window": 10, "forks": 8},
    # Tiny, with a rate limit small enough that the floor is not zero (set per host, as a tenant's own limit).
    "smoke": {"tenants": 2, "stuck": 5, "rate_limit": 5, "rate_window": 1, "forks": 2},
}
PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cases", "many_tenants.yml")
TASKS = ("Find the stuck tasks", "Clear them")


class Tenant:
    """One simulated tenant: its simulator, credentials and rate limit."""

    def __init__(self, bench, index, size):
        self.name = "tenant%02d" % (index + 1)
        self.client_id = "%s-client" % self.name
        self.secret = secrets.token_urlsafe(24)
        self.rate_limit, self.rate_window = size["rate_limit"], size["rate_window"]
        self.sim = bench.start_simulator(self.name, env={
            "SIM_PAT_CLIENT_ID": self.client_id, "SIM_PAT_CLIENT_SECRET": self.secret,
            "SIM_RATE_LIMIT": str(self.rate_limit), "SIM_RATE_WINDOW": str(self.rate_window)})
        self.ctl = self.sim.control
        self.ids = []

    def host_vars(self):
        return {"ansible_connection": "local", "isc_base_url": self.sim.url, "isc_client_id": self.client_id,
                "isc_client_secret": self.secret, "isc_rate_limit": self.rate_limit,
                "isc_rate_limit_window": self.rate_window}

    def setup(self, lib, stuck):
        """A fresh tenant with its stuck tasks: created two days ago, never finishing."""
        settings = dict(lib.REAL_LIMITS, rate_limit=self.rate_limit, rate_window=self.rate_window)
        self.ctl.reset("empty", **settings)
        records = self.ctl.add_tasks({"unique_name": "Cloud Account Aggregation", "outcome": "STUCK", "duration": 60,
                                      "created_ago": 2 * 86400, "count": stuck})
        self.ids = [r["id"] for r in records]
        self.ctl.clear_log()

    def token_status(self, client_id, secret):
        """The status of a token request with these credentials."""
        body = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
        return self.ctl.request("POST", "/oauth/token", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=body).status

    def outcome(self, lib):
        """What the tenant's request log and tasks say about the run."""
        entries = self.ctl.log()
        requests = lib.Requests(entries)
        patched = {}
        for entry in entries:
            if entry.get("method") == "PATCH" and entry.get("status") is not None and 200 <= entry["status"] < 300:
                task_id = entry["path"].rsplit("/", 1)[-1]
                patched[task_id] = patched.get(task_id, 0) + 1
        wanted = set(self.ids)
        cleared = [t["id"] for t in self.ctl.tasks()
                   if t["id"] in wanted and t["_sim"]["frozen"] and t.get("completionStatus") == "TERMINATED"]
        clients = sorted(set(e.get("client") for e in entries if e.get("client")))
        return {"requests": requests, "cleared": len(cleared), "patched_once": sum(1 for i in wanted if patched.get(i) == 1),
                "patched_twice": sum(1 for i in wanted if patched.get(i, 0) > 1),
                "patched_other": sum(1 for i in patched if i not in wanted), "clients": clients}


def floor_seconds(requests, limit, window):
    """When the last of requests can leave at most limit per window: floor((requests - 1) / limit) windows."""
    return math.floor((requests - 1) / float(limit)) * window


def clear_all(bench, tenants, size, forks, inventory):
    lib = bench.lib
    for tenant in tenants:
        tenant.setup(lib, size["stuck"])
    env = bench.env()
    for name in ("SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_ACCESS_TOKEN", "SAIL_TENANT"):
        env.pop(name, None)
    run = bench.playbook("case6-forks%d" % forks, PLAYBOOK, {}, inventory=inventory, args=["--forks", str(forks)],
                         env=env)
    with open(run["log"]) as handle:
        output = handle.read()
    leaked = [t.name for t in tenants if t.secret in output]
    outcomes = dict((t.name, t.outcome(lib)) for t in tenants)
    first = min(t["start"] for t in run["tasks"])
    # Each tenant's part of the run: from the first task's start to the end of the tenant's last task.
    spans = {}
    for tenant in tenants:
        ends = [t["hosts"][tenant.name]["end"] for t in run["tasks"] if tenant.name in t.get("hosts", {})]
        spans[tenant.name] = (max(ends) - first) if len(ends) == len(TASKS) else None
    # With forks 1 the hosts take turns: a tenant's own time in a task runs from the end of the host before it
    # (or the task's start) to its own end; summed over the tasks, that is the tenant's part when alone.
    alone = dict((t.name, 0.0) for t in tenants)
    for task in run["tasks"]:
        previous = task["start"]
        for name, end in sorted(((h, e["end"]) for h, e in task.get("hosts", {}).items()), key=lambda item: item[1]):
            if name in alone:
                alone[name] += end - previous
            previous = end
    return {"run": run, "outcomes": outcomes, "spans": spans, "leaked": leaked, "alone": alone}


def run(bench, size):
    lib = bench.lib
    count, stuck, forks = size["tenants"], size["stuck"], size["forks"]
    limit, window = size["rate_limit"], size["rate_window"]
    tenants = [Tenant(bench, index, size) for index in range(count)]

    # Each tenant takes only its own credentials.
    refused = [a.name for a, b in zip(tenants, tenants[1:] + tenants[:1]) if a.token_status(b.client_id, b.secret) == 401]
    accepted = [t.name for t in tenants if t.token_status(t.client_id, t.secret) == 200]

    inventory = os.path.join(bench.run_dir("case6-inventory"), "tenants.json")
    with open(inventory, "w") as handle:
        json.dump({"isc_tenants": {"hosts": dict((t.name, t.host_vars()) for t in tenants)}}, handle, indent=1)

    results = {}
    for value in (1, forks):
        results[value] = clear_all(bench, tenants, size, value, inventory)

    pages = int(math.ceil(stuck / 250.0))
    minimum = pages + stuck
    floor = floor_seconds(minimum, limit, window)
    c = NUMBER
    for value in (1, forks):
        result = results[value]
        outcomes = result["outcomes"].values()
        exact = all(o["cleared"] == stuck and o["patched_once"] == stuck and not o["patched_twice"]
                    and not o["patched_other"] for o in outcomes)
        bench.add_row(case=c, measure="tasks cleared exactly once (%d tenants x %d stuck), forks %d" % (count, stuck, value),
                      ours="%d of %d" % (sum(o["patched_once"] for o in outcomes if o["cleared"] == stuck), count * stuck),
                      alternatives="twice: %d, outside the tenant's stuck tasks: %d" % (
                          sum(o["patched_twice"] for o in outcomes), sum(o["patched_other"] for o in outcomes)),
                      target="= %d, each once" % (count * stuck), met=exact,
                      data=dict((name, {"cleared": o["cleared"], "patched_once": o["patched_once"],
                                        "patched_twice": o["patched_twice"], "patched_other": o["patched_other"],
                                        "clients": o["clients"], "requests": o["requests"].as_dict()})
                                for name, o in result["outcomes"].items()))
        rejected = dict((name, o["requests"]["429"]) for name, o in result["outcomes"].items())
        bench.add_row(case=c, measure="429 responses per tenant, forks %d" % value, ours=str(sum(rejected.values())),
                      alternatives=", ".join("%s %d" % item for item in sorted(rejected.items())),
                      target="= 0 on every tenant", met=not any(rejected.values()),
                      data=dict((name, o["requests"].rejected()) for name, o in result["outcomes"].items()))

    one, many = results[1]["run"]["wall"], results[forks]["run"]["wall"]
    speedup = lib.ratio(one, many)
    bench.add_row(case=c, measure="wall: whole playbook, forks %d vs forks 1 (%d tenants)" % (forks, count),
                  ours=lib.fmt_s(many), alternatives="forks 1 %s" % lib.fmt_s(one),
                  ratio_text="forks 1 / forks %d %s" % (forks, lib.fmt_x(speedup)),
                  target=">= 5x faster than forks 1", met=lib.within(speedup, low=5.0),
                  data={"forks_1": one, "forks_%d" % forks: many, "tenant_floor": floor,
                        "tasks": dict((v, [dict(name=t["name"], start=t["start"], end=t["end"],
                                                hosts=dict((h, e["end"]) for h, e in t["hosts"].items()))
                                           for t in results[v]["run"]["tasks"]]) for v in (1, forks))})

    spans = results[forks]["spans"]
    ratios = dict((name, lib.ratio(span, floor)) for name, span in spans.items())
    known = [r for r in ratios.values() if r is not None]
    worst = max(known) if len(known) == count else None
    bench.add_row(case=c, measure="slowest tenant vs its rate-limit floor, forks %d" % forks,
                  ours=lib.fmt_s(max(s for s in spans.values() if s is not None) if known else None),
                  alternatives="floor %s (%d requests at %d/%d s); per tenant %s" % (
                      lib.fmt_s(floor), minimum, limit, window,
                      " ".join(lib.fmt_x(ratios[t.name]) for t in tenants)),
                  ratio_text="%s floor" % lib.fmt_x(worst), target="<= 1.15x floor, every tenant",
                  met=lib.within(worst, high=1.15),
                  data={"floor": floor, "minimum_requests": minimum, "spans": spans, "ratios": ratios})

    # The part of each tenant's run that its rate limit governs: from its first API request to its last.
    governed = {}
    for tenant in tenants:
        entries = results[forks]["outcomes"][tenant.name]["requests"].entries
        times = [lib.sim_epoch(e["time"]) for e in entries if lib.kind_of(e) != "token"]
        governed[tenant.name] = (max(times) - min(times)) if times else None
    slowest = max((g for g in governed.values() if g is not None), default=None)
    alone = results[1]["alone"]
    bench.add_row(case=c, measure="slowest tenant alone vs its floor, its own turns of the forks 1 run (info)",
                  ours=lib.fmt_s(max(alone.values())), alternatives="floor %s; per tenant %s" % (
                      lib.fmt_s(floor), " ".join(lib.fmt_x(lib.ratio(alone[t.name], floor)) for t in tenants)),
                  ratio_text="%s floor" % lib.fmt_x(lib.ratio(max(alone.values()), floor)), data={"alone": alone})
    bench.add_row(case=c, measure="first to last request, slowest tenant, forks %d (info)" % forks,
                  ours=lib.fmt_s(slowest), alternatives="floor %s; per tenant %s" % (
                      lib.fmt_s(floor), " ".join(lib.fmt_x(lib.ratio(governed[t.name], floor)) for t in tenants)),
                  ratio_text="%s floor" % lib.fmt_x(lib.ratio(slowest, floor)), data={"spans": governed})

    counts = results[forks]["outcomes"][tenants[0].name]["requests"]
    bench.add_row(case=c, measure="requests per tenant list / PATCH / token, forks %d (info)" % forks,
                  ours="%d / %d / %d" % (counts["list"], counts["patch"], counts["token"]),
                  alternatives="the same on every tenant: %s" % all(
                      (o["requests"]["list"], o["requests"]["patch"], o["requests"]["token"])
                      == (counts["list"], counts["patch"], counts["token"])
                      for o in results[forks]["outcomes"].values()),
                  data=dict((name, o["requests"].as_dict()) for name, o in results[forks]["outcomes"].items()))

    leaked = sorted(set(results[1]["leaked"] + results[forks]["leaked"]))
    own = all(o["clients"] == [t.client_id] for v in (1, forks)
              for t, o in ((t, results[v]["outcomes"][t.name]) for t in tenants))
    bench.add_row(case=c, measure="credentials: each tenant used only its own, no secret in the output",
                  ours="%d of %d tenants" % (count - len(leaked) if own else 0, count),
                  alternatives="another tenant's credentials refused (401) by %d of %d; secrets in the output: %s" % (
                      len(refused), count, ", ".join(leaked) or "none"),
                  target="every tenant", met=own and not leaked and len(refused) == count and len(accepted) == count,
                  data={"refused": refused, "accepted": accepted, "leaked": leaked})


def check(rows, size):
    """Counts of the smoke run that do not depend on the machine's speed."""
    def row(start):
        found = [r for r in rows if r["measure"].startswith(start)]
        assert len(found) == 1, (start, [r["measure"] for r in rows])
        return found[0]

    tenants, stuck = size["tenants"], size["stuck"]
    for forks in (1, size["forks"]):
        cleared = row("tasks cleared exactly once (%d tenants x %d stuck), forks %d" % (tenants, stuck, forks))
        assert cleared["met"] is True, cleared
        assert len(cleared["data"]) == tenants, cleared
        for name, data in cleared["data"].items():
            assert data["cleared"] == data["patched_once"] == stuck, (name, data)
            assert data["clients"] == ["%s-client" % name], (name, data)
            assert data["requests"]["patch_ok"] == stuck and data["requests"].get("errors", 0) == 0, (name, data)
        # 429s are the bench's finding (its row), not asserted here: a 429 is survived, and counted there.
        assert row("429 responses per tenant, forks %d" % forks)["met"] in (True, False)
    assert row("credentials: each tenant used only its own")["met"] is True
