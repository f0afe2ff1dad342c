# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's own code without Ansible: what task_status_info does, in a plain Python process.

    python client_only.py COLLECTIONS_PATH [--page-size 250]

Imports the collection's module_utils from COLLECTIONS_PATH (the folder above ansible_collections), builds
the query task_status_info builds for ``page_size: N, max_results: 0`` and runs it (task_query.run over
IscClient: token, pages, summary), then serialises the result with the standard json module. No
AnsibleModule, no AnsiballZ, no controller. Reads SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET
and prints one JSON object: records, seconds in task_query.run, seconds in json.dumps, wall inside the
process. bench.py compares it with floor.py and with the module, to show where the module's time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None):
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collections")
    parser.add_argument("--page-size", type=int, default=250)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.collections))
    # pylint: disable=import-outside-toplevel,import-error
    from ansible_collections.identitynow.tasks.plugins.module_utils import connection, task_query
    from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient

    params = {"page_size": args.page_size, "max_results": 0, "count": False, "wait": False, "wait_timeout": 600.0,
              "wait_sleep": 5.0, "wait_sleep_max": 30.0, "fail_on_missing": False,
              "client_id": os.environ["SAIL_CLIENT_ID"], "client_secret": os.environ["SAIL_CLIENT_SECRET"]}
    client = IscClient(**connection.resolve_connection(params))
    query = task_query.build_query(params)
    run_start = time.perf_counter()
    outcome = task_query.run(client, query)
    run_end = time.perf_counter()
    text = json.dumps(outcome.result)
    dump_end = time.perf_counter()
    result = {"records": len(outcome.result.get("task_statuses") or []), "run": run_end - run_start,
              "dumps": dump_end - run_end, "bytes": len(text), "wall": dump_end - start}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
