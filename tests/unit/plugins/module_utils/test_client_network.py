# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ISC client against a hostile server or network (issue 12): redirects, deadlines, size, shape, paging
progress, clear text, what is retried, and the reason every connection error carries.

Hostile servers are scripted servers on 127.0.0.1 (tests/support/scripted_server.py). Bounds in time are
checked with generous slack: they are promises (a trickle ends at timeout), not speed targets.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
import zlib

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import BASE_URL_HINT, REDIRECT_HINT, IscError
from ansible_collections.identitynow.tasks.tests.support.common import PATCH_OPS, TASK, TASK_ID, failure, free_port
from ansible_collections.identitynow.tasks.tests.support.scripted_server import (
    Action, redirect, reply, slow, streamed)
from ansible_collections.identitynow.tasks.tests.support.tls_server import TlsProxy, make_ca

MIB = 1024 * 1024


def page(first, count):
    return [{"id": "task-%03d" % i} for i in range(first, first + count)]


# ===================================================================================== 1. redirects
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", ["token", "get", "patch", "list"])
def test_no_redirect_is_followed(serve, connect, clock, status, call):
    elsewhere = serve()
    location = elsewhere.url.replace("127.0.0.1", "localhost") + "/steal/path?client_secret=x#frag"
    action = redirect(status, location)
    server = serve(*([] if call == "token" else [action]), token_script=[action] if call == "token" else [])
    client = connect(server.url, max_retries=3)
    calls = {"token": lambda: client.get_task(TASK_ID), "get": lambda: client.get_task(TASK_ID),
             "patch": lambda: client.patch_task(TASK_ID, PATCH_OPS), "list": lambda: list(client.list_tasks())}
    error = failure(calls[call])
    assert error.status == status and error.hint == REDIRECT_HINT and "base_url" in error.hint
    assert "redirect to %s" % elsewhere.url.replace("127.0.0.1", "localhost") in error.message
    text = str(error)
    assert "steal" not in text and "client_secret=x" not in text and "frag" not in text
    assert not elsewhere.requests  # nothing at all reached the other address
    assert len(server.requests) == (1 if call == "token" else 2) and clock.sleeps == []  # and no retry
    assert error.uncertain is False


def test_the_body_of_a_redirect_is_bounded_too(serve, connect):
    server = serve(streamed((b" " * 1024 for dummy in range(100000)), status=302, chunk_delay=0.001,
                            headers={"Location": "https://elsewhere.example/"}))
    started = time.monotonic()
    error = failure(connect(server.url, timeout=0.5, max_retries=0).get_task, TASK_ID)
    assert time.monotonic() - started < 1.5 and server.streamed < 10 * MIB
    assert "whole answer" in error.message


def test_a_redirect_without_location_is_an_error_too(serve, connect):
    server = serve(Action(302))
    assert "no location" in failure(connect(server.url).get_task, TASK_ID).message


# ===================================================================================== 2. deadlines
def test_a_trickled_body_ends_at_timeout(serve, connect):
    server = serve(streamed((b" " for dummy in range(1000)), chunk_delay=0.05))
    client = connect(server.url, timeout=0.6, max_retries=0)
    started = time.monotonic()
    error = failure(client.get_task, TASK_ID)
    took = time.monotonic() - started
    assert 0.5 <= took < 1.6, took  # timeout plus a small slack, not 1000 x 0.05 s
    assert "whole answer within 0.6 s" in error.message and error.hint
    assert 5 <= server.streamed < 100


@pytest.fixture
def header_trickle():
    """A server on 127.0.0.1 that sends its status line and headers a byte every 50 ms, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    sent = []

    def serve():
        while True:
            try:
                conn, dummy = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100000:
                    conn.sendall(bytes([byte]))
                    sent.append(byte)
                    time.sleep(0.05)
            except OSError:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield "http://127.0.0.1:%d" % listener.getsockname()[1], sent
    listener.close()


def test_trickled_headers_end_at_timeout(header_trickle, connect):
    url, sent = header_trickle
    started = time.monotonic()
    error = failure(connect(url, access_token="given-token-abc", timeout=0.6, max_retries=0).get_task, TASK_ID)
    took = time.monotonic() - started
    assert took < 0.6 + 1.2, took  # the watchdog cuts the connection; each read alone would wait for ever
    assert "whole answer within 0.6 s" in error.message and len(sent) < 40


def test_a_trickled_write_answer_is_uncertain_and_not_resent(serve, connect, clock):
    server = serve(streamed((b" " for dummy in range(1000)), chunk_delay=0.05))
    error = failure(connect(server.url, timeout=0.5).patch_task, TASK_ID, PATCH_OPS)
    assert error.uncertain is True and len(server.api_requests) == 1 and clock.sleeps == []


def test_a_server_that_never_answers_ends_at_timeout(serve, connect):
    server = serve(slow(5, 200, TASK))
    started = time.monotonic()
    failure(connect(server.url, timeout=0.5, max_retries=0).get_task, TASK_ID)
    assert time.monotonic() - started < 1.5


def test_the_deadline_caps_the_timeout_of_each_request(serve, connect):
    server = serve(reply(200, TASK))
    client = connect(server.url, timeout=30, max_retries=5, clock=time.monotonic, sleep=time.sleep)
    client.get_task(TASK_ID)  # the token, before the clock starts (the trickle is the next answer)
    server.script.insert(0, streamed((b" " for dummy in range(1000)), chunk_delay=0.05))
    started = time.monotonic()
    error = failure(client.get_task, TASK_ID, deadline=started + 0.5)
    assert time.monotonic() - started < 1.5  # not 30 s, and no retry past the deadline
    assert "time budget" in error.message and len(server.api_requests) == 2


def test_no_request_starts_after_the_deadline(serve, connect, clock):
    server = serve(reply(200, TASK))
    error = failure(connect(server.url).get_task, TASK_ID, deadline=clock() - 1)
    assert "time budget" in error.message and not server.requests


def test_a_token_request_is_bounded_like_any_other(serve, connect):
    server = serve(token_script=[streamed((b" " for dummy in range(1000)), chunk_delay=0.05)])
    started = time.monotonic()
    failure(connect(server.url, timeout=0.5, max_retries=0).get_task, TASK_ID)
    assert time.monotonic() - started < 1.5


# ========================================================================================= 3. size
def test_an_answer_above_the_cap_is_refused_from_its_content_length(serve, connect, clock):
    server = serve(Action(raw_body=b"[" + b" " * (33 * MIB) + b"]"))
    client = connect(server.url)
    error = failure(client.get_task, TASK_ID)
    assert "more than 32 MiB" in error.message and error.status is None
    assert clock.sleeps == [] and len(server.api_requests) == 1  # not retried
    assert client.stats["body_bytes"] < 1000  # the token answer only


def test_an_endless_answer_is_cut_at_the_cap(serve, connect):
    server = serve(streamed(b" " * MIB for dummy in range(200)))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert "more than 32 MiB" in error.message
    assert server.streamed < 60 * MIB


@pytest.fixture(scope="module")
def gzip_bomb():
    """512 MiB of spaces gzip-compressed to about half a MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * MIB
    return b"".join([compressor.compress(block) for dummy in range(512)] + [compressor.flush()])


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_cut_at_the_cap_with_bounded_memory(serve, connect, gzip_bomb, encoding):
    body = gzip_bomb if encoding == "gzip" else zlib.compress(b" " * (64 * MIB), 9)
    server = serve(Action(raw_body=body, headers={"Content-Encoding": encoding}))
    client = connect(server.url, max_retries=0)
    tracemalloc.start()
    try:
        error = failure(client.get_task, TASK_ID)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "more than 32 MiB (after decompression)" in error.message
    assert peak < 48 * MIB, peak  # the cap and one chunk, not the 512 MiB the bomb holds


def test_a_compressed_answer_is_read(serve, connect):
    server = serve(Action(raw_body=gzip.compress(json.dumps(TASK).encode()), headers={"Content-Encoding": "gzip"}))
    assert connect(server.url).get_task(TASK_ID) == TASK
    assert server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("body,encoding", [(b"\x1f\x8b not gzip at all", "gzip"), (gzip.compress(b"[1]")[:-12], "gzip"),
                                           (b"[]", "br")], ids=["corrupt", "truncated", "unasked-encoding"])
def test_an_unreadable_compressed_answer_is_an_error(serve, connect, body, encoding):
    server = serve(Action(raw_body=body, headers={"Content-Encoding": encoding}))
    error = failure(connect(server.url, max_retries=0).get_task, TASK_ID)
    assert "cannot be read" in error.message


# ======================================================================================== 4. shape
DEEP = b"[" * 100000 + b"]" * 100000


@pytest.mark.parametrize("body,what", [
    ([TASK], "a JSON list of 1 item(s)"), ("task", "a JSON string"), (None, "an empty body"), ({}, "no keys"),
    ({"id": 5}, "keys 'id'"), ({"name": "x"}, "keys 'name'"), (7, "a JSON number"),
])
def test_a_task_of_the_wrong_shape_is_an_error(serve, connect, body, what):
    server = serve(reply(200, body))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert what in error.message and "where a task (a JSON object with a string id) was expected" in error.message
    assert error.url.endswith("/v2026/task-status/" + TASK_ID) and error.method == "GET"


def test_a_write_answer_of_the_wrong_shape_is_uncertain(serve, connect):
    server = serve(reply(200, ["applied?"]))
    error = failure(connect(server.url).patch_task, TASK_ID, PATCH_OPS)
    assert error.uncertain is True and error.method == "PATCH" and len(server.api_requests) == 1


def test_deep_nesting_is_an_error_not_a_recursion_error(serve, connect, clock):
    server = serve(Action(raw_body=DEEP))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert "nested too deeply" in error.message and clock.sleeps == []


@pytest.mark.parametrize("status", [400, 500])
def test_deep_nesting_in_an_error_answer(serve, connect, status):
    server = serve(Action(status, raw_body=DEEP))
    assert failure(connect(server.url, max_retries=0).get_task, TASK_ID).status == status


@pytest.mark.parametrize("body", [{"messages": 5}, {"messages": [1, {"text": ["x"]}, None]}, {"causes": "text"},
                                  {"detailCode": {"a": 1}, "trackingId": [1]}, {"error": 5}, ["a", "list"], "text"])
def test_an_error_answer_of_any_shape_is_an_error_with_its_status(serve, connect, body):
    server = serve(reply(400, body))
    error = failure(connect(server.url).get_task, TASK_ID)
    assert error.status == 400 and isinstance(error.messages, list) and all(isinstance(m, str) for m in error.messages)


@pytest.mark.parametrize("body,what", [
    ({"a": 1}, "a JSON object"), ("page", "a JSON string"), ([1, 2], "number"), ([{"name": "x"}], "a JSON list"),
    ([{"id": None}], "a JSON list"), (None, "an empty body"),
])
def test_a_page_of_the_wrong_shape_is_an_error(serve, connect, body, what):
    server = serve(reply(200, body))
    error = failure(lambda: list(connect(server.url).list_tasks()))
    assert what in error.message and "page 1 of the listing" in error.message
    assert error.url.endswith("/v2026/task-status")


@pytest.mark.parametrize("count", ["\uff11\uff12", "12a", "-1", "1e3", "9" * 40, "\u00b2"])
def test_an_unreadable_total_count_is_an_error(serve, connect, count):
    server = serve(reply(200, page(0, 2), {"X-Total-Count": count.encode("utf-8").decode("latin-1")}))
    error = failure(lambda: list(connect(server.url).list_tasks(count=True)))
    assert "X-Total-Count" in error.message and "ASCII digits" in error.message


@pytest.mark.parametrize("body,what", [
    (["tok"], "a JSON list"), ({"access_token": 5}, "a JSON number"), ({"token": "x"}, "no access_token"),
    ({"access_token": "tok-0123456789\n"}, "not shown"), ({"access_token": "\u03a9mega-token-0123"}, "not shown"),
    ({"access_token": "tok-0123456789", "expires_in": "3600"}, "expires_in that is a JSON string"),
    ({"access_token": "tok-0123456789", "expires_in": True}, "expires_in that is a JSON boolean"),
])
def test_a_token_answer_of_the_wrong_shape_is_an_error(serve, connect, body, what):
    server = serve(token_script=[reply(200, body)])
    error = failure(connect(server.url).get_task, TASK_ID)
    assert what in error.message and "the token endpoint answered with" in error.message
    assert error.url == server.url + "/oauth/token" and not server.api_requests
    assert "\u03a9mega" not in str(error) and "tok-0123456789" not in str(error)


def test_anything_the_http_layer_raises_is_an_iscerror(serve, connect, monkeypatch):
    server = serve(reply(200, TASK))
    client = connect(server.url, max_retries=0)

    def broken(*args, **kwargs):
        raise UnicodeError("a header the HTTP library cannot encode")

    monkeypatch.setattr(client.session, "request", broken)
    error = failure(client.get_task, TASK_ID)
    assert "UnicodeError" in error.message


# ====================================================================================== 5. paging
@pytest.mark.parametrize("total", ["1000", None])
def test_a_server_that_ignores_offset_ends_the_listing(serve, connect, total):
    headers = {"X-Total-Count": total} if total else {}
    server = serve(route=lambda record: reply(200, page(0, 5), headers) if record.path != "/oauth/token" else None)
    pages = connect(server.url).list_tasks(page_size=5)
    got = []
    with pytest.raises(IscError) as info:
        for record in pages:
            got.append(record["id"])
    assert "no progress" in info.value.message and "stopped after 5 record(s)" in info.value.message
    assert got == [r["id"] for r in page(0, 5)] and len(server.api_requests) == 2


def test_repeated_pages_end_the_listing(serve, connect):
    server = serve(reply(200, page(0, 5)), reply(200, page(5, 5)), reply(200, page(0, 5)), reply(200, page(5, 5)))
    with pytest.raises(IscError, match="no progress"):
        list(connect(server.url).list_tasks(page_size=5))
    assert len(server.api_requests) == 3


def test_a_growing_count_cannot_keep_a_stalled_listing_going(serve, connect):
    counter = iter(range(100, 100000, 10))
    server = serve(route=lambda record: reply(200, page(0, 5), {"X-Total-Count": str(next(counter))})
                   if record.path != "/oauth/token" else None)
    with pytest.raises(IscError, match="no progress"):
        list(connect(server.url).list_tasks(page_size=5))
    assert len(server.api_requests) == 2 + client_utils.MAX_STALLED_PAGES


# ==================================================================================== 7. secrets
@pytest.mark.parametrize("name,value", [
    ("access_token", "eyJhbGciOi.payload.signature\n"), ("access_token", "tok en-0123"),
    ("access_token", "tok\u00e9-0123456789"), ("client_secret", "cc-secret-5e8f0a1b2c3d\r\n"),
    ("client_secret", "\tcc-secret-5e8f0a1b2c3d"), ("client_id", "cc-client-id\n"), ("client_secret", "a\x00b-secret"),
])
def test_credentials_with_white_space_or_control_characters_are_refused_before_sending(serve, name, value):
    server = serve(reply(200, TASK))
    options = {"client_id": "cc-client-id", "client_secret": "cc-secret-5e8f0a1b2c3d"}
    if name == "access_token":
        options = {}
    options[name] = value
    with pytest.raises(IscError) as info:
        IscClient(server.url, **options)
    text = str(info.value) + repr(info.value.to_result())
    assert name in text and "not shown" in text
    for form in (value, value.strip(), repr(value), json.dumps(value)):
        assert form.strip("'\"") not in text
    assert not server.requests


# ================================================================================= 8. clear text
@pytest.mark.parametrize("url", ["http://acme.api.identitynow.com", "http://10.0.0.8:8080", "http://127.0.0.1.example.com",
                                 "http://[::ffff:10.0.0.1]"])
def test_http_to_another_host_needs_the_opt_in(url):
    with pytest.raises(IscError) as info:
        IscClient(url, access_token="t0ken")
    assert "clear text" in str(info.value) and "allow_insecure_http" in str(info.value)
    client = IscClient(url, access_token="t0ken", allow_insecure_http=True)
    assert client.insecure_http is True
    client.session.close()


def test_an_http_token_url_to_another_host_needs_the_opt_in():
    with pytest.raises(IscError, match="token_url uses http://"):
        IscClient("https://acme.api.identitynow.com", client_id="i", client_secret="s3cret",
                  token_url="http://sso.example.com/oauth/token")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://127.8.9.10", "http://localhost:1", "http://[::1]:80",
                                 "https://acme.api.identitynow.com", "http://LOCALHOST."])
def test_https_and_http_to_this_machine_need_no_opt_in(url):
    client = IscClient(url, access_token="t0ken")
    assert client.insecure_http is False
    client.session.close()


@pytest.mark.parametrize("url,words", [("https://user:pw@acme.example.com", "credentials"),
                                       ("https://acme.example.com?x=1", "query"), ("ftp://acme.example.com", "https://"),
                                       ("https://acme.example.com\n", "white space"), ("https://", "https://")])
def test_malformed_urls_are_refused(url, words):
    with pytest.raises(IscError) as info:
        IscClient(url, access_token="t0ken")
    assert words in str(info.value) and "pw" not in str(info.value)


def test_http_through_a_proxy_is_really_clear_text(serve, monkeypatch):
    """What the opt-in allows: the request (and its token) goes out as plain HTTP (here to a local proxy)."""
    proxy = serve(reply(200, TASK))
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = IscClient("http://tenant.example.com", access_token="t0ken-abc", allow_insecure_http=True)
    try:
        assert client.get_task(TASK_ID) == TASK
    finally:
        client.session.close()
    assert proxy.proxied == ["http://tenant.example.com/v2026/task-status/" + TASK_ID]
    assert proxy.requests[0].bearer == "t0ken-abc"


# ================================================================== 9. what is retried, and why it failed
def test_connection_refused_names_its_reason_and_is_retried(connect, clock):
    url = "http://127.0.0.1:%d" % free_port()
    error = failure(connect(url, access_token="given-token-abc", max_retries=2).get_task, TASK_ID)
    assert "connection refused" in error.message.lower() and len(clock.sleeps) == 2


def test_a_host_name_that_does_not_resolve_is_not_retried(connect, clock, monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    error = failure(connect("https://no-such-tenant.api.identitynow.com", access_token="given-token-abc",
                            max_retries=3).get_task, TASK_ID)
    assert "name or service not known" in error.message and "resolve" in error.hint
    assert clock.sleeps == []


def test_a_temporary_resolver_failure_is_retried(connect, clock, monkeypatch):
    def resolver_down(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", resolver_down)
    error = failure(connect("https://acme.api.identitynow.com", access_token="given-token-abc",
                            max_retries=2).get_task, TASK_ID)
    assert "temporary failure in name resolution" in error.message and len(clock.sleeps) == 2


@pytest.fixture
def tls_front(sim, tmp_path):
    ca, cert, key = make_ca(tmp_path, "tenant")
    proxy = TlsProxy(sim.port, cert, key)
    yield proxy, ca
    proxy.close()


def test_a_certificate_for_another_host_is_not_retried(tls_front, clock, monkeypatch):
    proxy, ca = tls_front
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    # The certificate names 127.0.0.1; the client asks for localhost.
    client = IscClient("https://localhost:%d" % proxy.port, "sim-pat-client", "sim-pat-secret", ca_path=ca,
                       max_retries=3, clock=clock, sleep=clock.sleep)
    try:
        error = failure(client.get_task, TASK_ID)
    finally:
        client.session.close()
    assert "certificate verify failed: hostname mismatch" in error.message and "SSLError" in error.message
    assert "ca_path" in error.hint and clock.sleeps == []
    end = time.monotonic() + 2
    while not proxy.handshake_failures and time.monotonic() < end:
        time.sleep(0.01)
    assert proxy.handshake_failures == 1  # one attempt, no retry


def test_a_certificate_nobody_vouches_for_is_not_retried(tls_front, clock, monkeypatch):
    proxy, dummy = tls_front
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    client = IscClient(proxy.url, "sim-pat-client", "sim-pat-secret", max_retries=3, clock=clock, sleep=clock.sleep)
    try:
        error = failure(client.get_task, TASK_ID)
    finally:
        client.session.close()
    assert "certificate verify failed: " in error.message and clock.sleeps == []


# ========================================================================= issue 14: the wrong base_url
@pytest.mark.parametrize("status", [404, 405])
def test_a_token_endpoint_that_does_not_exist_points_at_base_url(serve, connect, status):
    server = serve(token_script=[reply(status, {"error": "not found"})])
    error = failure(connect(server.url).get_task, TASK_ID)
    assert error.status == status and error.hint == BASE_URL_HINT and "TENANT.api.identitynow.com" in error.hint
    assert "No such task" not in str(error)


@pytest.mark.parametrize("suffix", ["/v3", "/beta", "/v2026", "/api"])
def test_a_base_url_with_a_path_points_at_base_url_on_404(serve, connect, suffix):
    server = serve(reply(404, {"messages": [{"text": "not found"}]}))
    error = failure(connect(server.url + suffix, access_token="given-token-abc").get_task, TASK_ID)
    assert error.hint == BASE_URL_HINT and "No such task" not in str(error)


def test_a_list_endpoint_that_does_not_exist_points_at_base_url(serve, connect):
    server = serve(reply(404))
    error = failure(lambda: list(connect(server.url).list_tasks()))
    assert error.hint == BASE_URL_HINT


def test_an_unknown_task_still_gets_the_task_hint(serve, connect):
    server = serve(reply(404))
    assert "No such task" in failure(connect(server.url).get_task, TASK_ID).hint


@pytest.mark.parametrize("source", [None, "the environment variable SAIL_CLIENT_ID"])
def test_a_refused_client_id_is_named_with_its_source(serve, connect, source):
    server = serve(token_script=[reply(401, {"error": "invalid_client"})])
    error = failure(connect(server.url, client_id_source=source).get_task, TASK_ID)
    assert "'cc-client-id'" in error.hint and (source or "the client_id option or SAIL_CLIENT_ID") in error.hint
    assert "expired" not in error.hint.lower() and "cc-secret" not in str(error)


# ================================================================================ multipart requests
def test_files_are_sent_as_one_multipart_body(serve, connect, clock):
    server = serve(reply(503), reply(202, {"id": "aggregation-task"}))
    client = connect(server.url)
    response = client.request("POST", "/v2026/sources/s1/load-accounts", write=True,
                              files={"disableOptimization": "true", "file": ("accounts.csv", b"id\n1\n", "text/csv")})
    assert response.data == {"id": "aggregation-task"}
    first, second = server.api_requests
    assert first.body == second.body and b'name="file"; filename="accounts.csv"' in first.body
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    boundary = first.headers["Content-Type"].split("boundary=")[1]
    assert first.body.rstrip().endswith(("--%s--" % boundary).encode())


def test_empty_files_send_no_body_and_no_content_type(serve, connect):
    server = serve(reply(202, {"id": "t"}))
    connect(server.url).request("POST", "/v2026/sources/s1/load-accounts", files={}, write=True)
    request = server.api_requests[0]
    assert request.body == b"" and "Content-Type" not in request.headers
