# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection options shared by every module: argument spec, precedence, and the client they make.

The matching documentation is the doc fragment identitynow.tasks.connection.
"""

from __future__ import annotations

import importlib
import os
import sys

from ansible.module_utils.basic import env_fallback
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError
from ansible_collections.identitynow.tasks.plugins.module_utils import client as client_utils

TENANT_URL = "https://%s.api.identitynow.com"
# The Python libraries the modules need where they run (requirements.txt).
RUNTIME_LIBRARIES = ("requests", "jsonpatch")


def isc_argument_spec(**module_options):
    """A fresh argument spec: the connection options plus the module's own options."""
    spec = dict(
        base_url=dict(type="str"),
        tenant=dict(type="str"),
        client_id=dict(type="str", no_log=False, fallback=(env_fallback, ["SAIL_CLIENT_ID"])),
        client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["SAIL_CLIENT_SECRET"])),
        access_token=dict(type="str", no_log=True),
        token_url=dict(type="str", no_log=False),
        api_version=dict(type="str", default="v2026", choices=list(client_utils.API_VERSIONS)),
        experimental=dict(type="bool", default=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=30.0),
        max_retries=dict(type="int", default=5),
        retry_max_wait=dict(type="float", default=120.0),
        rate_limit=dict(type="int", default=100),
        rate_limit_window=dict(type="float", default=10.0),
        allow_insecure_http=dict(type="bool", default=False),
    )
    spec.update(module_options)
    return spec


def resolve_connection(params, environ=None):
    """Keyword arguments for IscClient from module params, applying the documented precedence.

    URL: base_url, then tenant, then SAIL_BASE_URL. Credentials: access_token, then
    client_id/client_secret (option or SAIL_CLIENT_ID/SAIL_CLIENT_SECRET), then SAIL_ACCESS_TOKEN.
    Raises IscError naming the option when the input cannot work.
    """
    environ = os.environ if environ is None else environ
    if params.get("base_url") and params.get("tenant"):
        raise IscError("base_url and tenant are mutually exclusive: set one of them")
    if params.get("base_url"):
        base_url = params["base_url"]
    elif params.get("tenant"):
        tenant = params["tenant"].strip()
        if not tenant or not all(c.isalnum() or c == "-" for c in tenant):
            raise IscError("tenant must be a tenant name of letters, digits and '-', got %r" % tenant)
        base_url = TENANT_URL % tenant
    else:
        base_url = environ.get("SAIL_BASE_URL")
    if not base_url:
        raise IscError("no ISC URL: set base_url or tenant, or the SAIL_BASE_URL environment variable")
    for name, url in (("base_url", base_url), ("token_url", params.get("token_url"))):
        if url is not None:
            client_utils.check_url(name, url, params.get("allow_insecure_http"))

    for name in ("timeout", "rate_limit_window"):
        if params.get(name) is not None and params[name] <= 0:
            raise IscError("%s must be greater than 0, got %s" % (name, params[name]))
    for name in ("max_retries", "rate_limit", "retry_max_wait"):
        if params.get(name) is not None and params[name] < 0:
            raise IscError("%s must be 0 or more, got %s" % (name, params[name]))

    access_token = params.get("access_token")
    client_id = params.get("client_id")
    client_secret = params.get("client_secret")
    if access_token:
        client_id = client_secret = None
    elif client_id or client_secret:
        if not (client_id and client_secret):
            missing = "client_secret" if client_id else "client_id"
            raise IscError("%s is missing: client_id and client_secret go together" % missing)
    else:
        access_token = environ.get("SAIL_ACCESS_TOKEN")
    if not (access_token or client_id):
        raise IscError("no credentials: set client_id and client_secret (or SAIL_CLIENT_ID and "
                       "SAIL_CLIENT_SECRET), or access_token")

    if access_token:
        client_id_source = None
    elif environ.get("SAIL_CLIENT_ID") == client_id:
        client_id_source = "the environment variable SAIL_CLIENT_ID"
    else:
        client_id_source = "the client_id option"

    # The defaults are those of isc_argument_spec() (their one home): a setting missing from params is
    # left out, so that IscClient's own keyword default applies.
    settings = dict(base_url=base_url, client_id=client_id, client_secret=client_secret, access_token=access_token,
                    client_id_source=client_id_source)
    for name in ("token_url", "api_version", "experimental", "validate_certs", "ca_path", "timeout", "max_retries",
                 "retry_max_wait", "rate_limit", "rate_limit_window", "allow_insecure_http"):
        if params.get(name) is not None:
            settings[name] = params[name]
    return settings


def missing_libraries(names=RUNTIME_LIBRARIES):
    """The libraries of names that this Python cannot import, in order."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def missing_libraries_message(needs, missing, interpreter=None):
    """What to tell a user whose interpreter lacks libraries: every missing one, the interpreter, the command."""
    interpreter = interpreter or sys.executable or "python3"
    lacking = [name for name in needs if name in missing]
    others = [name for name in missing if name not in lacking]
    text = "This module needs the Python %s %s, which %s (the interpreter that runs the module) lacks" % (
        "library" if len(lacking) == 1 else "libraries", " and ".join(lacking), interpreter)
    if others:
        text += "; the collection's other modules need %s, missing too" % " and ".join(others)
    return ("%s. Install %s for that interpreter: %s -m pip install %s (or point ansible_python_interpreter at a "
            "Python that has them)" % (text, "it" if len(missing) == 1 else "them", interpreter, " ".join(missing)))


def client_from_module(module, needs=("requests",)):
    """The IscClient for an AnsibleModule's connection options; fails the module on bad input.

    needs: the Python libraries the module cannot run without; when one is missing, the module fails
    naming every missing library at once, the interpreter, and the pip command that installs them.
    """
    missing = missing_libraries()
    if any(name in missing for name in needs):
        module.fail_json(msg=missing_libraries_message(needs, missing))
    try:
        settings = resolve_connection(module.params)
        if settings["access_token"]:
            module.no_log_values.add(settings["access_token"])
        if not settings["validate_certs"]:
            module.warn("validate_certs is false: the TLS certificate of %s is not verified, which lets anyone "
                        "on the network path read the credentials" % settings["base_url"])
        client = client_utils.IscClient(shared_pacing=True, **settings)
        if client.insecure_http:
            clear = sorted(set(client_utils.origin(url) for url in (client.base_url, client.token_url)
                               if url.lower().startswith("http:")))
            module.warn("allow_insecure_http is true and %s is reached over http://: the client secret, the tokens "
                        "and every answer cross the network in clear text" % " and ".join(clear))
        return client
    except IscError as exc:
        module.fail_json(**exc.to_result())
