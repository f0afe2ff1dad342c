# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error type of the collection, and the hints that go with each failure."""

from __future__ import annotations

REDACTED = "********"

HINTS = {
    400: "ISC rejected the request as invalid; its messages above say which part.",
    401: ("The credentials were rejected or the token expired: check client_id/client_secret "
          "(SAIL_CLIENT_ID/SAIL_CLIENT_SECRET) or access_token, and that the client belongs to this tenant."),
    403: ("The token lacks the rights for this call: reading needs idn:task-management:read "
          "(or sp:scopes:all) and an admin user level."),
    404: ("No such task: the id is unknown, or the task is older than 90 days "
          "(ISC returns no data for tasks older than 90 days)."),
    415: "ISC accepts task-status updates only as application/json-patch+json.",
    429: ("ISC rate limit reached (100 requests per 10 seconds per client and API version): "
          "wait for the Retry-After period, lower rate_limit, or raise retry_max_wait."),
}
PATCH_403_HINT = ("Updating a task status needs a token with user context: use a personal access token "
                  "(not an API client from the client-credentials grant) whose user holds an admin level, "
                  "with the idn:task-management:write or sp:scopes:all scope.")
SERVER_HINT = "ISC answered with a server-side fault; it persisted through the retries, try again later."
NETWORK_HINT = "Check base_url/tenant, the network path to ISC, proxies and timeout."


def redact(text, secrets):
    """Replace every occurrence of each secret in text."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def hint_for(status, method=None):
    if status == 403 and method == "PATCH":
        return PATCH_403_HINT
    if status in HINTS:
        return HINTS[status]
    if status and status >= 500:
        return SERVER_HINT
    return None


class IscError(Exception):
    """A failed call to ISC, or input that cannot be sent to it.

    Carries what a user needs to act: HTTP status, method and URL (never secrets),
    SailPoint's detailCode, trackingId and messages, and a hint.
    """

    def __init__(self, message, status=None, method=None, url=None, detail_code=None,
                 tracking_id=None, messages=None, hint=None, retry_after=None, uncertain=False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.detail_code = detail_code
        self.tracking_id = tracking_id
        self.messages = list(messages or [])
        self.hint = hint if hint is not None else hint_for(status, method)
        self.retry_after = retry_after
        # True when a write may or may not have been applied (the answer was lost).
        self.uncertain = uncertain

    def __str__(self):
        parts = [self.message]
        if self.status:
            parts.append("HTTP %s" % self.status)
        if self.method and self.url:
            parts.append("%s %s" % (self.method, self.url))
        if self.detail_code:
            parts.append("detailCode: %s" % self.detail_code)
        if self.tracking_id:
            parts.append("trackingId: %s" % self.tracking_id)
        if self.messages:
            parts.append("messages: %s" % "; ".join(self.messages))
        text = " | ".join(parts)
        if self.hint:
            text += ". Hint: " + self.hint
        return text

    def to_result(self):
        """Keyword arguments for AnsibleModule.fail_json()."""
        result = dict(msg=str(self))
        for key in ("status", "method", "url", "detail_code", "tracking_id", "hint", "retry_after"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        if self.messages:
            result["error_messages"] = self.messages
        return result

    def redacted(self, secrets):
        """Return this error with every secret removed from its texts."""
        self.message = redact(self.message, secrets)
        self.url = redact(self.url, secrets)
        self.messages = [redact(m, secrets) for m in self.messages]
        self.args = (self.message,)
        return self
