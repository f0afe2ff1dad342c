# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a Python program as a child process and log its peak memory: the benchmark's interpreter wrapper.

    python -S -I rss.py LOG_FILE PYTHON ARGS...

Runs ``PYTHON ARGS...`` with this process's stdin, stdout and stderr, waits for it with ``os.wait4`` (the
kernel's resource usage of that one child: ``ru_maxrss``, its peak resident set size, in KiB on Linux),
appends one JSON line ``{"program", "start", "end", "maxrss_kb", "exit"}`` to LOG_FILE and exits with the
child's status. bench.py points ``ansible_python_interpreter`` at a small shell script that calls this, so
every module process Ansible starts (AnsiballZ runs the module inside that process) is measured. Standard
library only; ``-S -I`` keep its own start-up short (about 15 ms) and independent of the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv):
    log, python, args = argv[0], argv[1], argv[2:]
    start = time.time()
    child = subprocess.Popen([python] + args)
    dummy, status, usage = os.wait4(child.pid, 0)
    child.returncode = code = os.waitstatus_to_exitcode(status)
    end = time.time()
    program = os.path.basename(args[0]) if args else ""
    with open(log, "a") as handle:
        handle.write(json.dumps({"program": program, "start": start, "end": end, "maxrss_kb": usage.ru_maxrss,
                                 "exit": code}) + "\n")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
