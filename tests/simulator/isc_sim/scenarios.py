# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Scenarios: deterministic lists of task specs (the same shape ``POST /__sim__/tasks`` takes).

Times are relative to the moment of the reset, so a scenario always looks the same from "now".
"""

from __future__ import annotations

import random

from .definitions import ADMIN_IDENTITY_ID

HOUR = 3600
DAY = 86400

DEMO_SOURCES = ("Active Directory", "Workday", "ServiceNow", "Salesforce", "Okta", "SAP ERP")
BULK_SOURCES = DEMO_SOURCES + ("Azure AD", "Google Workspace", "GitHub", "Jira", "Oracle EBS", "Slack", "AWS IAM",
                               "Zoom", "Box", "Concur", "Coupa", "DocuSign", "Epic", "PeopleSoft HR")
#: A delimited-file source: its aggregations need the CSV file in the request.
CSV_SOURCE = "HR Import (CSV)"
#: How long an aggregation of each demo source runs, in seconds, and how it ends (default SUCCESS).
_DEMO_SOURCE_FACTS = {"Active Directory": (12, "SUCCESS"), "Workday": (15, "WARNING"), "ServiceNow": (6, "SUCCESS"),
                      "Salesforce": (8, "ERROR"), "Okta": (10, "SUCCESS"), "SAP ERP": (20, "SUCCESS")}
ACCOUNTS = "Cloud Account Aggregation"
GROUPS = "Cloud Group Aggregation"
REFRESH = "Identity Refresh"


def _id(rng: random.Random) -> str:
    return "%032x" % rng.getrandbits(128)


def _history_outcome(rng: random.Random) -> str:
    return rng.choices(("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR"), (82, 8, 5, 3, 2))[0]


def empty(_tasks=None) -> list:
    """No tasks at all."""
    return []


def demo(_tasks=None) -> list:
    """A handful of sources: aggregations finishing within a minute, one failure, two stuck tasks, history."""
    rng = random.Random(2026)
    specs = [
        # Launched by the admin a moment ago; each finishes within 10-50 s of wall time.
        {"source_name": "Active Directory", "launch_delay": 2, "duration": 18},
        {"source_name": "Workday", "launch_delay": 1, "duration": 35, "outcome": "WARNING"},
        {"source_name": "ServiceNow", "unique_name": GROUPS, "launch_delay": 4, "duration": 8},
        {"source_name": "Salesforce", "launch_delay": 1, "duration": 24, "outcome": "ERROR"},
        {"source_name": "Okta", "launch_delay": 6, "duration": 42},
        {"unique_name": REFRESH, "launch_delay": 3, "duration": 30, "launcher": "sweep"},
        # Two pending tasks that will never finish on their own.
        {"source_name": "SAP ERP", "created_ago": 7 * HOUR, "launch_delay": 4, "duration": 900, "outcome": "STUCK"},
        {"source_name": "Active Directory", "unique_name": GROUPS, "created_ago": 30 * HOUR, "launch_delay": 2,
         "duration": 1200, "outcome": "STUCK", "launcher": "sweep"},
        # Older than 90 days: kept in the store, never returned by the API.
        {"source_name": "Workday", "created_ago": 95 * DAY, "duration": 300, "launcher": "sweep"},
    ]
    for day in range(1, 15):
        for index, source in enumerate(DEMO_SOURCES):
            specs.append({"source_name": source, "created_ago": day * DAY - index * 600 + rng.randint(0, 300),
                          "duration": rng.randint(60, 1800), "outcome": _history_outcome(rng), "launcher": "sweep"})
        specs.append({"unique_name": REFRESH, "created_ago": day * DAY - 4 * HOUR, "duration": rng.randint(300, 2400),
                      "outcome": _history_outcome(rng), "launcher": "sweep"})
        if day % 3 == 0:
            for source in ("Active Directory", "ServiceNow"):
                specs.append({"source_name": source, "unique_name": GROUPS, "created_ago": day * DAY - 2 * HOUR,
                              "duration": rng.randint(60, 900), "outcome": _history_outcome(rng), "launcher": "sweep"})
    for spec in specs:
        spec["id"] = _id(rng)
        spec.setdefault("launcher", ADMIN_IDENTITY_ID)
    return specs


def bulk(tasks=None) -> list:
    """``tasks`` tasks (default 1000) over the past 80 days, mostly finished, a few pending, seeded."""
    count = 1000 if tasks is None else tasks
    rng = random.Random(8080)
    pending = min(count, 3 + count // 1000)
    specs = []
    for index in range(count):
        kind = rng.choices((ACCOUNTS, GROUPS, REFRESH, "Cloud Process Uncorrelated Accounts", "Account Deletion"),
                           (70, 15, 10, 3, 2))[0]
        spec = {"id": _id(rng), "unique_name": kind, "source_name": rng.choice(BULK_SOURCES),
                "launcher": rng.choice(("sweep", "sweep", ADMIN_IDENTITY_ID))}
        if index < pending:
            if index % 2:
                spec.update(outcome="STUCK", created_ago=rng.randint(2 * HOUR, 3 * DAY), duration=rng.randint(60, 3600))
            else:
                spec.update(created_ago=rng.randint(0, HOUR), duration=rng.randint(6 * HOUR, 12 * HOUR))
        else:
            spec.update(created_ago=rng.uniform(2 * HOUR, 80 * DAY), duration=rng.randint(30, 3600),
                        outcome=_history_outcome(rng))
        specs.append(spec)
    return specs


SCENARIOS = {"empty": empty, "demo": demo, "bulk": bulk}


def sources_of(scenario: str) -> list:
    """The sources of a scenario as specs (id = stable_id("source", name), as the tasks of the scenario use).

    ``empty`` and ``demo`` have the six demo sources and the delimited-file source; ``bulk`` has its twenty sources
    and the delimited-file source. See docs/simulator.md for their ids.
    """
    if scenario == "bulk":
        specs = [{"name": name, "duration": 10 + index % 7 * 5} for index, name in enumerate(BULK_SOURCES)]
    else:
        specs = [{"name": name, "duration": duration, "outcome": outcome}
                 for name, (duration, outcome) in _DEMO_SOURCE_FACTS.items()]
    specs.append({"name": CSV_SOURCE, "kind": "delimited-file", "duration": 5})
    return specs
