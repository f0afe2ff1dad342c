# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Starting aggregations: load-accounts and load-entitlements of every generation, checked against the schemas of
the 202 bodies, the task each start creates, and the documented refusals."""

from __future__ import annotations

import json
import re
from datetime import datetime

import jsonschema
import pytest

from isc_sim import ERROR_RESPONSE_SCHEMA, LOAD_ACCOUNTS_SCHEMA, LOAD_ENTITLEMENTS_SCHEMA
from isc_sim.aggregations import OVERLAP_TEXT

PATHS = {
    ("accounts", "beta"): "/beta/sources/%s/load-accounts",
    ("accounts", "v2024"): "/v2024/sources/%s/load-accounts",
    ("accounts", "v2025"): "/v2025/sources/%s/load-accounts",
    ("accounts", "v2026"): "/v2026/sources/%s/load-accounts",
    ("accounts", "v1"): "/sources/v1/%s/load-accounts",
    ("entitlements", "beta"): "/beta/sources/%s/load-entitlements",
    ("entitlements", "v2024"): "/v2024/sources/%s/load-entitlements",
    ("entitlements", "v2025"): "/v2025/sources/%s/load-entitlements",
    ("entitlements", "v2026"): "/v2026/sources/%s/load-entitlements",
    ("entitlements", "v1"): "/sources/v1/%s/load-entitlements",
}
STATUS_PATHS = {"beta": "/beta/task-status/", "v2024": "/v2024/task-status/", "v2025": "/v2025/task-status/",
                "v2026": "/v2026/task-status/", "v1": "/task-status/v1/"}
BOUNDARY = "agg-test-boundary-41c9"


def _is_date_time(value) -> bool:
    """RFC 3339 date-time, checked without the optional extras of jsonschema."""
    if not isinstance(value, str):
        return True
    if not re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def validator(path):
    with open(path, encoding="utf-8") as handle:
        schema = json.load(handle)
    checker = jsonschema.FormatChecker()
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


SCHEMAS = {"accounts": validator(LOAD_ACCOUNTS_SCHEMA), "entitlements": validator(LOAD_ENTITLEMENTS_SCHEMA),
           "error": validator(ERROR_RESPONSE_SCHEMA)}


def check(kind, body):
    errors = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message) for e in SCHEMAS[kind].iter_errors(body)]
    assert not errors, "%s body does not match its schema: %s" % (kind, "; ".join(errors))
    return body


def multipart(fields=None, file=None):
    parts = []
    for name, value in (fields or {}).items():
        parts.append('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (BOUNDARY, name, value))
    if file is not None:
        parts.append('--%s\r\nContent-Disposition: form-data; name="file"; filename="accounts.csv"\r\n'
                     'Content-Type: text/csv\r\n\r\n%s\r\n' % (BOUNDARY, file))
    body = ("".join(parts) + "--%s--\r\n" % BOUNDARY).encode("utf-8")
    return body, {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY}


def start(sim, operation, version, source_id, token=None, body=None, headers=None):
    return sim.request("POST", PATHS[operation, version] % source_id, token=token or sim.token(), body=body,
                       headers=headers)


def task_id_of(operation, body):
    return body["task"]["id"] if operation == "accounts" else body["id"]


def status(sim, version, task_id):
    response = sim.request("GET", STATUS_PATHS[version] + task_id, token=sim.token())
    assert response.status == 200, response
    return response.json()


def error_text(response, status_code):
    assert response.status == status_code, response
    check("error", response.json())
    return response.json()["messages"][0]["text"]


@pytest.fixture
def ad(sim):
    source = sim.source("Active Directory")
    sim.add_source(id=source["id"], name=source["name"], duration=10)
    return source["id"]


def test_scenarios_name_their_sources(sim):
    sources = {s["name"]: s for s in sim.sources()}
    assert {"Active Directory", "Workday", "ServiceNow", "Salesforce", "Okta", "SAP ERP", "HR Import (CSV)"} <= set(sources)
    assert sources["HR Import (CSV)"]["kind"] == "delimited-file" and sources["Okta"]["kind"] == "direct"
    assert sources["Salesforce"]["outcome"] == "ERROR"
    # The ids are those the scenario's tasks carry, so history and new starts line up.
    sim.reset("demo")
    demo_ids = {task["target"]["id"] for task in sim.tasks() if task["target"]}
    assert {s["id"] for s in sim.sources() if s["kind"] == "direct"} <= demo_ids
    sim.reset("bulk", tasks=10)
    assert len(sim.sources()) == 21


@pytest.mark.parametrize("operation,version", sorted(PATHS))
def test_start_on_every_generation_creates_a_task_that_runs_on_the_clock(
        sim, ad, assert_task_status, operation, version):
    response = start(sim, operation, version, ad)
    assert response.status == 202, response
    assert response.headers["Content-Type"].startswith("application/json")
    body = check(operation, response.json())
    task_id = task_id_of(operation, body)
    if operation == "accounts":
        assert body["success"] is True and body["task"]["name"] == "Cloud Account Aggregation"
        assert body["task"]["attributes"] == {"appId": ad, "optimizedAggregation": "enabled"}
        assert body["task"]["completionStatus"] is None and body["task"]["completed"] is None
        assert len(body["task"]["returns"]) == 28
        assert body["task"]["returns"][4] == {"displayLabel": "TASK_OUT_UNCHANGED_ACCOUNTS", "attributeName": "optimized"}
    else:
        assert body["uniqueName"] == "Cloud Group Aggregation"
        assert set(body) == {"id", "type", "uniqueName", "description", "launcher", "created", "returns"}
        assert [r["attributeName"] for r in body["returns"]] == ["applications", "total", "groupsCreated",
                                                                 "groupsUpdated", "groupsDeleted"]
    record = assert_task_status(status(sim, "v2026", task_id))
    name = "Cloud Account Aggregation" if operation == "accounts" else "Cloud Group Aggregation"
    assert record["uniqueName"] == name and record["taskDefinitionSummary"]["uniqueName"] == name
    assert record["target"]["id"] == ad and record["attributes"]["appId"] == ad
    assert record["launched"] is not None and record["completionStatus"] is None
    # Visible by source with completionStatus isnull, as a client finds a running aggregation.
    running = sim.request("GET", "/v2026/task-status", {"filters": 'sourceId eq "%s" and completionStatus isnull' % ad},
                          token=sim.token()).json()
    assert [r["id"] for r in running] == [task_id]
    sim.advance(10)
    finishing = status(sim, version, task_id)
    assert finishing["completed"] is not None and finishing["completionStatus"] is None  # the two-step completion
    sim.advance(2)
    done = assert_task_status(status(sim, version, task_id))
    assert done["completionStatus"] == "SUCCESS" and done["percentComplete"] == 100
    log = [entry for entry in sim.log() if entry["method"] == "POST" and "/load-" in entry["path"]]
    assert [(entry["status"], entry["version"], entry["client"]) for entry in log] == [(202, version, "sim-pat-client")]


def test_a_second_start_while_one_runs_fails_with_the_documented_message(sim, ad, assert_task_status):
    first = task_id_of("accounts", start(sim, "accounts", "v2026", ad).json())
    second_body = check("accounts", start(sim, "accounts", "v2026", ad).json())
    second = second_body["task"]["id"]
    assert second != first
    # Another kind on the same source is not an overlap.
    groups = task_id_of("entitlements", start(sim, "entitlements", "v2026", ad).json())
    sim.advance(3)
    failed = assert_task_status(status(sim, "v2026", second))
    assert failed["completionStatus"] == "ERROR"
    assert [m["localizedText"]["message"] for m in failed["messages"]][-1] == OVERLAP_TEXT
    assert status(sim, "v2026", first)["completionStatus"] is None
    assert status(sim, "v2026", groups)["completionStatus"] is None
    sim.advance(10)
    assert status(sim, "v2026", first)["completionStatus"] == "SUCCESS"
    # Once nothing runs, a start is a normal one again.
    third = task_id_of("accounts", start(sim, "accounts", "v2026", ad).json())
    sim.advance(12)
    assert status(sim, "v2026", third)["completionStatus"] == "SUCCESS"


def test_a_stuck_scenario_task_counts_as_running(sim):
    sim.reset("demo")
    sap = sim.source("SAP ERP")["id"]
    task_id = task_id_of("accounts", start(sim, "accounts", "v2026", sap).json())
    sim.advance(3)
    assert status(sim, "v2026", task_id)["completionStatus"] == "ERROR"


@pytest.mark.parametrize("operation,version", [("entitlements", v) for v in ("beta", "v2024", "v2025", "v2026", "v1")]
                         + [("accounts", "beta")])
def test_api_client_token_gets_403_where_only_user_tokens_are_accepted(sim, ad, operation, version):
    response = start(sim, operation, version, ad, token=sim.token("api"))
    text = error_text(response, 403)
    assert "user context" in text and "personal access token" in text
    assert not [t for t in sim.tasks() if t["target"] and t["target"]["id"] == ad]


@pytest.mark.parametrize("version", ["v2024", "v2025", "v2026", "v1"])
def test_api_client_may_start_account_aggregations_outside_beta(sim, ad, version):
    assert start(sim, "accounts", version, ad, token=sim.token("api")).status == 202


@pytest.mark.parametrize("operation", ["accounts", "entitlements"])
def test_unknown_source_is_404(sim, operation):
    text = error_text(start(sim, operation, "v2026", "0" * 32), 404)
    assert "0" * 32 in text
    assert sim.tasks() == []


def test_delimited_file_source_needs_the_file(sim):
    csv_source = sim.source("HR Import (CSV)")["id"]
    assert "CSV file" in error_text(start(sim, "accounts", "v2026", csv_source), 400)
    body, headers = multipart({"disableOptimization": "true"})
    assert "CSV file" in error_text(start(sim, "accounts", "v2026", csv_source, body=body, headers=headers), 400)
    body, headers = multipart({"disableOptimization": "true"}, file="id,name\n1,Ada\n")
    response = start(sim, "accounts", "v2026", csv_source, body=body, headers=headers)
    assert response.status == 202
    assert check("accounts", response.json())["task"]["attributes"]["optimizedAggregation"] == "disabled"
    body, headers = multipart(file="group,description\nadmins,Admins\n")
    assert start(sim, "entitlements", "v1", csv_source, body=body, headers=headers).status == 202


@pytest.mark.parametrize("operation", ["accounts", "entitlements"])
def test_multipart_content_type_without_a_body_is_500(sim, ad, operation):
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=" + BOUNDARY):
        response = start(sim, operation, "v1", ad, headers={"Content-Type": content_type})
        assert error_text(response, 500) == "An internal fault occurred."
    assert sim.tasks() == []
    # No body and no Content-Type is what a direct-connect source takes.
    assert start(sim, operation, "v1", ad).status == 202


def test_request_body_shapes_per_generation(sim, ad):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # beta load-accounts also takes urlencoded, with disableOptimization limited to 'true'/'false'.
    response = start(sim, "accounts", "beta", ad, body="disableOptimization=true", headers=form)
    assert response.status == 202 and response.json()["task"]["attributes"]["optimizedAggregation"] == "disabled"
    sim.advance(20)
    assert "'true' or 'false'" in error_text(start(sim, "accounts", "beta", ad, body="disableOptimization=yes",
                                                   headers=form), 400)
    body, headers = multipart({"disableOptimization": "TRUE"})
    assert "'true' or 'false'" in error_text(start(sim, "accounts", "beta", ad, body=body, headers=headers), 400)
    # Elsewhere it is a free string (true, any case, disables optimization) and urlencoded is refused.
    response = start(sim, "accounts", "v2025", ad, body=body, headers=headers)
    assert response.status == 202 and response.json()["task"]["attributes"]["optimizedAggregation"] == "disabled"
    sim.advance(20)
    assert "multipart/form-data" in error_text(start(sim, "accounts", "v2026", ad, body="disableOptimization=true",
                                                     headers=form), 400)
    assert "multipart/form-data" in error_text(start(sim, "entitlements", "beta", ad, body="x=1", headers=form), 400)
    assert error_text(start(sim, "accounts", "v2026", ad, body=b"{}", headers={"Content-Type": "application/json"}),
                      415)
    broken = {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY}
    assert "cannot be read" in error_text(start(sim, "accounts", "v2026", ad, body=b"no parts here", headers=broken), 400)


def test_the_schema_rejects_the_documented_hour_42_example():
    example = {"success": True, "task": {"id": "x", "created": "2020-09-07T42:14:00.364Z"}}
    assert [e.validator for e in SCHEMAS["accounts"].iter_errors(example)] == ["format"]


def test_epoch_millisecond_timestamps_as_seen_live(sim, ad):
    sim.settings(aggregation_timestamps="epoch_ms")
    body = start(sim, "accounts", "beta", ad).json()
    assert isinstance(body["task"]["created"], int) and isinstance(body["task"]["launched"], int)
    assert list(SCHEMAS["accounts"].iter_errors(body))  # the live form breaks the documented schema
    groups = start(sim, "entitlements", "v2026", ad).json()
    assert isinstance(groups["created"], int)
    record = status(sim, "v2026", body["task"]["id"])
    assert record["created"].endswith("Z")  # task-status keeps ISO strings


@pytest.mark.parametrize("path", ["/v3/sources/%s/load-accounts", "/v2026/sources/%s/load-roles",
                                  "/sources/v2/%s/load-accounts", "/v2026/sources/%s/load-accounts/x"])
def test_paths_that_do_not_exist(sim, ad, path):
    assert sim.request("POST", path % ad, token=sim.token()).status == 404


def test_only_post(sim, ad):
    response = sim.request("GET", PATHS["accounts", "v2026"] % ad, token=sim.token())
    assert response.status == 405 and response.headers["Allow"] == "POST"
    assert sim.request("POST", PATHS["accounts", "v2026"] % ad).status == 401


def test_starts_count_against_the_rate_limit(sim, ad):
    sim.settings(rate_limit=2)
    token = sim.token()
    assert start(sim, "accounts", "v2026", ad, token=token).status == 202
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200
    response = start(sim, "accounts", "v2026", ad, token=token)
    assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
    assert len(sim.tasks()) == 1


def test_source_control_api_validates(sim):
    added = sim.add_source(name="Lab LDAP", duration=1, outcome="warning")
    assert added["kind"] == "direct" and added["outcome"] == "WARNING" and len(added["id"]) == 32
    assert sim.source("Lab LDAP") == added
    for bad in ({"duration": 1}, {"name": "x", "kind": "csv"}, {"name": "x", "outcome": "MAYBE"},
                {"name": "x", "duration": -1}, {"name": "x", "colour": "red"}):
        response = sim.request("POST", "/__sim__/sources", body={"sources": [bad]})
        assert response.status == 400, bad
