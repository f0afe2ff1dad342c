# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Protocol details: multipart token requests, Allow headers, methods nobody serves, 415 without Content-Type."""

from __future__ import annotations

import http.client
import json

import pytest

BOUNDARY = "sim-test-boundary-7d1f"


def multipart(fields: dict) -> bytes:
    lines = []
    for name, value in fields.items():
        lines += ["--" + BOUNDARY, 'Content-Disposition: form-data; name="%s"' % name, "", value]
    return ("\r\n".join(lines + ["--" + BOUNDARY + "--", ""])).encode("utf-8")


def test_token_request_as_multipart_form_data(sim):
    body = multipart({"grant_type": "client_credentials", "client_id": "sim-pat-client",
                      "client_secret": "sim-pat-secret"})
    response = sim.request("POST", "/oauth/token", body=body,
                           headers={"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    assert response.status == 200
    token = response.json()["access_token"]
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200
    wrong = multipart({"grant_type": "client_credentials", "client_id": "sim-pat-client", "client_secret": "nope"})
    response = sim.request("POST", "/oauth/token", body=wrong,
                           headers={"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
    assert response.status == 401 and response.json()["error"] == "invalid_client"


def test_token_request_multipart_without_boundary_is_400(sim):
    response = sim.request("POST", "/oauth/token", body=b"grant_type=client_credentials",
                           headers={"Content-Type": "multipart/form-data"})
    assert response.status == 400
    assert "boundary" in response.json()["error_description"]


@pytest.mark.parametrize("version", ["beta", "v2024", "v2025"])
@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_pending_tasks_allows_get_and_head(sim, version, method):
    response = sim.request(method, "/%s/task-status/pending-tasks" % version, token=sim.token(),
                           headers={"Content-Type": "application/json-patch+json"}, body=b"[]")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json()["detailCode"] == "405 Method Not Allowed"


@pytest.mark.parametrize("method,path,allowed", [
    ("TRACE", "/v2026/task-status", "GET"),
    ("TRACE", "/oauth/token", "POST"),
    ("BREW", "/v2026/task-status/x", "GET, PATCH"),
    ("TRACE", "/nowhere", "GET, HEAD, PATCH, POST"),
    ("CONNECT", "127.0.0.1:443", "GET, HEAD, PATCH, POST"),
])
def test_methods_nobody_serves_get_405_json(sim_server, sim, method, path, allowed):
    connection = http.client.HTTPConnection("127.0.0.1", sim_server.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", "127.0.0.1")
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 405
    assert response.getheader("Allow") == allowed
    assert response.getheader("Content-Type").startswith("application/json")
    payload = json.loads(body)
    assert payload["detailCode"] == "405 Method Not Allowed" and method in payload["messages"][0]["text"]


def test_malformed_request_line_gets_a_json_error(sim_server):
    with __import__("socket").create_connection(("127.0.0.1", sim_server.port), timeout=10) as raw:
        raw.sendall(b"GET /v2026/task-status HTTP/9.x\r\n\r\n")
        answer = raw.recv(65536)
    head, dummy, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"application/json" in head and b"<html" not in body.lower()
    assert json.loads(body)["detailCode"].startswith("400")


def test_patch_without_content_type_says_so(sim):
    sim.add_task(id="n" * 32, outcome="STUCK")
    response = sim.request("PATCH", "/v2026/task-status/" + "n" * 32, token=sim.token(),
                           body=b'[{"op":"replace","path":"/completionStatus","value":"ERROR"}]')
    assert response.status == 415
    text = response.json()["messages"][0]["text"]
    assert "no Content-Type" in text and "application/json-patch+json" in text
