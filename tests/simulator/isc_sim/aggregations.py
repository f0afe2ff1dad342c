# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Sources and the two operations that start their aggregations: ``load-accounts`` and ``load-entitlements``.

Facts from the Source Aggregation API, for every generation (beta, v2024, v2025, v2026, per-resource v1):

- both operations are POST; the answer is 202 with a body that differs per operation: load-accounts wraps the task
  in ``{"success": true, "task": {...}}`` (name in ``task.name``), load-entitlements returns the task itself (name in
  ``uniqueName``, no status fields);
- load-accounts takes multipart/form-data with ``file`` and ``disableOptimization`` (a string); beta also takes an
  urlencoded body (no file) and allows only the strings ``true`` and ``false``; load-entitlements takes ``file`` only;
- a delimited-file source needs the CSV file; a multipart Content-Type with no body is answered 500 (documented for
  the older entitlement endpoint and seen live on load-entitlements);
- load-entitlements (every generation) and beta load-accounts accept only tokens with a user context;
- a start while an aggregation of the same kind runs on the source still gets 202, and its task then fails with the
  "currently running aggregation must complete" message.
"""

from __future__ import annotations

from .timeutil import format_ms

OPERATIONS = {"load-accounts": "accounts", "load-entitlements": "entitlements"}
TASK_NAMES = {"accounts": "Cloud Account Aggregation", "entitlements": "Cloud Group Aggregation"}
SOURCE_KINDS = ("direct", "delimited-file")
SOURCE_OUTCOMES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR", "STUCK")
OVERLAP_TEXT = ("This aggregation failed because the currently running aggregation must complete before the next "
                "one can start.")
#: How long the task of an overlapping start runs before it fails, in seconds.
OVERLAP_DURATION = 1
TIMESTAMP_FORMS = ("iso", "epoch_ms")

_ACCOUNT_RETURNS = (
    ("APPLICATIONS", "applications"), ("TOTAL", "total"), ("OPTIMIZED", "optimizedAggregation"),
    ("IGNORED", "ignored"), (None, "optimized"), ("CREATED", "created"), ("UPDATED", "updated"),
    ("DELETED", "deleted"), ("MANAGER_CHANGES", "managerChanges"), ("BUSINESS_ROLE_CHANGES", "detectedRoleChanges"),
    ("EXCEPTION_CHANGES", "exceptionChanges"), ("POLICIES", "policies"), ("POLICY_VIOLATIONS", "policyViolations"),
    ("POLICY_NOTIFICATIONS", "policyNotifications"), ("SCORES_CHANGED", "scoresChanged"),
    ("SNAPSHOTS_CREATED", "snapshotsCreated"), ("SCOPES_CREATED", "scopesCreated"),
    ("SCOPES_CORRELATED", "scopesCorrelated"), ("SCOPES_SELECTED", "scopesSelected"),
    ("SCOPES_DORMANT", "scopesDormant"), ("UNSCOPED_IDENTITIES", "unscopedIdentities"),
    ("CERTIFICATIONS_CREATED", "certificationsCreated"), ("CERTIFICATIONS_DELETED", "certificationsDeleted"),
    ("APPLICATIONS_GENERATED", "applicationsGenerated"), ("MANAGED_ATTRIBUTES_PROMOTED", "managedAttributesCreated"),
    ("MANAGED_ATTRIBUTES_PROMOTED_BY_APP", "managedAttributesCreatedByApplication"),
    ("IDENTITYENTITLEMENTS_CREATED", "identityEntitlementsCreated"), ("GROUPS_CREATED", "groupsCreated"),
)
#: The ``returns`` list of a load-accounts answer (the label of "optimized" has its own prefix).
ACCOUNT_RETURNS = [{"displayLabel": "TASK_OUT_ACCOUNT_AGGREGATION_" + label if label else "TASK_OUT_UNCHANGED_ACCOUNTS",
                    "attributeName": name} for label, name in _ACCOUNT_RETURNS]
#: The ``returns`` list of a load-entitlements answer.
GROUP_RETURNS = [{"displayLabel": "TASK_OUT_ACCOUNT_GROUP_AGGREGATION_" + label, "attributeName": name}
                 for label, name in (("APPLICATIONS", "applications"), ("TOTAL", "total"),
                                     ("CREATED", "groupsCreated"), ("UPDATED", "groupsUpdated"),
                                     ("DELETED", "groupsDeleted"))]


def user_context_only(operation: str, version: str) -> bool:
    """Whether the operation declares only user tokens (userAuth): load-entitlements, and load-accounts on beta."""
    return operation == "entitlements" or version == "beta"


class Source:
    """A source of the tenant: id, name, kind (direct or delimited-file) and how its aggregations end."""

    __slots__ = ("id", "name", "kind", "outcome", "duration")

    def __init__(self, source_id: str, name: str, kind: str, outcome: str, duration: float):
        self.id = source_id
        self.name = name
        self.kind = kind
        self.outcome = outcome
        self.duration = duration

    def json(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind, "outcome": self.outcome,
                "duration": self.duration}


def timestamp(ms: int, form: str):
    """An instant as the 202 bodies carry it: an ISO 8601 string (the schema) or epoch milliseconds (seen live)."""
    return ms if form == "epoch_ms" else format_ms(ms)


def accounts_body(record: dict, task, optimized: bool, form: str) -> dict:
    """The 202 body of load-accounts (LoadAccountsTask) for the task just created; keys in the order seen live."""
    body = {
        "type": record["type"],
        "id": record["id"],
        "name": record["uniqueName"],
        "description": record["description"],
        "parentName": None,
        "launcher": record["launcher"],
        "created": timestamp(task.created, form),
        "launched": None if record["launched"] is None else timestamp(task.launched_at, form),
        "completed": None,
        "completionStatus": None,
        "messages": [],
        "returns": ACCOUNT_RETURNS,
        "progress": "Initializing...",
        "attributes": {"appId": task.source_id, "optimizedAggregation": "enabled" if optimized else "disabled"},
    }
    return {"success": True, "task": body}


def entitlements_body(record: dict, task, form: str) -> dict:
    """The 202 body of load-entitlements (LoadEntitlementTask): the task itself, without status fields."""
    return {
        "id": record["id"],
        "type": record["type"],
        "uniqueName": record["uniqueName"],
        "description": record["description"],
        "launcher": record["launcher"],
        "created": timestamp(task.created, form),
        "returns": GROUP_RETURNS,
    }
