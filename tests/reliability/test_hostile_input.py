# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hostile and bad input: filter values, ids, invalid option combinations, raw patches.

What the server received is read back from the simulator's request log and its own filter tokenizer
and router, never from what the collection meant to send.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from isc_sim import SimControl
from isc_sim.api import route
from isc_sim.filters import tokenize

from ansible.module_utils.testing import patch_module_args

from ansible_collections.identitynow.tasks.plugins.module_utils import task_query
from ansible_collections.identitynow.tasks.plugins.modules import task_status, task_status_info
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.tests.reliability.helpers import api_log, info, state, stuck, update

SPECIAL = st.sampled_from(list('\\"%#&?=+;/ ()\',.*')
                          + ["%23", "%25", "%26", "%2F", "..", "\\\"", "é", "✓", "\U0001F600", "\t", "\u202e", "\x00",
                             " or ", " and "])
HOSTILE = st.one_of(st.text(min_size=1, max_size=40),
                    st.lists(st.one_of(SPECIAL, st.text(max_size=3)), min_size=1, max_size=15).map("".join),
                    st.text(min_size=1, max_size=5).map(lambda s: s * 700))
OPTION_FIELDS = {"source_ids": ("sourceId", "source_id"), "launchers": ("launcher", "launcher")}
ATTACKS = ['a"b\\c%d#e&f', "%2523", "\\", '"', 'x") or id in ("', "x" * 3000 + "#%&", "ΑΒΓ-ünï-数据-\U0001F600",
           "tab\there", "a,b", "*", "not (x)"]


def decoys_for(value):
    """Values that a wrong escaping, a double decoding or a prefix match would confuse with value."""
    candidates = [value + "x", "x" + value, value[:-1], value[1:], value.replace("%", "%25"), value.replace("\\", ""),
                  value.replace('"', ""), value.replace("#", "%23"), value.replace("&", "%26")]
    return list(dict.fromkeys(c for c in candidates if c.strip() and c.strip().lower() != value.lower()))


def filter_strings(entry):
    """The string values of the filter the server received (the simulator's own tokenizer)."""
    return [t.text for t in tokenize(entry["query"]["filters"]) if t.kind == "string"]


# ------------------------------------------------------------------------------ property: the filter
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=HOSTILE.filter(lambda v: v.strip()), option=st.sampled_from(sorted(OPTION_FIELDS)))
@example(value=ATTACKS[0], option="source_ids")
@example(value=ATTACKS[4], option="launchers")
@example(value=ATTACKS[5], option="source_ids")
def test_option_values_reach_the_server_exactly(sim_server, value, option):
    """Through the module's own option handling (build_query), the server gets exactly the value, no other."""
    control = SimControl(sim_server.url)
    control.reset("empty", rate_limit=0)
    wanted = value.strip()  # list options are stripped of surrounding whitespace, as documented
    field, spec_key = OPTION_FIELDS[option]
    target = control.add_task(**{spec_key: wanted, "source_name": "target"})["id"]
    for decoy in decoys_for(wanted):
        control.add_task(**{spec_key: decoy.strip(), "source_name": "decoy"})
    client = IscClient(sim_server.url, client_id="sim-pat-client", client_secret="sim-pat-secret", rate_limit=0)
    try:
        query = task_query.build_query({option: [value]})
        outcome = task_query.run(client, query)
    finally:
        client.session.close()
    assert [r["id"] for r in outcome.result["task_statuses"]] == [target]
    lists = [e for e in control.log() if e["path"] == "/v2026/task-status"]
    assert len(lists) == 1 and lists[0]["status"] == 200
    assert [t.text for t in tokenize(lists[0]["query"]["filters"]) if t.kind == "word"] == [field, "eq"]
    assert filter_strings(lists[0]) == [wanted]


def test_hostile_filter_values_through_ansible_playbook(play, sim):
    sim.settings(rate_limit=0)
    targets = {}
    for value in ATTACKS:
        targets[value] = sim.add_task(source_id=value, source_name="target")["id"]
        for decoy in decoys_for(value):
            if decoy.lower() not in [a.lower() for a in ATTACKS]:
                sim.add_task(source_id=decoy, source_name="decoy")
    task = info("by source", source_ids=["{{ item }}"], rate_limit=0)
    task["loop"] = ATTACKS
    run = play.run([task])
    results = run.ok("by source")["results"]
    assert [r["item"] for r in results] == ATTACKS
    for result in results:
        assert [t["id"] for t in result["task_statuses"]] == [targets[result["item"]]], result["item"]
    received = [filter_strings(e) for e in api_log(sim, "GET", "/v2026/task-status")]
    assert received == [[value] for value in ATTACKS]


# ------------------------------------------------------------------------------------------- ids
HOSTILE_IDS = ["../../v2026/task-status", "a/b", "x/../pending-tasks", "?filters=id isnull", "#fragment", "a b",
               "%2e%2e", "%2F", "id?count=true#x", "...", " spaced ", "pending-tasks/x", "\u202e", "é/..", "a%00b"]
REFUSED_IDS = ["..", ".", "pending-tasks"]


def test_hostile_ids_reach_no_other_endpoint(play, sim):
    # Tasks exist, pending and finished: reaching a list endpoint by mistake would return some of them.
    stuck(sim, count=3)
    sim.add_tasks({"outcome": "SUCCESS", "created_ago": 600, "duration": 5, "count": 3})
    one = update("update one", id="{{ item }}", completion_status="ERROR")
    one["loop"] = HOSTILE_IDS + REFUSED_IDS
    run = play.run([info("info many", ids=HOSTILE_IDS), update("update many", ids=HOSTILE_IDS,
                                                               completion_status="ERROR"), one])
    assert run.ok("info many")["missing"] == [i.strip() for i in HOSTILE_IDS]
    assert run.ok("info many")["task_statuses"] == []
    assert run.failed("update many")["summary"]["not_found"] == len(HOSTILE_IDS)
    results = run.failed("update one")["results"]
    assert [r["item"] for r in results] == HOSTILE_IDS + REFUSED_IDS
    for result in results[:len(HOSTILE_IDS)]:
        assert result["outcome"] == "not_found" and result["task"] is None, result["item"]
    for result in results[len(HOSTILE_IDS):]:
        assert "another endpoint" in result["msg"], result["item"]
    log = api_log(sim)
    assert not [e for e in log if e["method"] != "GET"], "a PATCH was sent"
    seen = set()
    for entry in log:
        target = route(entry["method"], entry["path"])
        assert target is not None and target.version == "v2026", entry
        if target.kind == "item":
            seen.add(target.task_id)
        else:
            assert target.kind == "list", entry
            seen.update(filter_strings(entry))
            assert [t.text for t in tokenize(entry["query"]["filters"]) if t.kind == "word"] == ["id", "in"]
        assert set(entry["query"]) <= {"limit", "offset", "count", "filters"}, entry
    assert seen == {i.strip() for i in HOSTILE_IDS}
    assert all(t["completionStatus"] is None for t in sim.tasks() if t["_sim"]["outcome"] == "STUCK")


# --------------------------------------------------------------------------- invalid combinations
INFO_CASES = [
    (dict(id="a", ids=["b"]), ["id", "ids"]),
    (dict(id="a", source_ids=["s"]), ["id", "source_ids"]),
    (dict(ids=["a"], completion_status=["ERROR"]), ["ids", "completion_status"]),
    (dict(id="a", pending=True), ["id", "pending"]),
    (dict(completion_status=["ERROR"], pending=True), ["completion_status", "pending"]),
    (dict(filters='id eq "a"', source_ids=["s"]), ["filters", "source_ids"]),
    (dict(created_before="2025-01-01", older_than="6h"), ["created_before", "older_than"]),
    (dict(created_after="2025-02-01", created_before="2025-01-01"), ["created_after", "created_before"]),
    (dict(page_size=0), ["page_size"]),
    (dict(page_size=251), ["page_size"]),
    (dict(max_results=-1), ["max_results"]),
    (dict(wait=True, wait_timeout=0), ["wait_timeout"]),
    (dict(wait_sleep=-1), ["wait_sleep"]),
    (dict(fields=["id", "secret"]), ["fields"]),
    (dict(sorters="name"), ["sorters"]),
    (dict(completion_status=["DONE"]), ["completion_status"]),
    (dict(fail_on_status=["DONE"]), ["fail_on_status"]),
    (dict(types=["NOT_A_TYPE"]), ["types"]),
    (dict(launchers=["x"], api_version="v2025"), ["launchers"]),
    (dict(pending=True, source_ids=["s"], api_version="v2024"), ["pending", "source_ids"]),
    (dict(older_than="soon"), ["older_than"]),
    (dict(created_after="yesterday-ish"), ["created_after"]),
    (dict(source_ids=[""]), ["source_ids"]),
    (dict(filters=" "), ["filters"]),
    (dict(api_version="v3"), ["api_version"]),
    (dict(id="a", tenant="acme"), ["base_url", "tenant"]),
    (dict(id="a", base_url=None, tenant="acme/evil"), ["tenant"]),
    (dict(id="a", base_url="ftp://x"), ["base_url"]),
    (dict(id="a", client_secret=None, client_id="only-id"), ["client_secret"]),
    (dict(id="a", timeout=0), ["timeout"]),
    (dict(id="a", max_retries=-1), ["max_retries"]),
    (dict(id="a", rate_limit_window=0), ["rate_limit_window"]),
]
UPDATE_CASES = [
    (dict(completion_status="ERROR"), ["id", "ids"]),
    (dict(id="a"), ["completion_status", "completed", "patch"]),
    (dict(id="a", ids=["b"]), ["id", "ids"]),
    (dict(id="a", completion_status="ERROR", patch=[{"op": "replace", "path": "/completed", "value": "now"}]),
     ["patch", "completion_status"]),
    (dict(id="a", completion_status="FINISHED"), ["completion_status"]),
    (dict(id="a", completed="last tuesday"), ["completed"]),
    (dict(id="a", completion_status="ERROR", fail_on=["never"]), ["fail_on"]),
    (dict(ids=[], completion_status="ERROR"), ["ids"]),
    (dict(id="a", patch=[]), ["patch"]),
    (dict(id="a", patch=[{"op": "delete", "path": "/completionStatus"}]), ["patch[0]", "op"]),
    (dict(id="a", patch=[{"op": "replace", "path": "completionStatus", "value": "ERROR"}]), ["patch[0]", "path"]),
    (dict(id="a", patch=[{"op": "replace", "path": "/completionStatus", "value": None}]), ["patch[0]", "value"]),
    (dict(id="a", patch=[{"op": "replace", "path": "/completionStatus", "value": "DONE"}]), ["patch[0]"]),
    (dict(id="a", patch=[{"op": "test", "path": "/id", "value": "a", "from": "/x"}]), ["patch[0]", "from"]),
    (dict(id="a", completion_status="ERROR", api_version="v9"), ["api_version"]),
    (dict(id="a", completion_status="ERROR", base_url="https://x", tenant="y"), ["base_url", "tenant"]),
    (dict(id="a", completion_status="ERROR", client_id=None, client_secret="lonely-secret"), ["client_id"]),
]


def run_module(module, capsys, options):
    """The module's own main() in this process, as Ansible would run it; its JSON result."""
    capsys.readouterr()
    with patch_module_args(options):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("module,options,names", [(task_status_info, o, n) for o, n in INFO_CASES]
                         + [(task_status, o, n) for o, n in UPDATE_CASES])
def test_every_invalid_option_combination_names_the_option(sim, capsys, monkeypatch, module, options, names):
    for variable in ("SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_ACCESS_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    stuck(sim)
    args = dict(dict(base_url=sim.url, client_id="sim-pat-client", client_secret="sim-pat-secret"), **options)
    result = run_module(module, capsys, dict((k, v) for k, v in args.items() if v is not None))
    assert result.get("failed") is True, result
    for name in names:
        assert name in result["msg"], (name, result["msg"])
    assert sim.log() == [], "bad input reached the tenant"


# ------------------------------------------------------------------------------------- raw patch
OTHER_PATHS = [
    [{"op": "replace", "path": "/description", "value": "x"}],
    [{"op": "add", "path": "/attributes/appId", "value": "x"}],
    [{"op": "remove", "path": "/messages"}],
    [{"op": "move", "from": "/completionStatus", "path": "/progress"}],
    [{"op": "move", "from": "/progress", "path": "/completionStatus"}],
    [{"op": "copy", "from": "/id", "path": "/launcher"}],
    [{"op": "replace", "path": "/completionStatus", "value": "ERROR"}, {"op": "replace", "path": "/id", "value": "x"}],
]


def test_raw_patch_on_other_fields_is_refused_before_sending(play, sim):
    task = stuck(sim)[0]
    tasks = [update("patch %d" % i, id=task["id"], patch=patch) for i, patch in enumerate(OTHER_PATHS)]
    tasks.append(update("allowed", id=task["id"], patch=OTHER_PATHS[0], allow_other_paths=True))
    tasks.append(update("test any path", id=task["id"],
                        patch=[{"op": "test", "path": "/type", "value": "QUARTZ"},
                               {"op": "replace", "path": "/completionStatus", "value": "error"}]))
    run = play.run(tasks)
    for index in range(len(OTHER_PATHS)):
        message = run.failed("patch %d" % index)["msg"]
        assert "may only change /completionStatus and /completed" in message and "allow_other_paths" in message
    allowed = run.failed("allowed")  # sent, because allowed; the tenant refuses it with its own details
    assert allowed["status"] == 400 and allowed["detail_code"] and "/description" in allowed["msg"]
    assert run.ok("test any path")["task"]["completionStatus"] == "ERROR"
    patches = api_log(sim, "PATCH")
    assert [e["status"] for e in patches] == [400, 200]
    assert state(sim, task["id"])["description"] == task["description"]
