# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""TLS verification of the client against the simulated tenant behind a local HTTPS front.

requests lets REQUESTS_CA_BUNDLE (and CURL_CA_BUNDLE) replace session.verify, so the client passes its
verify setting on every request: validate_certs=false stays off and ca_path stays the trusted bundle
whatever the environment says.
"""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.tests.support.tls_server import TlsProxy, make_ca

PAT = dict(client_id="sim-pat-client", client_secret="sim-pat-secret")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    return {"tenant": make_ca(directory, "tenant"), "other": make_ca(directory, "other")}


@pytest.fixture
def https_tenant(sim, certificates):
    dummy, cert, key = certificates["tenant"]
    proxy = TlsProxy(sim.port, cert, key)
    task = sim.add_task(outcome="STUCK", duration=60)
    yield proxy, task["id"]
    proxy.close()


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def read(url, task_id, **options):
    client = IscClient(url, max_retries=0, rate_limit=0, **dict(PAT, **options))
    try:
        return client.get_task(task_id)
    finally:
        client.session.close()


def test_certificates_are_verified_by_default(https_tenant, clean_env):
    proxy, task_id = https_tenant
    with pytest.raises(IscError) as info:
        read(proxy.url, task_id)
    assert "SSLError" in info.value.message


def test_ca_path_trusts_the_tenant(https_tenant, certificates, clean_env):
    proxy, task_id = https_tenant
    assert read(proxy.url, task_id, ca_path=certificates["tenant"][0])["id"] == task_id


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_path_wins_over_a_ca_bundle_in_the_environment(https_tenant, certificates, clean_env, variable):
    proxy, task_id = https_tenant
    clean_env.setenv(variable, certificates["other"][0])
    assert read(proxy.url, task_id, ca_path=certificates["tenant"][0])["id"] == task_id


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_validate_certs_false_stays_off_with_a_ca_bundle_in_the_environment(https_tenant, certificates, clean_env,
                                                                            variable):
    proxy, task_id = https_tenant
    clean_env.setenv(variable, certificates["other"][0])
    assert read(proxy.url, task_id, validate_certs=False)["id"] == task_id


def test_environment_bundle_does_not_switch_verification_off(https_tenant, certificates, clean_env):
    proxy, task_id = https_tenant
    clean_env.setenv("REQUESTS_CA_BUNDLE", certificates["other"][0])
    with pytest.raises(IscError) as info:
        read(proxy.url, task_id)
    assert "SSLError" in info.value.message
