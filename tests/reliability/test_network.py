# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A hostile network or server, through real ansible-playbook runs (issue 12; docs/reliability.md).

The hostile servers are scripted servers on 127.0.0.1 (tests/support/scripted_server.py): redirects to
another origin, answers that never come or trickle, bodies beyond the size limit, answers of the wrong
shape, a certificate for another host. Each run is scanned for secrets like every run of the suite,
including the credentials used here.
"""

from __future__ import annotations

import re
import time
import zlib

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.tests.reliability.conftest import PAT
from ansible_collections.identitynow.tasks.tests.reliability.helpers import info, stuck, update
from ansible_collections.identitynow.tasks.tests.support.scripted_server import (
    Action, ScriptedServer, redirect, reply, slow, streamed)
from ansible_collections.identitynow.tasks.tests.support.tls_server import TlsProxy, make_ca

CLIENT = {"client_id": "net-client-4c1d", "client_secret": "net-secret-7f3a9c21e5"}
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuZXQifQ.c2lnbmF0dXJlLW9mLW5ldA"
TASKS = "/v2026/task-status"
MIB = 1024 * 1024
CRASH = re.compile(r"\b(RecursionError|TypeError|AttributeError|KeyError|ValueError|UnicodeError|IndexError|"
                   r"JSONDecodeError|OverflowError)\b")


@pytest.fixture
def hostile():
    """hostile(*script, **options) -> a ScriptedServer on 127.0.0.1, closed after the test."""
    servers = []

    def start(*script, **options):
        server = ScriptedServer(script, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def scanned(server):
    """The secrets of a run against server: the client secret and token used, and every token it issued."""
    return [CLIENT["client_secret"], TOKEN] + server.tokens


def assert_no_crash(run):
    """No Python exception escaped the collection's code (ANSIBLE_DISPLAY_TRACEBACK shows the stack of every
    fail_json too, so a traceback as such proves nothing)."""
    text = run.out + run.err
    assert "MODULE FAILURE" not in text
    assert not CRASH.search(text), CRASH.search(text).group(0)


@pytest.fixture
def task_record(sim):
    """A real TaskStatus (read from the simulated tenant), stuck pending."""
    task = stuck(sim)[0]
    client = IscClient(sim.url, PAT["client_id"], PAT["client_secret"], rate_limit=0)
    try:
        return client.get_task(task["id"])
    finally:
        client.session.close()


# ===================================================================================== 1. redirects
def test_a_redirect_of_the_token_request_sends_the_secret_nowhere(play, hostile):
    elsewhere = hostile()
    server = hostile(token_script=[redirect(307, elsewhere.url + "/oauth/token?next=/steal")])
    run = play.run([info("get", id="0" * 32)], connection=dict(base_url=server.url, max_retries=3, **CLIENT),
                   secrets=scanned(server))
    result = run.failed("get")
    assert result["status"] == 307 and "redirect to %s" % elsewhere.url in result["msg"]
    assert "steal" not in result["msg"] and "base_url" in result["hint"]
    assert not elsewhere.requests and len(server.token_requests) == 1 and not server.api_requests


def test_a_redirected_patch_is_sent_once_and_never_elsewhere(play, hostile, task_record):
    elsewhere = hostile()
    task_id = task_record["id"]

    def route(request):
        if request.method == "PATCH":
            return redirect(308, elsewhere.url + request.path)
        if request.path == TASKS:
            return reply(200, [task_record], {"X-Total-Count": "1"})
        if request.path == TASKS + "/" + task_id:
            return reply(200, task_record)
        return None

    server = hostile(route=route)
    run = play.run([update("clear", id=task_id, completion_status="ERROR")],
                   connection=dict(base_url=server.url, **CLIENT), secrets=scanned(server))
    result = run.failed("clear")
    assert result["status"] == 308 and "redirect to %s" % elsewhere.url in result["msg"]
    assert [r.method for r in server.api_requests].count("PATCH") == 1
    assert not elsewhere.requests


# ===================================================================================== 2. deadlines
def test_wait_timeout_bounds_a_server_that_never_answers(play, hostile):
    server = hostile(route=lambda request: slow(60, 200, []) if request.path == TASKS else None)
    started = time.monotonic()
    run = play.run([info("wait", ids=["a" * 32], wait=True, wait_timeout=3)],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    took = time.monotonic() - started
    result = run.failed("wait")
    assert result["elapsed"] <= 3 + 1.0, result
    assert "time budget" in result["msg"] or "within" in result["msg"], result["msg"]
    assert took < 3 + 20, took  # the module's 3 s, plus the start-up of ansible-playbook; not 60 s


def test_a_trickled_answer_ends_at_timeout(play, hostile):
    trickle = streamed((b" " for dummy in range(10000)), chunk_delay=0.1)
    server = hostile(trickle)
    run = play.run([info("get", id="b" * 32, timeout=2, max_retries=0)],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    result = run.failed("get")
    assert "did not send its whole answer within 2 s" in result["msg"]
    assert server.streamed < 60  # about 20 bytes in 2 s, not 10000 s of them


# ========================================================================================= 3. size
def test_an_answer_beyond_the_size_limit_fails_clearly(play, hostile):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join([compressor.compress(b" " * MIB) for dummy in range(256)] + [compressor.flush()])
    server = hostile(Action(raw_body=bomb, headers={"Content-Encoding": "gzip"}),
                     streamed(b"[" + b" " * MIB for dummy in range(100)))
    run = play.run([info("bomb", id="c" * 32, max_retries=0), info("endless", id="c" * 32, max_retries=0)],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    for name in ("bomb", "endless"):
        assert "more than 32 MiB" in run.failed(name)["msg"]


# ======================================================================================== 4. shape
def test_answers_of_the_wrong_shape_fail_each_task_not_the_run(play, hostile, task_record):
    ids = [task_record["id"][:-1] + c for c in "123"]
    records = {i: dict(task_record, id=i) for i in ids}
    answers = {ids[0]: reply(200, dict(records[ids[0]], completionStatus="ERROR")),
               ids[1]: reply(200, ["not", "a", "task"]),
               ids[2]: Action(raw_body=b"[" * 50000 + b"]" * 50000)}

    def route(request):
        if request.path == TASKS:
            return reply(200, list(records.values()), {"X-Total-Count": "3"})
        task_id = request.path.rpartition("/")[2]
        if request.method == "PATCH":
            return answers[task_id]
        if task_id in records:
            return reply(200, records[task_id])
        return None

    server = hostile(route=route)
    run = play.run([update("bulk", ids=ids, completion_status="ERROR")],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    result = run.result("bulk")
    assert [entry["id"] for entry in result["tasks"]] == ids
    outcomes = dict((entry["id"], entry["outcome"]) for entry in result["tasks"])
    assert outcomes[ids[0]] == "changed" and outcomes[ids[1]] != "changed" and outcomes[ids[2]] != "changed"
    assert_no_crash(run)
    assert [r.method for r in server.api_requests].count("PATCH") == 3  # each sent once


def test_a_page_of_the_wrong_shape_fails_with_what_came(play, hostile):
    server = hostile(reply(200, {"items": []}), reply(200, [{"name": "no id"}], {"X-Total-Count": "\u00b2"}),
                     reply(200, [], {"X-Total-Count": "1\u0661".encode("utf-8").decode("latin-1")}))
    run = play.run([info("object", pending=True), info("no id", pending=True), info("count", pending=True, count=True)],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    assert "a JSON object with keys 'items', where a JSON list of tasks was expected" in run.failed("object")["msg"]
    assert "X-Total-Count" in run.failed("no id")["msg"] or "string id" in run.failed("no id")["msg"]
    assert "ASCII digits" in run.failed("count")["msg"]
    assert_no_crash(run)


# ====================================================================================== 5. paging
def test_a_list_endpoint_that_ignores_offset_ends_the_listing(play, hostile, task_record):
    page = [dict(task_record, id="%032x" % i) for i in range(250)]
    server = hostile(route=lambda request: reply(200, page, {"X-Total-Count": "100000"})
                     if request.path == TASKS else None)
    run = play.run([info("list", pending=True, max_results=100000)],
                   connection=dict(base_url=server.url, access_token=TOKEN), secrets=scanned(server))
    assert "no progress" in run.failed("list")["msg"]
    assert len(server.api_requests) == 2


# ==================================================================================== 7. secrets
@pytest.mark.parametrize("option,value", [("access_token", TOKEN + "\n"), ("client_secret", "net-secret-7f3a9c21e5\r\n")])
def test_a_credential_with_a_newline_is_refused_and_never_printed(play, hostile, option, value):
    server = hostile()
    connection = dict(base_url=server.url, **({option: value} if option == "access_token" else
                                              dict(CLIENT, client_secret=value)))
    run = play.run([info("get", id="d" * 32)], connection=connection,
                   secrets=scanned(server) + [repr(value)[1:-1], value.strip()])
    result = run.failed("get")
    assert option in result["msg"] and "not shown" in result["msg"]
    assert not server.requests


# ================================================================================= 8. clear text
def test_http_to_another_host_needs_the_opt_in_and_then_warns(play, hostile, task_record):
    proxy = hostile(route=lambda request: reply(200, task_record) if request.path.startswith(TASKS) else None)
    env = dict(HTTP_PROXY=proxy.url, http_proxy=proxy.url, NO_PROXY="", no_proxy="")
    connection = dict(base_url="http://tenant.example.com", access_token=TOKEN)
    run = play.run([info("refused", id=task_record["id"]),
                    info("allowed", id=task_record["id"], allow_insecure_http=True)],
                   connection=connection, env=env, secrets=scanned(proxy))
    refused = run.failed("refused")
    assert "clear text" in refused["msg"] and "allow_insecure_http" in refused["msg"]
    allowed = run.ok("allowed")
    assert any("allow_insecure_http is true" in w and "http://tenant.example.com" in w for w in allowed["warnings"])
    assert proxy.proxied == ["http://tenant.example.com%s/%s" % (TASKS, task_record["id"])]  # only the allowed run


# ================================================================== 9. what is retried, and why it failed
def test_a_certificate_for_another_host_fails_once_with_its_reason(play, sim, tmp_path):
    ca, cert, key = make_ca(tmp_path, "tenant")
    proxy = TlsProxy(sim.port, cert, key)
    try:
        run = play.run([info("get", id="e" * 32, max_retries=3)],
                       connection=dict(base_url="https://localhost:%d" % proxy.port, ca_path=ca, **PAT))
        end = time.monotonic() + 2
        while not proxy.handshake_failures and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        proxy.close()
    result = run.failed("get")
    assert "certificate verify failed: hostname mismatch" in result["msg"] and "ca_path" in result["hint"]
    assert proxy.handshake_failures == 1 and "retries" not in result["msg"]


def test_connection_refused_names_its_reason(play, hostile):
    server = hostile()
    url = server.url
    server.close()
    run = play.run([info("get", id="f" * 32, max_retries=1)], connection=dict(base_url=url, access_token=TOKEN))
    assert "connection refused" in run.failed("get")["msg"].lower()


# ========================================================================= issue 14: the wrong base_url
def test_a_base_url_with_an_api_path_and_a_refused_client_id_point_at_the_cause(play, sim, hostile):
    gateway = hostile(route=lambda request: reply(404, {"error": "Not Found"}) if request.path.startswith("/v3/")
                      else None)
    run = play.run([info("v3", id="0" * 32, base_url=gateway.url + "/v3"),
                    info("refused", id="0" * 32, client_secret="wrong-secret-9f3c2a71")],
                   env=dict(SAIL_CLIENT_ID=PAT["client_id"]),
                   connection=dict(base_url=play.sim_server.url, client_secret=PAT["client_secret"]))
    v3 = run.failed("v3")
    assert v3["status"] == 404 and v3["url"] == gateway.url + "/v3/oauth/token"
    assert "API gateway root" in v3["hint"] and "No such task" not in v3["msg"]
    refused = run.failed("refused")
    assert refused["status"] == 401 and "'%s'" % PAT["client_id"] in refused["hint"]
    assert "SAIL_CLIENT_ID" in refused["hint"] and "expired" not in refused["hint"]
