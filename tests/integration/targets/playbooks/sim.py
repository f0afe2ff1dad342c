# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control of the simulated tenant for runme.sh, with the standard library only.

    python sim.py URL reset SCENARIO [TASKS_JSON [RACE_WINDOW]]
                                                     reset, optionally create tasks (a JSON list of task specs),
                                                     with a race window of 0.3 s or RACE_WINDOW seconds
    python sim.py URL advance SECONDS                move the simulator clock forward
    python sim.py URL status ID                      print the completionStatus of a task ("None" while pending)
    python sim.py URL patches                        print the number of PATCH requests logged since the reset
"""

from __future__ import annotations

import json
import sys
import urllib.request


def call(url, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + "/__sim__/" + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def main(url, command, *args):
    if command == "reset":
        race_window = float(args[2]) if len(args) > 2 else 0.3
        call(url, "reset", {"scenario": args[0], "settings": {"race_window": race_window}})
        if len(args) > 1:
            call(url, "tasks", {"tasks": json.loads(args[1])})
    elif command == "advance":
        call(url, "clock", {"advance": float(args[0])})
    elif command == "status":
        tasks = dict((task["id"], task) for task in call(url, "tasks")["tasks"])
        print(tasks[args[0]]["completionStatus"])
    elif command == "patches":
        print(sum(1 for entry in call(url, "log")["requests"] if entry["method"] == "PATCH"))
    else:
        raise SystemExit("unknown command %s" % command)


if __name__ == "__main__":
    main(*sys.argv[1:])
