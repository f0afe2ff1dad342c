# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What differs between the API versions ISC serves: one row per version.

This table is the single home of these facts; the client, the filter checks and the task queries
read it. docs/api-versions.md shows the same table row for row, and a unit test compares the two.
"""

from __future__ import annotations

import collections

from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# Filterable fields of the task-status list and their operators.
_FILTERS_BASE = {"id": ("eq", "in"), "sourceId": ("eq", "in"), "completionStatus": ("eq", "in"),
                 "type": ("eq", "in")}
_FILTERS_ISNULL = dict(_FILTERS_BASE, completionStatus=("eq", "in", "isnull"))
_FILTERS_ALL = dict(_FILTERS_ISNULL, launcher=("eq", "in"))

# Task-definition values the list documents for the "type" filter.
TYPES_V2025 = (
    "CLOUD_ACCOUNT_AGGREGATION", "CLOUD_GROUP_AGGREGATION", "CLOUD_PROCESS_UNCORRELATED_ACCOUNTS",
    "CLOUD_REFRESH_ROLE", "SOURCE_APPLICATION_DISCOVERY", "AI_AGENT_AGGREGATION", "APPLICATION_DISCOVERY",
    "MACHINE_IDENTITY_AGGREGATION", "MACHINE_IDENTITY_DELETION", "ACCOUNT_DELETION",
)
TYPES_ALL = TYPES_V2025 + (
    "CLOUD_ENTITLEMENT_IMPORT", "CLOUD_UNCORRELATED_REFRESH", "CLOUD_IDENTITY_AGGREGATION",
    "CLOUD_ATTRIBUTE_SYNCHRONIZATION", "IDENTITY_REFRESH",
)

ApiVersion = collections.namedtuple("ApiVersion", (
    "name",                # the value of the api_version option
    "tasks_path",          # the task-status list; one task is tasks_path + "/" + id
    "experimental",        # whether the option experimental sends X-SailPoint-Experimental here
    "finished_only",       # whether the list returns only finished tasks
    "pending_tasks_path",  # the deprecated pending-tasks list, or None where there is none
    "filters",             # {field: operators} the list accepts in its filters parameter
    "types",               # the values the list accepts in a filter on type
    "load_accounts",       # account aggregation of a source: POST, "{id}" is the source id
    "load_entitlements",   # entitlement aggregation of a source: POST, "{id}" is the source id
))

# The order is the order of the api_version choices.
VERSIONS = (
    ApiVersion("v2026", "/v2026/task-status", True, False, None, _FILTERS_ALL, TYPES_ALL,
               "/v2026/sources/{id}/load-accounts", "/v2026/sources/{id}/load-entitlements"),
    ApiVersion("v2025", "/v2025/task-status", True, False, "/v2025/task-status/pending-tasks", _FILTERS_ISNULL,
               TYPES_V2025, "/v2025/sources/{id}/load-accounts", "/v2025/sources/{id}/load-entitlements"),
    ApiVersion("v2024", "/v2024/task-status", True, True, "/v2024/task-status/pending-tasks", _FILTERS_BASE,
               TYPES_ALL, "/v2024/sources/{id}/load-accounts", "/v2024/sources/{id}/load-entitlements"),
    ApiVersion("beta", "/beta/task-status", False, True, "/beta/task-status/pending-tasks", _FILTERS_BASE,
               TYPES_ALL, "/beta/sources/{id}/load-accounts", "/beta/sources/{id}/load-entitlements"),
    ApiVersion("v1", "/task-status/v1", False, False, None, _FILTERS_ALL, TYPES_ALL,
               "/sources/v1/{id}/load-accounts", "/sources/v1/{id}/load-entitlements"),
)

NAMES = tuple(version.name for version in VERSIONS)
BY_NAME = dict((version.name, version) for version in VERSIONS)


def get(name):
    """The row of an API version; IscError naming the accepted versions for any other name."""
    if isinstance(name, str) and name in BY_NAME:
        return BY_NAME[name]
    raise IscError("api_version must be one of %s, got %r" % (", ".join(NAMES), name))
