# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module of identitynow.tasks."""

    DOCUMENTATION = r"""
options:
  base_url:
    description:
      - "Base URL of the ISC API gateway, for example C(https://acme.api.identitynow.com): the gateway root,
        without a path such as C(/v3), C(/beta), C(/v2026) or C(/api) (the collection adds the API version)."
      - If not set, O(tenant) is used, then the E(SAIL_BASE_URL) environment variable.
      - C(https://) is required. C(http://) is accepted for this machine only (C(localhost), C(127.0.0.0/8),
        C(::1)), for example a local test server, unless O(allow_insecure_http) is true.
      - "Redirects are never followed: a redirect answer fails the task and names the address it pointed to."
      - Mutually exclusive with O(tenant).
    type: str
  tenant:
    description:
      - Tenant name; turned into C(https://{tenant}.api.identitynow.com).
      - Mutually exclusive with O(base_url).
    type: str
  client_id:
    description:
      - OAuth2 client ID of a personal access token or an API client.
      - If not set, the E(SAIL_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - OAuth2 client secret matching O(client_id).
      - If not set, the E(SAIL_CLIENT_SECRET) environment variable is used.
    type: str
  access_token:
    description:
      - A bearer token to use instead of the client-credentials grant.
      - An explicitly given O(access_token) wins over O(client_id)/O(client_secret). The
        E(SAIL_ACCESS_TOKEN) environment variable is used only when no client credentials are set
        by option or environment.
      - A given token cannot be renewed; a run that outlives it fails with HTTP 401.
    type: str
  token_url:
    description:
      - OAuth2 token endpoint. Defaults to O(base_url) followed by C(/oauth/token).
      - The same rules as for O(base_url) apply (C(https://), or C(http://) to this machine).
    type: str
  api_version:
    description:
      - API generation to call. C(v2024), C(v2025), C(v2026) and C(beta) use C(/{version}/task-status);
        C(v1) uses the per-resource path C(/task-status/v1).
      - The versions differ in the filters they accept; see the module documentation.
    type: str
    default: v2026
    choices: [v2026, v2025, v2024, beta, v1]
  experimental:
    description:
      - "Send the header C(X-SailPoint-Experimental: true) on the year-versioned paths (C(v2024), C(v2025),
        C(v2026)). The header is harmless where an endpoint is no longer experimental."
    type: bool
    default: true
  validate_certs:
    description:
      - Verify the server's TLS certificate. Turning this off is insecure and emits a warning.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to verify the server with, instead of the system store.
    type: path
  timeout:
    description:
      - Seconds one HTTP exchange may take in all, connecting, sending and reading the whole answer. A server
        that never answers, or trickles its answer (headers or body), is cut off after O(timeout) plus at most
        half a second.
      - "Upper bound of a task without O(ignore:wait): each request takes at most (O(max_retries) + 1) x
        O(timeout) plus its waits between attempts (a backoff of at most 8 s each, or a C(Retry-After) of at
        most O(retry_max_wait)); a renewed token can add one more such exchange. With the defaults that is
        6 x 30 s plus at most 15.5 s of backoff (about 3.3 minutes) for a request that never gets a useful
        answer, plus up to 5 x 120 s if ISC keeps answering HTTP 429 with a long C(Retry-After). A task sends
        one request per task read or changed, and one per page of a list."
      - With O(ignore:wait=true), the wait timeout of the module bounds every request and retry as well; none
        is started or continued past it.
      - Answers larger than 32 MiB (counted after decompression) are refused with an error.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a request that failed transiently (HTTP 429, 500, 502, 503, 504, connection
        reset or refused, timeout) is retried. C(0) disables retries.
      - Failures that cannot get better are not retried, whatever O(max_retries) says, and their message
        gives the reason; they are a TLS certificate that does not verify, a host name that does not resolve, a
        redirect, HTTP 4xx other than 429, an answer of the wrong shape or above the size limit.
    type: int
    default: 5
  retry_max_wait:
    description:
      - Longest single wait, in seconds, the client accepts before a retry, including a
        C(Retry-After) sent with HTTP 429. A longer C(Retry-After) fails the task at once with the
        advertised wait instead of sleeping through it.
    type: float
    default: 120
  rate_limit:
    description:
      - Requests the client sends at most per O(rate_limit_window), per API version. The default
        matches the documented ISC gateway limit, so long runs rarely receive HTTP 429.
      - "The window is shared by every module run on the same host with the same client ID (for
        O(access_token), the client ID the token names) and API version, as the gateway counts them: the
        request times are kept in a small file (times only, never credentials) in a directory that only the
        user can write, C($XDG_RUNTIME_DIR/identitynow.tasks) or else C(identitynow.tasks-<uid>) in the
        temporary directory; a file or directory there that fails its checks is left alone, and pacing is
        then per module run, with a warning. So a list task followed at once by a task that sends many PATCH
        requests stays under the limit too."
      - A request counts from the moment its answer arrives, so that a slow answer cannot let the next
        window start too early.
      - C(0) disables pacing.
    type: int
    default: 100
  rate_limit_window:
    description:
      - Length in seconds of the window O(rate_limit) is counted over.
    type: float
    default: 10
  allow_insecure_http:
    description:
      - Accept an C(http://) O(base_url) or O(token_url) that names another host than this machine.
      - The client secret, the tokens and every answer then cross the network in clear text; the task warns
        about it on every run. Meant only for a network you trust, such as a test proxy.
      - C(http://) to this machine (C(localhost), C(127.0.0.0/8), C(::1)) needs no opt-in.
    type: bool
    default: false
notes:
  - Options given to the task, directly or through C(module_defaults), always win over environment
    variables.
  - "Precedence of the URL: O(base_url), then O(tenant), then E(SAIL_BASE_URL)."
  - "Precedence of credentials: O(access_token), then O(client_id)/O(client_secret) (option, else
    E(SAIL_CLIENT_ID)/E(SAIL_CLIENT_SECRET)), then E(SAIL_ACCESS_TOKEN)."
  - Updating a task status needs a token with user context, that is a personal access token; tokens of
    API clients without user context can only read.
requirements:
  - requests
"""

    ATTRIBUTES = r"""
attributes:
  action_group:
    description: Use C(group/identitynow.tasks.isc) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - identitynow.tasks.isc
"""
