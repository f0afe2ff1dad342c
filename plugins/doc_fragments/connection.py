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
      - Base URL of the ISC API gateway, for example C(https://acme.api.identitynow.com).
      - If not set, O(tenant) is used, then the E(SAIL_BASE_URL) environment variable.
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
      - Seconds to wait for the server to connect and to answer each HTTP request.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a request that failed transiently (HTTP 429, 500, 502, 503, 504, connection
        reset) is retried. C(0) disables retries.
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
