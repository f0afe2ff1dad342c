# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client: pagination (limit, offset, count, duplicates, max_results) and get_tasks_by_ids.

Scripted pages run against a local server (tests/support/scripted_server.py); the rest against the simulated
tenant, checked in its request log.
"""

from __future__ import annotations

import math

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import filters
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.tests.support.common import PAT
from ansible_collections.identitynow.tasks.tests.support.scripted_server import reply


# ====================================================================================== pagination
def page(first, count):
    return [{"id": "task-%03d" % i} for i in range(first, first + count)]


def test_pages_send_limit_offset_and_count_on_every_page(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "7"}), reply(200, page(3, 3)), reply(200, page(6, 1)))
    pages = connect(server.url).list_tasks(filters=filters.eq("sourceId", "ad"), sorters="-created", page_size=3,
                                           count=True)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(7)]
    assert pages.total == 7 and pages.pages == 3
    queries = [r.query for r in server.api_requests]
    assert [(q["limit"], q["offset"]) for q in queries] == [("3", "0"), ("3", "3"), ("3", "6")]
    assert [q.get("count") for q in queries] == ["true", "true", "true"]
    assert all(q["filters"] == 'sourceId eq "ad"' and q["sorters"] == "-created" for q in queries)


def test_default_page_size_is_sent(serve, connect):
    server = serve(reply(200, page(0, 2)))
    assert len(list(connect(server.url).list_tasks())) == 2
    assert server.api_requests[0].query == {"limit": "250", "offset": "0", "count": "true"}


@pytest.mark.parametrize("size", [0, 251, -1])
def test_page_size_is_checked(size):
    client = IscClient("https://a.example.com", access_token="t0ken")
    with pytest.raises(IscError, match="page size"):
        client.list_tasks(page_size=size)
    client.session.close()


def test_duplicates_across_pages_are_dropped(serve, connect):
    server = serve(reply(200, page(0, 3)), reply(200, page(2, 3)), reply(200, page(5, 1)))
    pages = connect(server.url).list_tasks(page_size=3)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(6)]
    assert pages.duplicates == 1


def sim_tasks(sim, count, **spec):
    """count tasks, oldest first, a second apart; returns their ids oldest first."""
    specs = [dict(spec, created_ago=10000 - i, duration=1) for i in range(count)]
    return [t["id"] for t in sim.add_tasks(*specs)] if count else []


def list_calls(sim, path="/v2026/task-status"):
    return [e for e in sim.log() if e["path"] == path]


@pytest.mark.parametrize("total,page_size", [(23, 5), (1, 250), (0, 10), (7, 1), (20, 5), (251, 250)])
def test_number_of_list_calls(sim, total, page_size):
    ids = sim_tasks(sim, total)
    client = IscClient(sim.url, *PAT)
    try:
        got = [r["id"] for r in client.list_tasks(page_size=page_size)]
    finally:
        client.session.close()
    assert got == ids
    calls = list_calls(sim)
    # The counted total ends the listing: never a trailing empty page (one request when there is nothing).
    assert len(calls) == max(1, math.ceil(total / page_size))
    assert all(c["query"]["limit"] == str(page_size) for c in calls)
    assert [int(c["query"]["offset"]) for c in calls] == [page_size * i for i in range(len(calls))]


def test_records_shifting_between_pages_are_not_repeated(sim):
    old = sim_tasks(sim, 25)
    client = IscClient(sim.url, *PAT)
    added = []
    try:
        pages = client.list_tasks(sorters="-created", page_size=10)
        got = []
        for record in pages:
            got.append(record["id"])
            if len(got) == 10 and not added:  # between page 1 and page 2: three new tasks push the rest down
                added = [t["id"] for t in sim.add_tasks({"created_ago": 0}, {"created_ago": 0}, {"created_ago": 0})]
    finally:
        client.session.close()
    assert len(got) == len(set(got))
    assert set(old) <= set(got)
    assert got[:25] == old[::-1]
    assert pages.duplicates == 3  # the shift really happened
    assert all(c["query"]["sorters"] == "-created" for c in list_calls(sim))


def test_max_results_caps_the_listing(sim):
    ids = sim_tasks(sim, 30)
    client = IscClient(sim.url, *PAT)
    try:
        got = [r["id"] for r in client.list_tasks(page_size=10, max_results=15)]
        nothing = list(client.list_tasks(max_results=0))
    finally:
        client.session.close()
    assert got == ids[:15] and nothing == []
    assert len(list_calls(sim)) == 2


def test_count_reports_the_total(sim):
    sim_tasks(sim, 12, source_id="ad-source", source_name="AD")
    sim_tasks(sim, 5, source_id="wd-source", source_name="Workday")
    client = IscClient(sim.url, *PAT)
    try:
        everything = client.list_tasks(page_size=5, count=True, max_results=3)
        assert len(list(everything)) == 3 and everything.total == 17
        ad = client.list_tasks(filters=filters.eq("sourceId", "ad-source"), page_size=5, count=True)
        assert len(list(ad)) == 12 and ad.total == 12
        uncounted = client.list_tasks(page_size=5)
        list(uncounted)
        assert uncounted.total is None
    finally:
        client.session.close()
    # count=true goes on every page (it is how the listing knows where to stop), but .total is only
    # reported when asked for.
    assert all(c["query"].get("count") == "true" for c in list_calls(sim))


# ================================================================================ get_tasks_by_ids
def test_get_tasks_by_ids_one_list_call_per_50_ids(sim):
    ids = sim_tasks(sim, 120)
    missing = ["%032x" % (0xdead0000 + i) for i in range(7)]
    wanted = ids[:60] + missing[:3] + ids[60:] + missing[3:] + ids[:5]  # duplicates too
    client = IscClient(sim.url, *PAT)
    try:
        found = client.get_tasks_by_ids(wanted)
    finally:
        client.session.close()
    assert set(found) == set(ids)
    assert all(found[i]["id"] == i for i in ids)
    calls = list_calls(sim)
    assert len(calls) == math.ceil(127 / 50)
    for call in calls:
        assert call["query"]["filters"].startswith("id in (")
        assert call["status"] == 200


def test_get_tasks_by_ids_single_and_empty(sim):
    ids = sim_tasks(sim, 2)
    client = IscClient(sim.url, *PAT)
    try:
        assert list(client.get_tasks_by_ids([ids[1]])) == [ids[1]]
        assert client.get_tasks_by_ids([]) == {}
    finally:
        client.session.close()
    assert [c["query"]["filters"] for c in list_calls(sim)] == ['id eq "%s"' % ids[1]]


def test_get_tasks_by_ids_reads_pending_tasks_on_beta(sim):
    done = sim_tasks(sim, 3)
    running = sim.add_task(outcome="STUCK")["id"]
    client = IscClient(sim.url, *PAT, api_version="beta")
    try:
        found = client.get_tasks_by_ids(done + [running, "f" * 32])
    finally:
        client.session.close()
    assert set(found) == set(done + [running])
    assert found[running]["completionStatus"] is None
    assert len(list_calls(sim, "/beta/task-status")) == 1
    assert len(list_calls(sim, "/beta/task-status/pending-tasks")) >= 1


def test_pages_stop_at_the_counted_total_without_an_empty_page(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "6"}), reply(200, page(3, 3), {"X-Total-Count": "6"}),
                   reply(200, [], {"X-Total-Count": "6"}))
    pages = connect(server.url).list_tasks(page_size=3)
    assert len(list(pages)) == 6
    assert pages.pages == 2 and len(server.api_requests) == 2


def test_pages_follow_a_total_that_grows_while_reading(serve, connect):
    server = serve(reply(200, page(0, 3), {"X-Total-Count": "6"}), reply(200, page(3, 3), {"X-Total-Count": "7"}),
                   reply(200, page(6, 1), {"X-Total-Count": "7"}))
    pages = connect(server.url).list_tasks(page_size=3)
    assert [r["id"] for r in pages] == ["task-%03d" % i for i in range(7)]
    assert pages.pages == 3
