# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures of the module_utils tests: a fake clock, scripted servers and clients connected to them."""

from __future__ import annotations

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.tests.support.scripted_server import (
    FakeClock, ScriptedServer)

from ansible_collections.identitynow.tasks.tests.support.common import SECRET


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def serve():
    """serve(*script, **server_options) -> a running ScriptedServer, closed after the test."""
    servers = []

    def start(*script, **options):
        server = ScriptedServer(script, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def connect(clock):
    """connect(url, **options) -> IscClient with client credentials and the fake clock."""
    clients = []

    def make(url, **options):
        options.setdefault("client_id", "cc-client-id")
        options.setdefault("client_secret", SECRET)
        if options.get("access_token"):
            options["client_id"] = options["client_secret"] = None
        options.setdefault("clock", clock)
        options.setdefault("sleep", clock.sleep)
        client = IscClient(url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()
