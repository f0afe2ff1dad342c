# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""source_aggregation against the simulated tenant: every API version, both kinds, several sources, each
when_running choice, check mode, lost answers, the 403 hint, the file upload, and waits that succeed, fail and
time out."""

from __future__ import annotations

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.identitynow.tasks.plugins.modules import source_aggregation

VERSIONS = ("v2026", "v2025", "v2024", "beta", "v1")
API = dict(client_id="sim-api-client", client_secret="sim-api-secret")
FAST = dict(wait_sleep=0.2, wait_sleep_max=0.4)
RECOMMENDED = ["ERROR", "TERMINATED", "TEMPERROR"]
OVERLAP = "currently running aggregation must complete"


@pytest.fixture
def ids(sim):
    """Source ids by name; the aggregations of every source take 0.5 s, and the race window is 0.3 s."""
    sim.settings(race_window=0.3)
    for source in sim.sources():
        sim.add_source(**dict(source, duration=0.5))
    return dict((s["name"], s["id"]) for s in sim.sources())


@pytest.fixture
def warned(monkeypatch):
    """The texts the module passed to module.warn(), whatever the process's warning machinery does with them
    (once controller code such as ansible.errors is imported, they no longer reach the result)."""
    texts = []
    original = AnsibleModule.warn

    def spy(self, warning):
        texts.append(warning)
        return original(self, warning)

    monkeypatch.setattr(AnsibleModule, "warn", spy)
    return texts


def starts(sim):
    return [e for e in sim.log() if e["method"] == "POST" and "/load-" in e["path"]]


def lists(sim):
    return [e for e in sim.log() if e["method"] == "GET"]


def run_long(sim, source_id, seconds=600, name="Cloud Account Aggregation"):
    """A running aggregation of the source, started outside the module."""
    return sim.add_task(source_id=source_id, source_name="x", unique_name=name, duration=seconds)["id"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["accounts", "entitlements"])
def test_start_and_wait_on_every_version(run_module, sim, ids, version, kind):
    source = ids["Active Directory"]
    result = run_module(source_aggregation, source_id=source, kind=kind, api_version=version, wait=True,
                        fail_on_status=RECOMMENDED, **FAST)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is True
    entry, = result["aggregations"]
    assert entry["decision"] == "started" and entry["kind"] == kind and entry["running_task_ids"] == []
    assert result["task_ids"] == [entry["task_id"]]
    name = "Cloud Account Aggregation" if kind == "accounts" else "Cloud Group Aggregation"
    assert entry["task"]["id"] == entry["task_id"] and entry["task"]["uniqueName"] == name
    assert entry["task"]["completionStatus"] == "SUCCESS" and entry["task"]["completed"]
    assert result["summary"]["by_status"]["SUCCESS"] == 1 and result["timed_out"] is False
    posted, = starts(sim)
    segment = "load-accounts" if kind == "accounts" else "load-entitlements"
    expected = ("/sources/v1/%s/%s" if version == "v1" else "/" + version + "/sources/%s/%s") % (source, segment)
    assert (posted["path"], posted["status"], posted["version"]) == (expected, 202, version)


def test_several_sources_cost_one_find_one_start_each_and_one_list_per_round(run_module, sim, ids):
    sources = [ids[name] for name in ("Active Directory", "Okta", "ServiceNow", "SAP ERP")]
    result = run_module(source_aggregation, source_id=sources + [sources[0]], wait=True, **FAST)
    assert not result.get("failed"), result["msg"]
    assert [e["source_id"] for e in result["aggregations"]] == sources  # duplicates ignored, order kept
    assert len(set(result["task_ids"])) == 4
    assert [e["path"].split("/")[3] for e in starts(sim)] == sources
    listed = lists(sim)
    # One read of what runs, then one list request per poll round (the ids of all four tasks at once).
    assert listed[0]["query"]["filters"].startswith("sourceId in (") and "completionStatus isnull" in \
        listed[0]["query"]["filters"]
    assert "type" not in listed[0]["query"]["filters"]
    assert len(listed) == 1 + 1 + result["polls"]
    assert all(e["query"]["filters"].startswith("id in (") for e in listed[1:])
    assert not [e for e in sim.log() if e["status"] == 429]


def test_reuse_reports_the_running_task_and_starts_nothing(run_module, sim, ids):
    running = run_long(sim, ids["Okta"])
    result = run_module(source_aggregation, source_id=[ids["Okta"], ids["Workday"]], when_running="reuse")
    okta, workday = result["aggregations"]
    assert okta["decision"] == "reused" and okta["task_id"] == running and okta["running_task_ids"] == [running]
    assert workday["decision"] == "started"
    assert [e["path"].split("/")[3] for e in starts(sim)] == [ids["Workday"]]
    assert result["changed"] is True
    alone = run_module(source_aggregation, source_id=ids["Okta"], when_running="reuse")
    assert alone["changed"] is False and alone["task_ids"] == [running]


def test_reuse_is_per_kind(run_module, sim, ids):
    run_long(sim, ids["Okta"], name="Cloud Group Aggregation")
    result = run_module(source_aggregation, source_id=ids["Okta"], when_running="reuse")
    assert result["aggregations"][0]["decision"] == "started" and len(starts(sim)) == 1


def test_wait_then_start_waits_for_the_running_one_first(run_module, sim, ids):
    running = sim.add_task(source_id=ids["Okta"], source_name="Okta", duration=1)["id"]
    result = run_module(source_aggregation, source_id=ids["Okta"], wait=True, fail_on_status=RECOMMENDED, **FAST)
    assert not result.get("failed"), result["msg"]
    entry, = result["aggregations"]
    assert entry["decision"] == "waited_then_started" and entry["running_task_ids"] == [running]
    assert entry["task_id"] != running and entry["task"]["completionStatus"] == "SUCCESS"
    # The start came only after the running task had its completionStatus: no overlap message.
    assert OVERLAP not in str(entry["task"]["messages"])
    posted, = starts(sim)
    polls_of_running = [e["seq"] for e in lists(sim) if running in e["query"].get("filters", "")]
    assert polls_of_running and posted["seq"] > max(polls_of_running)


def test_wait_then_start_gives_up_at_wait_timeout_on_the_busy_source_only(run_module, sim, ids):
    run_long(sim, ids["Okta"])
    result = run_module(source_aggregation, source_id=[ids["Okta"], ids["Workday"]], wait_timeout=1, wait=True,
                        **FAST)
    assert result["failed"] and "nothing was started on the source(s) with a running aggregation" in result["msg"]
    assert ids["Okta"] in result["msg"] and "timed out" in result["msg"]
    okta, workday = result["aggregations"]
    assert okta["decision"] == "skipped" and okta["task_id"] is None and "did not end in time" in okta["error"]
    # The free source did not wait for the busy one: it was started first, and is reported.
    assert workday["decision"] == "started" and workday["task"]["id"] == workday["task_id"]
    assert [e["path"].split("/")[3] for e in starts(sim)] == [ids["Workday"]] and result["changed"] is True


def test_start_anyway_warns_and_isc_fails_the_new_task(run_module, sim, ids, warned):
    running = run_long(sim, ids["Okta"])
    result = run_module(source_aggregation, source_id=ids["Okta"], when_running="start", wait=True,
                        fail_on_status=RECOMMENDED, **FAST)
    assert result["failed"] and "ERROR" in result["msg"] and OVERLAP in result["msg"]
    entry, = result["aggregations"]
    assert entry["decision"] == "started" and entry["running_task_ids"] == [running]
    assert any("when_running: start" in w for w in warned)
    assert result["failed_tasks"][0]["id"] == entry["task_id"]


def test_check_mode_reads_and_starts_nothing(run_module, sim, ids):
    running = run_long(sim, ids["Okta"])
    result = run_module(source_aggregation, check_mode=True, source_id=[ids["Okta"], ids["Workday"]], wait=True)
    assert result["changed"] is True
    decisions = [(e["decision"], e["task_id"]) for e in result["aggregations"]]
    assert decisions == [("waited_then_started", None), ("started", None)]
    assert starts(sim) == [] and len(lists(sim)) == 1
    reuse = run_module(source_aggregation, check_mode=True, source_id=ids["Okta"], when_running="reuse")
    assert reuse["changed"] is False and reuse["task_ids"] == [running]


@pytest.mark.parametrize("version", ["v2026", "beta"])
def test_lost_answer_of_an_applied_start_is_found_not_repeated(run_module, sim, ids, version, warned):
    sim.add_fault("drop", method="POST", path="/load-accounts", apply=True)
    result = run_module(source_aggregation, source_id=ids["Okta"], api_version=version, wait=True, **FAST)
    assert not result.get("failed"), result["msg"]
    entry, = result["aggregations"]
    assert entry["recovered"] is True and entry["task"]["completionStatus"] == "SUCCESS"
    assert len(starts(sim)) == 1
    created = [t for t in sim.tasks() if t["target"] and t["target"]["id"] == ids["Okta"]]
    assert [t["id"] for t in created] == [entry["task_id"]]
    assert any("was lost" in w for w in warned)


def test_lost_answer_of_an_older_task_is_not_taken_for_ours(run_module, sim, ids):
    old = sim.add_task(source_id=ids["Okta"], source_name="Okta", duration=1, created_ago=600)["id"]
    running = run_long(sim, ids["Okta"])
    sim.add_fault("status", status=502, method="POST", path="/load-accounts")
    result = run_module(source_aggregation, source_id=ids["Okta"], when_running="start")
    assert result["failed"] and "probably not started" in result["msg"] and "never started twice" in result["msg"]
    assert old not in result["msg"] and result["aggregations"][0]["task_id"] is None
    assert running in result["aggregations"][0]["running_task_ids"]
    assert len(starts(sim)) == 1 and result["changed"] is False


@pytest.mark.parametrize("kind,retry_after", [("status", None), ("rate_storm", 1)])
def test_429_and_503_are_retried_once_nothing_was_started(run_module, sim, ids, kind, retry_after):
    rule = dict(method="POST", path="/load-accounts")
    if kind == "status":
        rule["status"] = 503
    else:
        rule["retry_after"] = retry_after
    sim.add_fault(kind, **rule)
    result = run_module(source_aggregation, source_id=ids["Okta"])
    assert not result.get("failed"), result["msg"]
    assert [e["status"] for e in starts(sim)] == [503 if kind == "status" else 429, 202]
    assert len([t for t in sim.tasks() if t["target"] and t["target"]["id"] == ids["Okta"]]) == 1


def test_api_client_on_entitlements_gets_the_pat_hint_and_stops_early(run_module, sim, ids):
    result = run_module(source_aggregation, source_id=[ids["Okta"], ids["Workday"], ids["SAP ERP"]],
                        kind="entitlements", **API)
    assert result["failed"] and result["status"] == 403
    assert "personal access token" in result["hint"] and "idn:entitlement:manage" in result["hint"]
    assert [e["decision"] for e in result["aggregations"]] == ["failed", "skipped", "skipped"]
    assert len(starts(sim)) == 1 and result["changed"] is False


def test_api_client_may_start_account_aggregations_but_not_on_beta(run_module, sim, ids):
    assert not run_module(source_aggregation, source_id=ids["Okta"], **API).get("failed")
    result = run_module(source_aggregation, source_id=ids["Workday"], api_version="beta", **API)
    assert result["failed"] and result["status"] == 403 and "beta load-accounts" in result["hint"]


def test_unknown_source_fails_with_a_hint_and_the_others_start(run_module, sim, ids):
    result = run_module(source_aggregation, source_id=["0" * 32, ids["Okta"]], wait=True, **FAST)
    assert result["failed"] and result["status"] == 404 and "not its name" in result["hint"]
    assert [e["decision"] for e in result["aggregations"]] == ["failed", "started"]
    assert result["changed"] is True and "1 of 2" in result["msg"]
    # The run has failed: it does not wait, and reports the started task as read back.
    assert "polls" not in result and result["aggregations"][1]["task"]["uniqueName"] == "Cloud Account Aggregation"


def test_file_upload_to_a_delimited_file_source(run_module, sim, ids, tmp_path):
    csv = tmp_path / "hr.csv"
    csv.write_text("id,name\n1,Ada Lovelace\n")
    source = ids["HR Import (CSV)"]
    missing = run_module(source_aggregation, source_id=source)
    assert missing["failed"] and missing["status"] == 400 and "CSV file" in missing["msg"]
    result = run_module(source_aggregation, source_id=source, file=str(csv), disable_optimization=True, wait=True,
                        **FAST)
    assert not result.get("failed"), result["msg"]
    groups = run_module(source_aggregation, source_id=source, kind="entitlements", file=str(csv))
    assert not groups.get("failed"), groups["msg"]
    assert [e["status"] for e in starts(sim)] == [400, 202, 202]


@pytest.mark.parametrize("disable", [True, False])
def test_disable_optimization_is_sent_as_a_string(run_module, sim, ids, disable):
    result = run_module(source_aggregation, source_id=ids["Okta"], api_version="beta", disable_optimization=disable)
    assert not result.get("failed"), result["msg"]  # beta accepts only the strings 'true' and 'false'


@pytest.mark.parametrize("options,message", [
    (dict(source_id=[]), "at least one source"),
    (dict(source_id=["a", " "]), "empty values"),
    (dict(source_id=["a"], kind="entitlements", disable_optimization=True), "account aggregations only"),
    (dict(source_id=["a", "b"], file="/etc/hostname"), "exactly one source_id"),
    (dict(source_id=["a"], file="/nonexistent/file.csv"), "cannot be read"),
    (dict(source_id=["a"], wait_timeout="soon"), "wait_timeout"),
])
def test_bad_input_fails_before_any_request(run_module, sim, options, message):
    result = run_module(source_aggregation, **options)
    assert result["failed"] and message in result["msg"]
    assert sim.log() == []


def test_wait_fails_on_the_failed_task_with_its_messages(run_module, sim, ids):
    result = run_module(source_aggregation, source_id=[ids["Salesforce"], ids["Okta"]], wait=True,
                        fail_on_status=RECOMMENDED, **FAST)
    assert result["failed"] and "fail_on_status" in result["msg"] and "Salesforce" in result["msg"]
    assert [t["id"] for t in result["failed_tasks"]] == [result["aggregations"][0]["task_id"]]
    assert result["changed"] is True


def test_wait_times_out_naming_the_unfinished_task(run_module, sim, ids):
    sim.add_source(id=ids["SAP ERP"], name="SAP ERP", duration=600)
    result = run_module(source_aggregation, source_id=ids["SAP ERP"], wait=True, wait_timeout=1, **FAST)
    assert result["failed"] and result["timed_out"] is True and "timed out" in result["msg"]
    assert result["unfinished"][0]["id"] == result["task_ids"][0]


def test_epoch_millisecond_answers_are_read(run_module, sim, ids):
    sim.settings(aggregation_timestamps="epoch_ms")
    for kind in ("accounts", "entitlements"):
        result = run_module(source_aggregation, source_id=ids["Okta"], kind=kind, wait=True, **FAST)
        assert not result.get("failed"), result["msg"]


def test_no_secret_in_the_result(run_module, sim, ids):
    result = run_module(source_aggregation, source_id=["0" * 32], kind="entitlements", **API)
    assert "sim-api-secret" not in str(result)
