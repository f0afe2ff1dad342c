# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error type of the collection, the hints that go with each failure, and the error built from an answer."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

REDACTED = "********"

GATEWAY_ROOT = "https://TENANT.api.identitynow.com"
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
BASE_URL_HINT = ("This path does not exist on the server: base_url must be the API gateway root (%s), without "
                 "a path such as /v3, /beta, /v2026 or /api (the collection adds the API version itself); "
                 "token_url, if set, must be the token endpoint (%s/oauth/token)." % (GATEWAY_ROOT, GATEWAY_ROOT))
NOT_FOUND_HINT = ("ISC has nothing at this path: check the id in it. If every call fails like this, base_url is not "
                  "the API gateway root (%s)." % GATEWAY_ROOT)
REDIRECT_HINT = ("The collection never follows redirects (a redirect could carry the credentials elsewhere): "
                 "set base_url (or token_url) to the address the API gateway answers at itself, "
                 "for example %s." % GATEWAY_ROOT)


def _spellings(secret):
    """The forms a secret takes in text: raw, repr- or backslash-escaped, JSON-escaped, percent-encoded."""
    forms = {secret, repr(secret)[1:-1], secret.encode("unicode_escape").decode("ascii"),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""), quote_plus(secret)}
    for form in list(forms):
        if "%" in form:
            # Percent-encoders differ in the case of the hex digits.
            forms.add("%".join(part if i == 0 else part[:2].lower() + part[2:]
                               for i, part in enumerate(form.split("%"))))
    forms.update([form.replace('"', '\\"') for form in list(forms)] + [form.replace("'", "\\'") for form in list(forms)])
    return forms


def redact(text, secrets):
    """Replace every occurrence of each secret in text, in every spelling of _spellings()."""
    if not text:
        return text
    forms = set()
    for secret in secrets:
        if secret and len(secret) >= 4:
            forms.update(_spellings(secret))
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= 4:
            text = text.replace(form, REDACTED)
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
                 tracking_id=None, messages=None, hint=None, retry_after=None, uncertain=False, path_missing=False):
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
        # True for a 404 or 405 that says the endpoint itself does not exist (the token endpoint, a list, a
        # base_url with a path): base_url is wrong, which must not read as "no such task".
        self.path_missing = path_missing

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
        """Return this error with every secret removed from its texts, then each text cut to a sane length
        (in this order: a secret cut in two would no longer be found)."""
        self.message = _cut(redact(self.message, secrets), MAX_MESSAGE)
        self.url = _cut(redact(self.url, secrets), MAX_MESSAGE)
        self.hint = redact(self.hint, secrets)
        self.detail_code = _cut(redact(self.detail_code, secrets), MAX_FIELD)
        self.tracking_id = _cut(redact(self.tracking_id, secrets), MAX_FIELD)
        self.messages = [_cut(redact(m, secrets), MAX_ITEM) for m in self.messages]
        self.args = (self.message,)
        return self


# Lengths texts from a server are cut to, after redaction.
MAX_MESSAGE = 1000
MAX_ITEM = 500
MAX_FIELD = 200


def _cut(text, limit):
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[:limit] + "..."


def _text(value):
    """A one-line text of a value from an answer (str as is, others as JSON), or None. Not cut here: an
    IscError cuts its texts after removing the secrets from them (IscError.redacted)."""
    if value is None or isinstance(value, (dict, list)) and not value:
        return None
    if not isinstance(value, str):
        try:
            value = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            return None
    value = " ".join(value.split())
    return value or None


def error_from_answer(status, method, url, data, parsed, content_type=None, reason=None, hint=None):
    """An IscError from a non-2xx answer, with SailPoint's ErrorResponseDto or OAuth details.

    data is the parsed JSON (parsed=True) of any shape; content_type the answer's Content-Type when its
    body was not JSON (None when the body was empty).
    """
    detail_code = tracking_id = None
    messages = []
    if parsed and isinstance(data, dict):
        detail_code = _text(data.get("detailCode"))
        tracking_id = _text(data.get("trackingId"))
        for key in ("messages", "causes"):
            items = data.get(key)
            for item in items if isinstance(items, list) else [items]:
                text = _text(item.get("text") if isinstance(item, dict) else item)
                if text and text not in messages:
                    messages.append(text)
        for key in ("error", "error_description", "message"):
            text = _text(data.get(key)) if isinstance(data.get(key), str) else None
            if text and text not in messages:
                messages.append(text)
    elif parsed:
        messages.append("a JSON %s where an error object was expected" % type(data).__name__)
    elif content_type is not None:
        kind = _text(content_type.split(";")[0]) or "unknown content type"
        messages.append("non-JSON answer (%s), probably from a proxy or load balancer" % kind)
    return IscError("ISC answered %s %s" % (status, _text(reason) or "error"), status=status, method=method,
                    url=url, detail_code=detail_code, tracking_id=tracking_id, messages=messages, hint=hint)
