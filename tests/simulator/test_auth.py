# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Token endpoint and bearer authentication."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import urlencode

import pytest

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "scope", "accessType", "tenant_id", "internal", "pod",
                "strong_auth_supported", "org", "strong_auth", "enabled", "jti"}


def token_request(sim, params, in_query=False):
    if in_query:
        return sim.request("POST", "/oauth/token", params)
    return sim.request("POST", "/oauth/token", body=urlencode(params), headers=FORM)


def test_pat_token_has_every_field_and_user_context(sim):
    response = token_request(sim, {"grant_type": "client_credentials", "client_id": "sim-pat-client",
                                   "client_secret": "sim-pat-secret"})
    assert response.status == 200
    body = response.json()
    assert TOKEN_FIELDS | {"user_id", "identity_id"} == set(body)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 749
    assert len(body["access_token"]) > 40


def test_api_client_token_has_no_user_fields(sim):
    response = token_request(sim, {"grant_type": "client_credentials", "client_id": "sim-api-client",
                                   "client_secret": "sim-api-secret"}, in_query=True)
    assert response.status == 200
    assert set(response.json()) == TOKEN_FIELDS


def test_grant_type_is_case_insensitive_and_tokens_are_unique(sim):
    params = {"grant_type": "CLIENT_CREDENTIALS", "client_id": "sim-pat-client", "client_secret": "sim-pat-secret"}
    first, second = token_request(sim, params).json(), token_request(sim, params).json()
    assert first["access_token"] != second["access_token"]
    assert first["jti"] != second["jti"]


def jwt_claims(token):
    """The claims of a JWT whose header is the simulator's and whose signature is long enough not to be guessed."""
    def decode(part):
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    header, claims, signature = token.split(".")
    assert decode(header) == {"alg": "HS256", "typ": "JWT"} and len(signature) >= 40
    return decode(claims)


def test_tokens_are_jwts_that_name_their_client_and_expiry(sim):
    # As ISC's: the client id, the expiry and the user context are readable from the token itself.
    params = {"grant_type": "client_credentials", "client_id": "sim-pat-client", "client_secret": "sim-pat-secret"}
    body = token_request(sim, params).json()
    claims = jwt_claims(body["access_token"])
    assert claims["client_id"] == "sim-pat-client" and claims["jti"] == body["jti"]
    assert claims["tenant_id"] == body["tenant_id"] and claims["user_id"] == body["user_id"]
    assert abs(claims["exp"] - (time.time() + 749)) <= 5  # the simulator clock is the wall clock until advanced
    api = jwt_claims(token_request(sim, {"grant_type": "client_credentials", "client_id": "sim-api-client",
                                         "client_secret": "sim-api-secret"}).json()["access_token"])
    assert api["client_id"] == "sim-api-client" and "user_id" not in api


def test_token_ttl_setting(sim):
    sim.settings(token_ttl=60)
    params = {"grant_type": "client_credentials", "client_id": "sim-pat-client", "client_secret": "sim-pat-secret"}
    assert token_request(sim, params).json()["expires_in"] == 60


@pytest.mark.parametrize("params", [
    {"grant_type": "client_credentials", "client_id": "sim-pat-client", "client_secret": "wrong"},
    {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "sim-pat-secret"},
    {"grant_type": "client_credentials"},
])
def test_bad_credentials_get_401_invalid_client(sim, params):
    response = token_request(sim, params)
    assert response.status == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"]


def test_unsupported_and_missing_grant_get_400(sim):
    creds = {"client_id": "sim-pat-client", "client_secret": "sim-pat-secret"}
    response = token_request(sim, dict(creds, grant_type="password"))
    assert response.status == 400
    assert response.json()["error"] == "unsupported_grant_type"
    response = token_request(sim, creds)
    assert response.status == 400
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_only_takes_post(sim):
    response = sim.request("GET", "/oauth/token")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic abc", "Bearer not-a-token"])
def test_missing_or_unknown_token_gets_401(sim, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = sim.request("GET", "/v2026/task-status", headers=headers)
    assert response.status == 401
    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith("JWT validation failed")


def test_token_expires_on_the_simulator_clock(sim):
    token = sim.token()
    sim.advance(748)
    assert sim.request("GET", "/v2026/task-status", token=token).status == 200
    sim.advance(1)
    response = sim.request("GET", "/v2026/task-status", token=token)
    assert response.status == 401
    assert response.json() == {"error": "JWT validation failed: JWT is expired"}
    assert sim.request("GET", "/v2026/task-status", token=sim.token()).status == 200


def test_expire_tokens_fault_expires_every_issued_token(sim):
    pat, api = sim.token("pat"), sim.token("api")
    sim.expire_tokens()
    for token in (pat, api):
        assert sim.request("GET", "/beta/task-status", token=token).json() == {"error": "JWT validation failed: JWT is expired"}
    assert sim.request("GET", "/beta/task-status", token=sim.token()).status == 200
