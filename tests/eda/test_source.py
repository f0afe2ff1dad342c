# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""main(queue, args) of the event source against the simulated tenant: events, faults, errors, state file."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest

from conftest import ListQueue, run_until, sim_args

EVENT_KEYS = {"transition", "task_id", "task_name", "source_id", "source_name", "completion_status", "messages",
              "event_key", "task"}
SECRET = "sim-pat-secret"


def _no_worker_left(timeout=5.0):
    """Wait until the worker threads of earlier sources have ended (a stopped source sends nothing more, but a
    request already under way finishes): they must not reach the simulator of the next test."""
    deadline = time.monotonic() + timeout
    while any(t.name == "identitynow.tasks.task_status" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a worker thread of a stopped source is still running"
        time.sleep(0.02)


def pairs(events):
    return [(e["transition"], e["task_id"]) for e in events]


def has(*wanted):
    return lambda events: all(w in pairs(events) for w in wanted)


def api_requests(sim):
    return [entry for entry in sim.log() if entry["path"].startswith("/v2026/")]


@pytest.fixture(autouse=True)
def _logs(caplog, monkeypatch):
    for name in ("SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _no_worker_left()
    caplog.set_level(logging.DEBUG)
    yield
    text = caplog.text
    assert SECRET not in text, "the client secret was logged"
    assert "Traceback" not in text and not any(r.exc_info for r in caplog.records), "a traceback was logged"


def test_events_of_a_failing_aggregation_have_the_documented_shape(source_module, sim, sim_server, assert_task_status):
    sim.settings(race_window=0.3)
    done = sim.add_task(outcome="ERROR", duration=60, created_ago=600, source_name="Workday")
    running = sim.add_task(outcome="ERROR", duration=1, source_name="Workday")
    queue = asyncio.run(run_until(source_module, sim_args(sim_server.url, start="1h"),
                                  has(("finished", done["id"]), ("finished", running["id"]))))
    assert pairs(queue.events)[:2] in ([("started", done["id"]), ("finished", done["id"])],
                                       [("started", running["id"]), ("started", done["id"])])
    assert len(queue.events) == 4
    for event in queue.events:
        assert set(event) == EVENT_KEYS
        assert_task_status(event["task"])
        assert event["event_key"] == "%s:%s" % (event["task_id"], event["transition"])
        assert event["task_name"] == "Cloud Account Aggregation"
        assert event["source_name"] == "Workday [source]" and event["source_id"] == done["target"]["id"]
    finished = [e for e in queue.events if e["transition"] == "finished"]
    assert all(e["completion_status"] == "ERROR" and e["task"]["completed"] for e in finished)
    assert all(m.startswith(("ERROR: ", "WARN: ", "INFO: ")) for e in finished for m in e["messages"])
    assert any(m.startswith("ERROR: ") for e in finished for m in e["messages"])
    assert all(e["completion_status"] is None for e in queue.events if e["transition"] == "started")


def test_start_now_emits_only_what_happens_from_now_on(source_module, sim, sim_server):
    old = sim.add_task(outcome="SUCCESS", duration=10, created_ago=300)
    long = sim.add_task(outcome="WARNING", duration=3600, created_ago=60)

    async def scenario():
        queue = ListQueue()
        task = asyncio.ensure_future(source_module.main(queue, sim_args(sim_server.url)))
        await _until(lambda: len(api_requests(sim)) >= 2)  # the first poll: the baseline
        new = sim.add_task(outcome="SUCCESS", duration=0.2)
        sim.advance(3600)
        await _until(lambda: has(("finished", long["id"]), ("finished", new["id"]))(queue.events))
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return queue, new

    queue, new = asyncio.run(scenario())
    assert pairs(queue.events) == [("finished", long["id"]), ("started", new["id"]), ("finished", new["id"])]
    assert old["id"] not in {e["task_id"] for e in queue.events}


async def _until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_requests_per_poll_and_shared_pacing(source_module, sim, sim_server):
    """Steady state on a quiet tenant: the running list and the newest tasks, two requests per poll; the client
    paces through the file the modules share."""
    sim.add_task(outcome="STUCK", duration=5)

    async def scenario():
        queue = ListQueue()
        task = asyncio.ensure_future(source_module.main(queue, sim_args(sim_server.url, interval=0.1)))
        await _until(lambda: len(api_requests(sim)) >= 20)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    paths = [(e["path"], e["query"].get("filters"), e["query"].get("sorters")) for e in api_requests(sim)][:20]
    assert paths == [("/v2026/task-status", "completionStatus isnull", None),
                     ("/v2026/task-status", None, "-created")] * 10
    made = []
    original = source_module.isc_client.IscClient

    def recording(*args, **kwargs):
        made.append(kwargs)
        return original(*args, **kwargs)

    source_module.isc_client.IscClient = recording
    try:
        source_module.TaskStatusSource(source_module.Config(sim_args(sim_server.url))).make_client()
    finally:
        source_module.isc_client.IscClient = original
    assert made and made[0]["shared_pacing"] is True, "the source must pace through the window the modules share"


def test_source_ids_filter_on_the_server(source_module, sim, sim_server):
    wanted = sim.add_task(source_name="Workday", duration=0.2, outcome="ERROR")
    other = sim.add_task(source_name="Okta", duration=0.2, outcome="ERROR")
    args = sim_args(sim_server.url, start="1h", source_ids=[wanted["target"]["id"]], transitions=["finished"])
    queue = asyncio.run(run_until(source_module, args, has(("finished", wanted["id"]))))
    assert other["id"] not in {e["task_id"] for e in queue.events}
    lists = [e["query"].get("filters") or "" for e in api_requests(sim)]
    lists = [f for f in lists if not f.startswith("id ")]  # the reads by id name the tasks themselves
    assert lists and all(wanted["target"]["id"] in f for f in lists)


@pytest.mark.parametrize("version", ["beta", "v2024", "v1"])
def test_other_api_versions(source_module, sim, sim_server, version):
    """beta and v2024 list finished tasks only: the running ones come from pending-tasks."""
    task = sim.add_task(outcome="TERMINATED", duration=0.5)
    args = sim_args(sim_server.url, start="1h", api_version=version)
    queue = asyncio.run(run_until(source_module, args, has(("finished", task["id"]))))
    assert pairs(queue.events) == [("started", task["id"]), ("finished", task["id"])]
    assert queue.events[1]["completion_status"] == "TERMINATED"


# -- faults ------------------------------------------------------------------------------------------

def test_transient_faults_are_logged_and_survived(source_module, sim, sim_server, caplog):
    """Faults beyond the client's retries fail a poll: it is logged and repeated later, and no event is lost or
    repeated."""
    task = sim.add_task(outcome="ERROR", duration=2)
    for rule in (dict(kind="status", status=503, count=2), dict(kind="drop", count=2), dict(kind="malformed", count=2),
                 dict(kind="html", status=502, count=2), dict(kind="rate_storm", retry_after=1, count=1)):
        sim.add_fault(rule.pop("kind"), **rule)
    sim.expire_tokens()
    args = sim_args(sim_server.url, start="1h", max_retries=1, retry_max_wait=0.5)
    queue = asyncio.run(run_until(source_module, args, has(("finished", task["id"])), timeout=30))
    assert pairs(queue.events) == [("started", task["id"]), ("finished", task["id"])]
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll failed")]
    assert len(failures) >= 4, failures
    assert any("503" in m for m in failures) and any("Retry-After" in m or "429" in m for m in failures)
    assert not sim.faults(), "every fault was consumed"


def test_a_failing_poll_backs_off(source_module, sim, sim_server, caplog):
    sim.add_fault("status", status=500, count=1000)

    async def scenario():
        task = asyncio.ensure_future(source_module.main(ListQueue(), sim_args(sim_server.url, max_retries=0)))
        await asyncio.sleep(2.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    failures = [r for r in caplog.records if r.getMessage().startswith("poll failed")]
    # 0.2 s interval, doubling: 0.2, 0.4, 0.8, 1.6 s -> at most 5 polls in 2.5 s (a busy loop makes hundreds).
    assert 2 <= len(failures) <= 5, [r.getMessage() for r in failures]
    assert all(r.levelno == logging.WARNING for r in failures)


def test_http_runs_off_the_event_loop_and_a_stop_is_prompt(source_module, sim, sim_server):
    """While a request waits (latency fault, then a long Retry-After), the loop keeps running; cancelling the
    source ends it and its worker thread at once."""
    sim.add_fault("latency", seconds=1.0, count=1)
    sim.add_fault("rate_storm", retry_after=100, count=1)

    async def scenario():
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        tick = asyncio.ensure_future(ticker())
        task = asyncio.ensure_future(source_module.main(ListQueue(), sim_args(sim_server.url, retry_max_wait=200)))
        await asyncio.sleep(1.5)
        assert len(ticks) >= 20, "the event loop was blocked"
        stopped = time.monotonic()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        tick.cancel()
        return time.monotonic() - stopped

    assert asyncio.run(scenario()) < 1.0
    deadline = time.monotonic() + 2
    while any(t.name == "identitynow.tasks.task_status" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the worker thread kept sleeping after the stop"
        time.sleep(0.05)


# -- configuration and credential errors ----------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (dict(interval=0.01), "interval must be at least"),
    (dict(bogus=1), "bogus"),
    (dict(transitions=["ended"]), "transitions"),
    (dict(statuses=["FAILED"]), "unknown completion status 'FAILED'"),
    (dict(start="yesterday"), "start must be 'now', a look-back"),
    (dict(client_secret=None, client_id=None), "no credentials"),
    (dict(base_url="ftp://127.0.0.1"), "base_url must start with https://"),
    (dict(api_version="v3"), "api_version"),
    (dict(timeout="soon"), "timeout"),
])
def test_bad_options_end_the_source_with_a_message(source_module, sim_server, options, message):
    args = sim_args(sim_server.url, **options)
    args = dict((k, v) for k, v in args.items() if v is not None)
    with pytest.raises(source_module.ConfigurationError, match="identitynow.tasks.task_status") as info:
        asyncio.run(source_module.main(ListQueue(), args))
    assert message in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("options, status", [
    (dict(client_secret="wrong-secret-0f3a9"), "401"),
    (dict(client_id="sim-api-client", client_secret="wrong-secret-0f3a9"), "401"),
])
def test_bad_credentials_end_the_source_at_once(source_module, sim, sim_server, options, status, caplog):
    started = time.monotonic()
    with pytest.raises(source_module.ConfigurationError) as info:
        asyncio.run(source_module.main(ListQueue(), sim_args(sim_server.url, **options)))
    assert status in str(info.value) and "/oauth/token" in str(info.value)
    assert "wrong-secret-0f3a9" not in str(info.value) + caplog.text
    assert time.monotonic() - started < 5


def test_clear_text_to_another_host_needs_the_opt_in_and_warns(source_module, caplog):
    args = sim_args("http://isc.example.invalid")
    with pytest.raises(source_module.ConfigurationError, match="allow_insecure_http"):
        source_module.Config(args)
    source = source_module.TaskStatusSource(source_module.Config(dict(args, allow_insecure_http=True)))
    source.make_client()  # no request yet
    assert any("cross the network in clear text" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_a_revoked_access_token_ends_the_source(source_module, sim, sim_server):
    token = sim.token()
    sim.expire_tokens()
    args = dict(base_url=sim_server.url, access_token=token, interval=0.2)
    with pytest.raises(source_module.ConfigurationError, match="401") as info:
        asyncio.run(source_module.main(ListQueue(), args))
    assert token not in str(info.value)


def test_the_environment_of_the_awx_credential_type_is_enough(source_module, sim, sim_server, monkeypatch):
    """The injectors of extensions/awx/credential_type.yml (also an EDA controller credential type) are all the
    source needs: no connection option in the rulebook. A blank field injects an empty variable."""
    import yaml

    path = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "credential_type.yml"
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs = dict(base_url=sim_server.url, client_id="sim-pat-client", client_secret=SECRET, access_token="")
    assert sorted(f["id"] for f in definition["inputs"]["fields"]) == sorted(inputs)
    for variable, template in definition["injectors"]["env"].items():
        monkeypatch.setenv(variable, re.sub(r"{{\s*(\w+)\s*}}", lambda m: inputs[m.group(1)], template))
    task = sim.add_task(outcome="SUCCESS", duration=0.2)
    queue = asyncio.run(run_until(source_module, dict(interval=0.2, start="5m"), has(("finished", task["id"]))))
    assert pairs(queue.events) == [("started", task["id"]), ("finished", task["id"])]


# -- state file ------------------------------------------------------------------------------------------

def test_state_file_restart_neither_repeats_nor_misses(source_module, sim, sim_server, tmp_path):
    state = tmp_path / "state.json"
    first = sim.add_task(outcome="SUCCESS", duration=0.2)
    long = sim.add_task(outcome="ERROR", duration=3600)
    args = sim_args(sim_server.url, start="1h", state_file=str(state))
    one = asyncio.run(run_until(source_module, args, has(("finished", first["id"]), ("started", long["id"]))))
    assert sorted(pairs(one.events)) == sorted([("started", first["id"]), ("finished", first["id"]),
                                                ("started", long["id"])])
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    saved = json.loads(state.read_text())
    assert saved["tasks"][long["id"]][1] is False and "secret" not in state.read_text()

    # While the source is down: the long task finishes, a short one starts and finishes.
    sim.advance(3600)
    short = sim.add_task(outcome="WARNING", duration=0.1)
    time.sleep(0.3)
    two = asyncio.run(run_until(source_module, args, has(("finished", long["id"]), ("finished", short["id"]))))
    time.sleep(0.1)
    assert sorted(pairs(two.events)) == sorted([("finished", long["id"]), ("started", short["id"]),
                                                ("finished", short["id"])])
    three = asyncio.run(_quiet(source_module, args))
    assert three.events == [], "a third run repeated %s" % pairs(three.events)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "a temporary file was left behind"


async def _quiet(module, args, seconds=1.0):
    queue = ListQueue()
    task = asyncio.ensure_future(module.main(queue, args))
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return queue


def test_state_file_is_never_written_through_a_symbolic_link(source_module, tmp_path):
    target = tmp_path / "precious"
    target.write_text("keep me")
    link = tmp_path / "state.json"
    link.symlink_to(target)
    with pytest.raises(source_module.ConfigurationError, match="symbolic link"):
        source_module.Config(sim_args("http://127.0.0.1:9", state_file=str(link)))
    # A link put there after the start is replaced, not followed.
    source_module.write_state(str(link), {"version": 1})
    assert target.read_text() == "keep me"
    assert not link.is_symlink() and json.loads(link.read_text()) == {"version": 1}
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o600


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"version": 1, "tenant": "https://other.api.identitynow.com v2026", "cursor": null, "tasks": {}}',
     "belongs to"),
])
def test_a_bad_state_file_ends_the_source(source_module, sim_server, tmp_path, content, message):
    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(source_module.ConfigurationError, match=message):
        asyncio.run(source_module.main(ListQueue(), sim_args(sim_server.url, state_file=str(state))))
    assert state.read_text() == content, "a state file that is not ours is left alone"


def test_a_fifo_or_link_put_at_the_state_file_is_neither_read_nor_followed(source_module, tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(source_module.ConfigurationError, match="not a regular file"):
        source_module.read_state(str(fifo))  # returns at once: no blocking open
    target = tmp_path / "target.json"
    target.write_text('{"version": 1}')
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(source_module.ConfigurationError, match="never followed"):
        source_module.read_state(str(link))


def test_state_file_folder_must_exist(source_module, tmp_path):
    with pytest.raises(source_module.ConfigurationError, match="does not exist"):
        source_module.Config(sim_args("http://127.0.0.1:9", state_file=str(tmp_path / "no" / "state.json")))
