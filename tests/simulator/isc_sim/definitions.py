# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Task definitions the simulator knows, and the filter values of ``type`` that select them.

The list endpoint's ``type`` filter does not take the TaskStatus ``type`` enum (QUARTZ, QPOC, QUEUED_TASK) but
task-definition codes such as CLOUD_ACCOUNT_AGGREGATION; each code selects the tasks of one definition.
"""

from __future__ import annotations

import hashlib


class TaskDefinition:
    """One task definition: how its TaskStatus records are named and how they describe their progress."""

    __slots__ = ("code", "unique_name", "description", "verb", "noun", "per_source", "id", "summary", "returns")

    def __init__(self, code, unique_name, description, verb, noun, per_source, method):
        self.code = code
        self.unique_name = unique_name
        self.description = description
        self.verb = verb
        self.noun = noun
        self.per_source = per_source
        self.id = stable_id("definition", unique_name)
        self.summary = {
            "id": self.id,
            "uniqueName": unique_name,
            "description": description,
            "parentName": unique_name,
            "executor": "sailpoint.task.ServiceTaskExecutor",
            "arguments": {
                "serviceClass": "sailpoint.thunderbolt.service.%sService" % ("Aggregation" if per_source else "Task"),
                "serviceMethod": method,
                "eventClassesCsv": "sailpoint.thunderbolt.events.TaskEvents",
            },
        }
        self.returns = [
            {"name": "%s Scanned" % noun.title(), "attributeName": "total"},
            {"name": "%s Created" % noun.title(), "attributeName": "created"},
            {"name": "%s Updated" % noun.title(), "attributeName": "updated"},
            {"name": "%s Deleted" % noun.title(), "attributeName": "deleted"},
        ]


def stable_id(*parts: str) -> str:
    """A deterministic 32-hex-character id derived from ``parts``."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


_TABLE = [
    # code, uniqueName, description, progress verb, noun, runs against a source, service method
    ("CLOUD_ACCOUNT_AGGREGATION", "Cloud Account Aggregation", "Aggregates accounts from the specified source.",
     "Aggregating", "accounts", True, "accountAggregationTask"),
    ("CLOUD_GROUP_AGGREGATION", "Cloud Group Aggregation", "Aggregates groups (entitlements) from the specified source.",
     "Aggregating", "groups", True, "groupAggregationTask"),
    ("CLOUD_PROCESS_UNCORRELATED_ACCOUNTS", "Cloud Process Uncorrelated Accounts",
     "Correlates the uncorrelated accounts of the specified source.", "Correlating", "accounts", True,
     "processUncorrelatedAccounts"),
    ("CLOUD_REFRESH_ROLE", "Cloud Refresh Role", "Refreshes role membership.", "Refreshing", "roles", False, "refreshRoles"),
    ("SOURCE_APPLICATION_DISCOVERY", "Source Application Discovery", "Discovers applications on the specified source.",
     "Discovering", "applications", True, "sourceApplicationDiscovery"),
    ("AI_AGENT_AGGREGATION", "AI Agent Aggregation", "Aggregates AI agents from the specified source.",
     "Aggregating", "agents", True, "aiAgentAggregation"),
    ("CLOUD_ENTITLEMENT_IMPORT", "Cloud Entitlement Import", "Imports entitlements from a file for the specified source.",
     "Importing", "entitlements", True, "entitlementImport"),
    ("CLOUD_UNCORRELATED_REFRESH", "Cloud Uncorrelated Refresh", "Refreshes uncorrelated accounts.",
     "Refreshing", "accounts", True, "uncorrelatedRefresh"),
    ("CLOUD_IDENTITY_AGGREGATION", "Cloud Identity Aggregation", "Aggregates identities from the authoritative source.",
     "Aggregating", "identities", True, "identityAggregation"),
    ("CLOUD_ATTRIBUTE_SYNCHRONIZATION", "Cloud Attribute Synchronization",
     "Synchronizes identity attributes to the specified source.", "Synchronizing", "accounts", True, "attributeSync"),
    ("IDENTITY_REFRESH", "Identity Refresh", "Refreshes identities and their access.",
     "Refreshing", "identities", False, "identityRefresh"),
    ("APPLICATION_DISCOVERY", "Application Discovery", "Discovers applications.",
     "Discovering", "applications", False, "applicationDiscovery"),
    ("MACHINE_IDENTITY_AGGREGATION", "Machine Identity Aggregation",
     "Aggregates machine identities from the specified source.", "Aggregating", "machine identities", True,
     "machineIdentityAggregation"),
    ("MACHINE_IDENTITY_DELETION", "Machine Identity Deletion", "Deletes machine identities of the specified source.",
     "Deleting", "machine identities", True, "machineIdentityDeletion"),
    ("ACCOUNT_DELETION", "Account Deletion", "Deletes accounts of the specified source.",
     "Deleting", "accounts", True, "accountDeletion"),
]

DEFINITIONS = [TaskDefinition(*row) for row in _TABLE]

#: The identity behind the personal access token client; also the default launcher of created tasks.
ADMIN_IDENTITY_ID = stable_id("identity", "sim.admin")

BY_NAME = {d.unique_name: d for d in DEFINITIONS}
BY_CODE = {d.code: d for d in DEFINITIONS}

#: ``type`` filter codes per API version (v2025 documents a 10-value subset; beta and v2024 document none and
#: are taken to accept the full list).
_V2025_MISSING = {"CLOUD_ENTITLEMENT_IMPORT", "CLOUD_UNCORRELATED_REFRESH", "CLOUD_IDENTITY_AGGREGATION",
                  "CLOUD_ATTRIBUTE_SYNCHRONIZATION", "IDENTITY_REFRESH"}
TYPE_CODES = {
    "v2026": frozenset(BY_CODE),
    "v1": frozenset(BY_CODE),
    "v2025": frozenset(BY_CODE) - _V2025_MISSING,
    "v2024": frozenset(BY_CODE),
    "beta": frozenset(BY_CODE),
}
