# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options: the argument spec, its environment fallbacks and the documented precedence."""

from __future__ import annotations

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.identitynow.tasks.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils
from ansible_collections.identitynow.tasks.plugins.module_utils import connection
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

ENV_NAMES = ("SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET", "SAIL_ACCESS_TOKEN")


@pytest.fixture
def env(monkeypatch):
    """Clears the SAIL_* variables; returns a setter."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)

    def setenv(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return setenv


def resolve(**task_options):
    """What a module gets: the spec applied (defaults, env fallbacks) to the task's options, then resolved."""
    result = ArgumentSpecValidator(connection.isc_argument_spec()).validate(task_options)
    assert not result.error_messages, result.error_messages
    return connection.resolve_connection(result.validated_parameters)


def resolve_error(**task_options):
    with pytest.raises(IscError) as info:
        resolve(**task_options)
    return str(info.value)


# ------------------------------------------------------------------------------------------ the spec
def test_argument_spec_is_fresh_and_takes_module_options():
    first = connection.isc_argument_spec(state=dict(type="str"))
    first["client_id"]["default"] = "changed"
    second = connection.isc_argument_spec()
    assert "state" in first and "state" not in second
    assert "default" not in second["client_id"]


def test_secrets_are_no_log_and_look_alikes_are_not():
    spec = connection.isc_argument_spec()
    assert spec["client_secret"]["no_log"] is True
    assert spec["access_token"]["no_log"] is True
    assert spec["client_id"]["no_log"] is False
    assert spec["token_url"]["no_log"] is False


def test_doc_fragment_documents_every_option_with_the_same_defaults():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection.isc_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name
    text = ModuleDocFragment.DOCUMENTATION
    for name in ENV_NAMES:
        assert name in text


def test_api_version_choices_are_the_client_versions():
    assert connection.isc_argument_spec()["api_version"]["choices"] == list(client_utils.API_VERSIONS)
    result = ArgumentSpecValidator(connection.isc_argument_spec()).validate({"api_version": "v3"})
    assert result.error_messages


# --------------------------------------------------------------------------------------------- URL
def test_base_url_option_beats_environment(env):
    env(SAIL_BASE_URL="https://env.api.identitynow.com", SAIL_ACCESS_TOKEN="env-token")
    assert resolve(base_url="https://opt.example.com")["base_url"] == "https://opt.example.com"


def test_tenant_option_beats_environment(env):
    env(SAIL_BASE_URL="https://env.api.identitynow.com", SAIL_ACCESS_TOKEN="env-token")
    assert resolve(tenant="acme")["base_url"] == "https://acme.api.identitynow.com"


def test_environment_url_used_when_no_option(env):
    env(SAIL_BASE_URL="https://env.api.identitynow.com", SAIL_ACCESS_TOKEN="env-token")
    assert resolve()["base_url"] == "https://env.api.identitynow.com"


def test_tenant_becomes_https_url(env):
    env(SAIL_ACCESS_TOKEN="env-token")
    settings = resolve(tenant=" acme-sb ")
    assert settings["base_url"] == "https://acme-sb.api.identitynow.com"
    assert settings.get("token_url") is None  # the client derives base_url + /oauth/token


@pytest.mark.parametrize("tenant", ["acme.evil.com/", "acme/x", "a b", "acme?x=1", "acme#", ""])
def test_tenant_must_be_a_plain_name(env, tenant):
    env(SAIL_ACCESS_TOKEN="env-token")
    message = resolve_error(tenant=tenant) if tenant else resolve_error(tenant="   ")
    assert "tenant" in message


def test_base_url_and_tenant_conflict(env):
    message = resolve_error(base_url="https://a.example.com", tenant="acme", access_token="t0ken")
    assert "base_url" in message and "tenant" in message


def test_missing_url_names_the_options(env):
    message = resolve_error(access_token="t0ken")
    assert "base_url" in message and "tenant" in message and "SAIL_BASE_URL" in message


def test_url_needs_a_scheme(env):
    assert "https://" in resolve_error(base_url="acme.api.identitynow.com", access_token="t0ken")


def test_token_url_defaults_to_base_url(env):
    settings = resolve(base_url="https://acme.example.com/", access_token="t0ken")
    client = client_utils.IscClient(**settings)
    assert client.token_url == "https://acme.example.com/oauth/token"
    settings = resolve(base_url="https://acme.example.com", access_token="t0ken", token_url="https://sso.example.com/t")
    assert client_utils.IscClient(**settings).token_url == "https://sso.example.com/t"


# ------------------------------------------------------------------------------------- credentials
BASE = dict(base_url="https://acme.example.com")


@pytest.mark.parametrize("name,variable", [("client_id", "SAIL_CLIENT_ID"), ("client_secret", "SAIL_CLIENT_SECRET")])
def test_credential_option_beats_environment(env, name, variable):
    env(SAIL_CLIENT_ID="env-id", SAIL_CLIENT_SECRET="env-secret")
    settings = resolve(**dict(BASE, **{name: "option-value"}))
    assert settings[name] == "option-value"
    other = "client_secret" if name == "client_id" else "client_id"
    assert settings[other] == ("env-secret" if other == "client_secret" else "env-id")


def test_client_credentials_from_environment(env):
    env(SAIL_CLIENT_ID="env-id", SAIL_CLIENT_SECRET="env-secret")
    settings = resolve(**BASE)
    assert (settings["client_id"], settings["client_secret"], settings["access_token"]) == ("env-id", "env-secret", None)


def test_access_token_option_beats_client_credentials(env):
    env(SAIL_CLIENT_ID="env-id", SAIL_CLIENT_SECRET="env-secret", SAIL_ACCESS_TOKEN="env-token")
    settings = resolve(access_token="opt-token", **BASE)
    assert settings["access_token"] == "opt-token"
    assert settings["client_id"] is None and settings["client_secret"] is None
    settings = resolve(access_token="opt-token", client_id="opt-id", client_secret="opt-secret", **BASE)
    assert settings["access_token"] == "opt-token" and settings["client_id"] is None


def test_access_token_option_beats_environment_token(env):
    env(SAIL_ACCESS_TOKEN="env-token")
    assert resolve(access_token="opt-token", **BASE)["access_token"] == "opt-token"


def test_client_credentials_beat_environment_token(env):
    env(SAIL_ACCESS_TOKEN="env-token")
    settings = resolve(client_id="opt-id", client_secret="opt-secret", **BASE)
    assert (settings["client_id"], settings["access_token"]) == ("opt-id", None)
    env(SAIL_CLIENT_ID="env-id", SAIL_CLIENT_SECRET="env-secret")
    settings = resolve(**BASE)
    assert (settings["client_id"], settings["access_token"]) == ("env-id", None)


def test_environment_token_used_last(env):
    env(SAIL_ACCESS_TOKEN="env-token")
    settings = resolve(**BASE)
    assert (settings["access_token"], settings["client_id"]) == ("env-token", None)


@pytest.mark.parametrize("given,missing", [
    (dict(client_id="opt-id"), "client_secret"),
    (dict(client_secret="opt-secret"), "client_id"),
])
def test_half_of_the_client_credentials_names_the_missing_option(env, given, missing):
    env(SAIL_ACCESS_TOKEN="env-token")  # must not hide the mistake
    message = resolve_error(**dict(BASE, **given))
    assert message.startswith(missing)
    assert "opt-secret" not in message


def test_half_from_environment_names_the_missing_option(env):
    env(SAIL_CLIENT_ID="env-id")
    assert resolve_error(**BASE).startswith("client_secret")


def test_no_credentials_at_all(env):
    message = resolve_error(**BASE)
    assert "client_id" in message and "access_token" in message


@pytest.mark.parametrize("name,value", [("timeout", 0), ("rate_limit_window", -1), ("max_retries", -1),
                                        ("rate_limit", -5), ("retry_max_wait", -1)])
def test_numeric_settings_are_checked(env, name, value):
    assert name in resolve_error(access_token="t0ken", **dict(BASE, **{name: value}))


def test_settings_reach_the_client(env):
    settings = resolve(access_token="t0ken", api_version="v1", experimental=False, validate_certs=False, timeout=7,
                       max_retries=2, retry_max_wait=9, rate_limit=0, rate_limit_window=3, **BASE)
    client = client_utils.IscClient(**settings)
    try:
        assert (client.api_version, client.experimental, client.timeout, client.max_retries) == ("v1", False, 7, 2)
        assert (client.retry_max_wait, client.limiter.limit, client.limiter.window) == (9, 0, 3)
        assert client.session.verify is False
    finally:
        client.session.close()


def test_ca_path_is_used_for_verification(env, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    client = client_utils.IscClient(**resolve(access_token="t0ken", ca_path=str(bundle), **BASE))
    assert client.session.verify == str(bundle)
    client.session.close()


# ------------------------------------------------------------------------------------ client_from_module
class FakeModule:
    """The parts of AnsibleModule that client_from_module uses."""

    class Failed(Exception):
        pass

    def __init__(self, **params):
        result = ArgumentSpecValidator(connection.isc_argument_spec()).validate(params)
        self.params = result.validated_parameters
        self.no_log_values = set()
        self.warnings = []
        self.failure = None

    def fail_json(self, **kwargs):
        self.failure = kwargs
        raise self.Failed(kwargs["msg"])

    def warn(self, text):
        self.warnings.append(text)


def test_client_from_module_hides_an_environment_token(env):
    env(SAIL_ACCESS_TOKEN="env-token-1234")
    module = FakeModule(**BASE)
    client = connection.client_from_module(module)
    assert "env-token-1234" in module.no_log_values
    assert client.base_url == "https://acme.example.com"
    client.session.close()


def test_module_runs_share_their_pacing(env):
    env(SAIL_CLIENT_ID="client-a", SAIL_CLIENT_SECRET="secret-a")
    first = connection.client_from_module(FakeModule(**BASE))
    second = connection.client_from_module(FakeModule(**BASE))
    other_version = connection.client_from_module(FakeModule(api_version="beta", **BASE))
    try:
        assert first.limiter.path and first.limiter.path == second.limiter.path != other_version.limiter.path
        assert "secret-a" not in first.limiter.path
    finally:
        for client in (first, second, other_version):
            client.session.close()


def test_client_from_module_warns_when_certificates_are_not_checked(env):
    module = FakeModule(access_token="t0ken", validate_certs=False, **BASE)
    connection.client_from_module(module).session.close()
    assert module.warnings and "validate_certs" in module.warnings[0]


def test_client_from_module_fails_with_the_error_details(env):
    module = FakeModule(client_id="opt-id", client_secret="s3cret-value", base_url="https://a.example.com",
                        tenant="acme")
    with pytest.raises(FakeModule.Failed):
        connection.client_from_module(module)
    assert "mutually exclusive" in module.failure["msg"]
    assert "s3cret-value" not in repr(module.failure)
