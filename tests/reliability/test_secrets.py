# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Secret hygiene and TLS, through real ansible-playbook runs at -vvvv.

Every run of the suite is scanned (conftest.py): its stdout and stderr, the log_path file, the retry
files, the local and remote temp dirs, HOME, TMPDIR and any file a role writes must not hold a client
secret or any access token the simulator issued. The tests here make sure the scan meets every kind of
run: each module and option that carries a secret, failing runs, a module traceback, and the roles.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from ansible_collections.identitynow.tasks.tests.reliability.conftest import API_CLIENT, PAT, leaks
from ansible_collections.identitynow.tasks.tests.reliability.helpers import info, stuck, token_requests, update
from ansible_collections.identitynow.tasks.tests.support.tls_server import TlsProxy, make_ca

MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_scan_finds_a_secret_where_it_is(tmp_path):
    """The scanner itself: a secret in output or in any file is found, inputs are skipped."""
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "playbook.yml").write_text("client_secret: sim-pat-secret")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "cache.bin").write_bytes(b"\x00token=abcdefgh12345\x00")
    found = leaks([("stdout", "ok"), ("stderr", "sim-pat-secret")], str(tmp_path),
                  ["sim-pat-secret", "abcdefgh12345"], str(tmp_path / "input"))
    assert sorted(found) == [(os.path.join("deep", "er", "cache.bin"), "abcde..."), ("stderr", "sim-p...")]


def test_every_module_and_credential_option_at_vvvv(play, sim):
    task, other = stuck(sim, count=2)
    token = sim.token("pat")
    with_token = dict(base_url=play.sim_server.url, access_token=token)
    api = dict(base_url=play.sim_server.url, **API_CLIENT)
    tasks = [
        info("get", id=task["id"]),
        info("list", pending=True, count=True),
        info("wait", id=task["id"], wait=True, wait_timeout=1, wait_sleep=0.3),        # fails: times out
        info("missing", id="0" * 32, fail_on_missing=True),                             # fails: not found
        update("check", id=task["id"], completion_status="ERROR"),
        update("clear", id=task["id"], completion_status="ERROR"),
        update("refused", id=task["id"], completion_status="SUCCESS"),                  # fails: finished
        dict(update("token option", id=other["id"], completion_status="ERROR", **with_token)),
        dict(update("api client", id=other["id"], completion_status="SUCCESS", allow_finished=True,
                    **api)),                                                             # fails: 403
        info("token get", id=other["id"], **with_token),
    ]
    tasks[4]["check_mode"] = True
    tasks[4]["diff"] = True
    run = play.run(tasks)
    for name in ("get", "list", "check", "clear", "token option", "token get"):
        run.ok(name)
    for name in ("wait", "missing", "refused"):
        run.failed(name)
    assert run.failed("api client")["status"] == 403
    # -vvvv shows every invocation, with the secrets masked; the scan (conftest.py) found none of them.
    assert run.out.count(MASK) >= len(tasks)
    assert len(token_requests(sim)) >= 3  # the PAT run, the sim.token() above and the API client


def test_secrets_from_the_environment_at_vvvv(play, sim):
    task = stuck(sim)[0]
    env = dict(SAIL_BASE_URL=play.sim_server.url, SAIL_CLIENT_ID=PAT["client_id"],
               SAIL_CLIENT_SECRET=PAT["client_secret"])
    run = play.run([info("get", id=task["id"]), update("clear", id=task["id"], completion_status="ERROR",
                                                       client_secret="wrong-secret-9f3c2a71")],
                   connection={}, env=env)
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]
    assert run.failed("clear")["status"] == 401


def test_environment_token_at_vvvv(play, sim):
    task = stuck(sim)[0]
    env = dict(SAIL_BASE_URL=play.sim_server.url, SAIL_ACCESS_TOKEN=sim.token("pat"))
    run = play.run([info("get", id=task["id"])], connection={}, env=env)
    assert run.ok("get")["task_statuses"][0]["id"] == task["id"]


CRASH = textwrap.dedent('''\
    """Test only: makes the HTTP layer of an Ansible module raise, naming the token, after it was fetched."""
    import os
    import sys

    if os.path.basename(sys.argv[0] if sys.argv else "").startswith("AnsiballZ_"):
        import requests

        _request = requests.Session.request

        def _crash(self, method, url, *args, **kwargs):
            if "/oauth/token" in url:
                return _request(self, method, url, *args, **kwargs)
            raise RuntimeError("injected crash in the HTTP layer, Authorization %s" % kwargs["headers"]["Authorization"])

        requests.Session.request = _crash
    ''')


def test_a_module_traceback_at_vvvv(play, sim, tmp_path):
    task = stuck(sim)[0]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CRASH)
    run = play.run([info("get", id=task["id"]), update("clear", id=task["id"], completion_status="ERROR")],
                   env=dict(PYTHONPATH=str(site)))
    for name in ("get", "clear"):
        result = run.failed(name)
        # The client turns whatever the HTTP layer raises into an IscError, the token in its text redacted.
        assert "request to ISC failed: RuntimeError: injected crash" in result["msg"], result["msg"]
        assert "Authorization Bearer ********" in result["msg"]
        assert "Traceback" in result["exception"], result["exception"]
    assert "injected crash" in run.out + run.err
    assert len(token_requests(sim)) == 2  # each module had its token when it crashed


ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


@pytest.mark.skipif(not os.path.isdir(ROLES), reason="the collection has no roles")
def test_every_role_at_vvvv(play, sim):
    sim.settings(race_window=0)
    old = stuck(sim, created_ago=8 * 3600)[0]
    short = sim.add_task(outcome="SUCCESS", duration=2)
    roles = sorted(name for name in os.listdir(ROLES) if os.path.isdir(os.path.join(ROLES, name)))
    report = os.path.join(str(play.tmp_path), "report.md")
    variables = {
        "clear_pending_tasks": dict(clear_pending_tasks_older_than="6h"),
        "task_report": dict(task_report_hours=24, task_report_file=report),
        "wait_for_aggregation": dict(wait_for_aggregation_task_ids=[short["id"]], wait_for_aggregation_timeout=60,
                                     wait_for_aggregation_poll_interval=1),
    }
    tasks = [{"name": "role %s" % name, "ansible.builtin.include_role": {"name": "identitynow.tasks.%s" % name},
              "vars": variables.get(name, {})} for name in roles]
    play_options = dict(play={"ignore_errors": True})
    run = play.run(tasks, **play_options)
    ran = [e["task"] for e in run.results]
    assert len(ran) > len(roles), "the roles ran no task: %s\n%s" % (ran, run.out[-3000:])
    assert token_requests(sim), "no role task reached the tenant"
    assert old["id"] in run.out


# -------------------------------------------------------------------------------------------- TLS
@pytest.fixture
def https_tenant(sim_server, tmp_path):
    tenant = make_ca(tmp_path, "tenant")
    other = make_ca(tmp_path, "other")
    proxy = TlsProxy(sim_server.port, tenant[1], tenant[2])
    yield proxy, tenant[0], other[0]
    proxy.close()


def test_tls_is_verified_by_default_and_turning_it_off_warns(play, sim, https_tenant):
    proxy, ca, other_ca = https_tenant
    task = stuck(sim)[0]
    connection = dict(base_url=proxy.url, max_retries=0, **PAT)
    run = play.run([info("default", id=task["id"]), info("ca_path", id=task["id"], ca_path=ca),
                    info("off", id=task["id"], validate_certs=False)], connection=connection)
    default = run.failed("default")
    assert "SSLError" in default["msg"] and "base_url" in default["hint"]
    assert run.ok("ca_path")["task_statuses"][0]["id"] == task["id"]
    off = run.ok("off")
    assert off["task_statuses"][0]["id"] == task["id"]
    assert any("validate_certs is false" in w for w in off["warnings"])
    assert "[WARNING]: validate_certs is false" in " ".join((run.out + run.err).split())


def test_tls_settings_win_over_a_ca_bundle_in_the_environment(play, sim, https_tenant):
    proxy, ca, other_ca = https_tenant
    task = stuck(sim)[0]
    connection = dict(base_url=proxy.url, max_retries=0, **PAT)
    run = play.run([info("ca_path", id=task["id"], ca_path=ca), info("off", id=task["id"], validate_certs=False),
                    info("default", id=task["id"])],
                   connection=connection, env=dict(REQUESTS_CA_BUNDLE=other_ca))
    assert run.ok("ca_path")["task_statuses"][0]["id"] == task["id"]
    assert run.ok("off")["task_statuses"][0]["id"] == task["id"]
    assert "SSLError" in run.failed("default")["msg"]
