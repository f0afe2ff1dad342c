# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The practical floor: the smallest hand-written loops over one keep-alive ``requests`` session.

    python floor.py list  [--page-size 250]
    python floor.py clear [--older-than 3600] [--status TERMINATED] [--rate-limit 100] [--rate-window 10]

Reads SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET like the collection's modules do, and prints one
JSON object (counts and the wall time inside the process) on stdout.

``list`` fetches a token, then every page of ``GET /v2026/task-status`` (``count=true`` on the first page, so
it stops at the server's total: ceil(N / page size) list requests), and parses every page as JSON.

``clear`` lists the pending tasks (``completionStatus isnull``) created more than ``--older-than`` seconds ago,
then sends one JSON Patch per task (completionStatus and completed). It keeps under the rate limit with
the least waiting that cannot trip it: a request is sent only when the request ``--rate-limit`` sends
earlier was answered at least ``--rate-window`` seconds ago (the server counts arrival times, which lie
between sending and the answer). No retries beyond waiting out a 429, no validation: a floor, not a tool.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from datetime import datetime, timezone

import requests

JSON_PATCH = "application/json-patch+json"


class Floor:
    def __init__(self, rate_limit=0, rate_window=10.0):
        self.url = os.environ["SAIL_BASE_URL"].rstrip("/")
        self.session = requests.Session()
        self.counts = collections.Counter()
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.answered = collections.deque()

    def token(self):
        response = self.session.post(self.url + "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": os.environ["SAIL_CLIENT_ID"],
            "client_secret": os.environ["SAIL_CLIENT_SECRET"]})
        self.counts["token"] += 1
        response.raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + response.json()["access_token"]

    def send(self, kind, method, path, **kwargs):
        while True:
            if self.rate_limit and len(self.answered) >= self.rate_limit:
                delay = self.answered[0] + self.rate_window - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.answered.popleft()
            response = self.session.request(method, self.url + path, **kwargs)
            self.answered.append(time.monotonic())
            self.counts[kind] += 1
            if response.status_code != 429:
                response.raise_for_status()
                return response
            self.counts["429"] += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def pages(self, page_size, filters=None):
        params = {"limit": page_size, "offset": 0, "count": "true"}
        if filters:
            params["filters"] = filters
        total = None
        records = []
        while total is None or len(records) < total:
            response = self.send("list", "GET", "/v2026/task-status", params=params)
            if total is None:
                total = int(response.headers["X-Total-Count"])
                del params["count"]
            page = response.json()
            records.extend(page)
            if len(page) < page_size:
                break
            params["offset"] += len(page)
        return records


def _epoch(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("list", "clear"))
    parser.add_argument("--page-size", type=int, default=250)
    parser.add_argument("--older-than", type=float, default=3600.0)
    parser.add_argument("--status", default="TERMINATED")
    parser.add_argument("--rate-limit", type=int, default=100)
    parser.add_argument("--rate-window", type=float, default=10.0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    floor = Floor(args.rate_limit if args.mode == "clear" else 0, args.rate_window)
    floor.token()
    result = {}
    if args.mode == "list":
        result["records"] = len(floor.pages(args.page_size))
    else:
        cutoff = time.time() - args.older_than
        stuck = [task for task in floor.pages(250, "completionStatus isnull") if _epoch(task["created"]) < cutoff]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for task in stuck:
            operations = [{"op": "replace", "path": "/completionStatus", "value": args.status},
                          {"op": "replace", "path": "/completed", "value": now}]
            floor.send("patch", "PATCH", "/v2026/task-status/" + task["id"], data=json.dumps(operations),
                       headers={"Content-Type": JSON_PATCH})
        result["cleared"] = len(stuck)
    result.update(wall=time.perf_counter() - start, requests=dict(floor.counts))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
