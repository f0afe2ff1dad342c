# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The benchmark harness of identitynow.tasks (``make bench``; ``make bench-smoke`` for tiny sizes).

    python tests/bench/bench.py [--smoke] [--cases 1,2,3,6] [--out bench-results] [--collections PATH]

Starts the simulated tenant (``python -m isc_sim``) as a separate process on 127.0.0.1, runs every case
against it with the documented rate limit (100 requests per 10 s per client and API version) and token
lifetime, and prints one table: case, measure, ours, alternatives, ratio, target, met / not met. The same
rows, with the raw numbers, the machine and the settings, go to ``OUT/bench-YYYYMMDD-HHMMSS.json`` and
``OUT/latest.json``; the table to ``OUT/latest.md``; every ansible-playbook output to ``OUT/logs/``.

Request counts come from the simulator's request log, times from the harness (whole runs) and from the
bench_timer callback (task start and end as Ansible sees them), peak memory from ``os.wait4`` on the
module process (see rss.py). floor.py is the hand-written floor; client_only.py runs the collection's own
code without Ansible, to show where a module's time goes. Nothing is tuned to a target: a target that is missed is printed "not met".
Cases 1-5 are methods of ``Bench``; further cases live in their own files, ``tests/bench/extra/*.py`` (see
``extra/__init__.py`` for their interface), and join the same run, table and JSON.
See docs/benchmarks.md for what each case measures and how to read the table.

Exit status: 0 when every case ran (whatever the targets say), 1 when a case could not run.
"""

from __future__ import annotations

import argparse
import ast
import collections
import glob
import importlib.util
import http.client
import json
import math
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIM_DIR = os.path.join(ROOT, "tests", "simulator")
sys.path.insert(0, SIM_DIR)

from isc_sim.control import SimControl  # noqa: E402  pylint: disable=wrong-import-position

PAT = ("sim-pat-client", "sim-pat-secret")
# The simulator's documented defaults, set explicitly on every reset so that no SIM_* variable of the
# caller's environment changes what is measured.
REAL_LIMITS = {"rate_limit": 100, "rate_window": 10, "token_ttl": 749, "race_window": 2}
LIST_PATH = re.compile(r"^/(?:v2024|v2025|v2026|beta)/task-status(?:/pending-tasks)?$|^/task-status/v1$")

SIZES = {
    "full": {
        "list_tasks": 10000, "page_size": 250, "floor_repeat": 3, "null_repeat": 3,
        "wait_tasks": 50, "wait_first": 8.0, "wait_last": 20.0, "wait_interval": 2.0, "short_ttl": 10,
        "clear_tasks": 500, "clear_floor_py": True, "get_repeat": 5, "headroom_seconds": 3.0,
    },
    "smoke": {
        "list_tasks": 600, "page_size": 250, "floor_repeat": 1, "null_repeat": 1,
        "wait_tasks": 6, "wait_first": 3.0, "wait_last": 5.0, "wait_interval": 1.0, "short_ttl": 3,
        "clear_tasks": 101, "clear_floor_py": False, "get_repeat": 1, "headroom_seconds": 0.5,
    },
}
CASE_TITLES = {
    1: "list tasks",
    2: "wait on running aggregations",
    3: "clear stuck tasks",
    4: "one task, one call",
    5: "simulator headroom",
}
BUILTIN_CASES = tuple(CASE_TITLES)


EXTRA_DIR = os.path.join(HERE, "extra")
EXTRA_NAMES = ("NUMBER", "TITLE")


class BenchError(RuntimeError):
    """A case that could not run (not a missed target)."""


# -- cases in their own files ------------------------------------------------------------------------

class ExtraCase:
    """A case of tests/bench/extra/NAME.py. NUMBER and TITLE are read from the file without importing it, so
    that a file that does not import still has its case number, its row and its error in the report; the
    module itself is imported when its case runs."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if node.targets[0].id in EXTRA_NAMES:
                    found[node.targets[0].id] = ast.literal_eval(node.value)
        missing = [name for name in EXTRA_NAMES if name not in found]
        if missing:
            raise ValueError("%s: no literal %s at the top level" % (path, " and ".join(missing)))
        if not isinstance(found["NUMBER"], int) or not isinstance(found["TITLE"], str):
            raise ValueError("%s: NUMBER must be an int and TITLE a str" % path)
        self.number, self.title = found["NUMBER"], found["TITLE"]

    def load(self):
        """Import the file; returns the module after checking SIZES and run()."""
        spec = importlib.util.spec_from_file_location("bench_extra_" + self.name, self.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sizes = getattr(module, "SIZES", None)
        if not isinstance(sizes, dict) or not all(isinstance(sizes.get(k), dict) for k in ("full", "smoke")):
            raise BenchError("%s: SIZES must be {'full': {...}, 'smoke': {...}}" % self.path)
        if not callable(getattr(module, "run", None)):
            raise BenchError("%s: no run(bench, size)" % self.path)
        return module


def extra_cases(folder=EXTRA_DIR):
    """The cases of folder/*.py (files starting with _ excluded), by number. A file whose NUMBER or TITLE
    cannot be read, or whose number is taken, is a ValueError: the run cannot say which case it is."""
    cases = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.py"))):
        if os.path.basename(path).startswith("_"):
            continue
        try:
            case = ExtraCase(path)
        except (SyntaxError, ValueError) as exc:
            raise ValueError("bench case file %s: %s" % (path, exc)) from exc
        taken = cases.get(case.number) or (case.number in BUILTIN_CASES and "bench.py")
        if taken:
            raise ValueError("bench case file %s: case number %d is taken by %s" % (
                path, case.number, getattr(taken, "path", taken)))
        cases[case.number] = case
    return cases


# -- small helpers ---------------------------------------------------------------------------------

def sim_epoch(text):
    """Seconds since the epoch of a simulator timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def fmt_s(seconds):
    if seconds is None:
        return "n/a"
    return "%.2f s" % seconds if seconds < 100 else "%.1f s" % seconds


def fmt_x(ratio):
    return "n/a" if ratio is None else "%.2fx" % ratio


def fmt_mb(kib):
    return "n/a" if kib is None else "%.0f MB" % (kib / 1024.0)


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / float(denominator)


def within(value, low=None, high=None):
    """True or False for a measured value against a bound; None (no verdict) when nothing was measured."""
    if value is None:
        return None
    return (low is None or value >= low) and (high is None or value <= high)


def kind_of(entry):
    path, method = entry.get("path") or "", entry.get("method")
    if path == "/oauth/token":
        return "token"
    if LIST_PATH.match(path):
        return "list"
    if method == "PATCH":
        return "patch"
    if method == "GET":
        return "get"
    return "other"


class Requests:
    """What the simulator's request log says about one run."""

    def __init__(self, entries):
        self.entries = entries
        self.counts = collections.Counter()
        for entry in entries:
            kind = kind_of(entry)
            self.counts[kind] += 1
            if kind != "token":
                self.counts["api"] += 1
            if entry.get("status") is not None and 200 <= entry["status"] < 300:
                self.counts[kind + "_ok"] += 1
            if entry.get("status") == 429:
                self.counts["429"] += 1
            elif entry.get("status") is None or entry["status"] >= 400:
                self.counts["errors"] += 1

    def __getitem__(self, key):
        return self.counts.get(key, 0)

    def times(self, kind=None):
        return [sim_epoch(e["time"]) for e in self.entries if kind is None or kind_of(e) == kind]

    def span(self, kind=None):
        times = self.times(kind)
        return (max(times) - min(times)) if len(times) > 1 else 0.0

    def rate(self, kind="list"):
        """Requests per second of one kind between the first and the last of them."""
        times = self.times(kind)
        span = self.span(kind)
        return (len(times) - 1) / span if span > 0 else None

    def rejected(self):
        """Each 429: which API request of the run it answered (1-based), its kind, seconds after the first."""
        api = [e for e in self.entries if kind_of(e) != "token"]
        if not api:
            return []
        first = sim_epoch(api[0]["time"])
        return [{"request": index + 1, "kind": kind_of(e), "method": e["method"], "path": e["path"],
                 "after": round(sim_epoch(e["time"]) - first, 3)}
                for index, e in enumerate(api) if e.get("status") == 429]

    def describe_429(self):
        rejected = self.rejected()
        if not rejected:
            return "0"
        shown = ", ".join("%s #%d at +%.1f s" % (r["kind"], r["request"], r["after"]) for r in rejected[:3])
        return "%d (%s)" % (len(rejected), shown)

    def as_dict(self):
        return dict(self.counts, rejected=self.rejected())


class Row:
    """One line of the table."""

    def __init__(self, case, measure, ours, alternatives="", ratio_text="", target="", met=None, data=None):
        self.case = case
        self.measure = measure
        self.ours = ours
        self.alternatives = alternatives
        self.ratio = ratio_text
        self.target = target
        self.met = met
        self.data = data or {}

    @property
    def status(self):
        if self.met is None:
            return "-" if not self.target else "n/a"
        return "met" if self.met else "NOT MET"

    def as_dict(self):
        return {"case": self.case, "measure": self.measure, "ours": self.ours, "alternatives": self.alternatives,
                "ratio": self.ratio, "target": self.target, "status": self.status, "met": self.met,
                "data": self.data}


# -- the simulator -----------------------------------------------------------------------------------

class Simulator:
    """``python -m isc_sim`` in its own process on a free loopback port."""

    def __init__(self, python, log_path, env=None):
        handle, port_file = tempfile.mkstemp(prefix="isc-sim-port-")
        os.close(handle)
        os.unlink(port_file)
        settings = env or {}
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SIM_"))
        env.update(SIM_PORT="0", SIM_SCENARIO="empty", PYTHONPATH=SIM_DIR)
        env.update(settings)
        self.log = open(log_path, "w")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [python, "-m", "isc_sim", "--port-file", port_file], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        port = None
        while time.monotonic() < deadline and port is None:
            if self.proc.poll() is not None:
                raise BenchError("the simulator exited with status %s (see %s)" % (self.proc.returncode, log_path))
            try:
                with open(port_file) as stream:
                    port = stream.read().strip() or None
            except OSError:
                time.sleep(0.05)
        if port is None:
            self.stop()
            raise BenchError("the simulator did not start within 30 s")
        os.unlink(port_file)
        self.url = "http://127.0.0.1:%s" % port
        self.host, self.port = "127.0.0.1", int(port)
        self.control = SimControl(self.url, timeout=300)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- the harness -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.size = dict(SIZES["smoke" if args.smoke else "full"])
        self.python = sys.executable
        self.ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        self.collections = os.path.abspath(args.collections)
        self.out = os.path.abspath(args.out)
        self.logs = os.path.join(self.out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.rows = []
        self.errors = []
        self.details = {}
        self.list_rates = []
        self.runs = collections.Counter()
        self.sim = None
        self.ctl = None
        self.extra = {}
        self.extra_sizes = {}
        self.simulators = []
        # This module, for cases in their own files: bench.lib.fmt_s, bench.lib.Requests, bench.lib.BenchError...
        self.lib = sys.modules[__name__]

    # -- running things ---------------------------------------------------------------------------

    def reset(self, scenario="empty", tasks=None, **settings):
        limits = dict(REAL_LIMITS)
        limits.update(settings)
        self.ctl.reset(scenario, tasks=tasks, **limits)

    def requests(self):
        """The request log since the last reset or clear, then cleared."""
        entries = self.ctl.log()
        self.ctl.clear_log()
        return Requests(entries)

    def env(self):
        env = dict(os.environ)
        env.update(SAIL_BASE_URL=self.sim.url, SAIL_CLIENT_ID=PAT[0], SAIL_CLIENT_SECRET=PAT[1],
                   ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_timer", ANSIBLE_STDOUT_CALLBACK="default")
        for name in ("SAIL_ACCESS_TOKEN", "ANSIBLE_CONFIG"):
            env.pop(name, None)
        return env

    def run_dir(self, label):
        self.runs[label] += 1
        path = os.path.join(self.logs, "%s-%d" % (label, self.runs[label]))
        os.makedirs(path, exist_ok=True)
        return path

    def start_simulator(self, label, env=None):
        """One more simulator in its own process on its own free port (stopped at the end of the run); env
        adds SIM_* settings of its start (see docs/simulator.md)."""
        sim = Simulator(self.python, os.path.join(self.logs, "simulator-%s.log" % label), env=env)
        self.simulators.append(sim)
        return sim

    def playbook(self, label, case_file, extra_vars, rss=False, timeout=900, inventory="localhost,", args=(),
                 env=None):
        """Run one playbook (case_file: a file of cases/ or an absolute path); returns a dict with wall,
        timings (callback), rss (module processes). inventory is passed to -i, args are further
        ansible-playbook arguments (for example ["--forks", "8"]), env replaces bench.env()."""
        run_dir = self.run_dir(label)
        timings_path = os.path.join(run_dir, "timings.json")
        rss_path = os.path.join(run_dir, "rss.jsonl")
        interpreter = self.python
        if rss:
            interpreter = os.path.join(run_dir, "python")
            with open(interpreter, "w") as handle:
                handle.write("#!/bin/sh\nexec %s -S -I %s %s %s \"$@\"\n" % (
                    shlex.quote(self.python), shlex.quote(os.path.join(HERE, "rss.py")), shlex.quote(rss_path),
                    shlex.quote(self.python)))
            os.chmod(interpreter, 0o755)
        extra = dict(extra_vars, ansible_python_interpreter=interpreter)
        command = [self.ansible_playbook, "-i", inventory, "-c", "local", os.path.join(HERE, "cases", case_file),
                   "-e", json.dumps(extra)] + list(args)
        env = dict(self.env() if env is None else env)
        env["BENCH_TIMINGS"] = timings_path
        log_path = os.path.join(run_dir, "ansible.log")
        with open(log_path, "w") as log:
            log.write("$ %s\n\n" % " ".join(shlex.quote(c) for c in command))
            log.flush()
            start = time.perf_counter()
            code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=run_dir,
                                   timeout=timeout)
            wall = time.perf_counter() - start
        if code != 0:
            with open(log_path) as log:
                tail = log.read()[-3000:]
            raise BenchError("%s: ansible-playbook exited with %d (%s):\n%s" % (label, code, log_path, tail))
        with open(timings_path) as handle:
            timings = json.load(handle)
        processes = []
        if rss and os.path.exists(rss_path):
            with open(rss_path) as handle:
                processes = [json.loads(line) for line in handle if line.strip()]
        return {"wall": wall, "tasks": timings["tasks"], "processes": processes, "log": log_path}

    def floor(self, label, arguments, script="floor.py"):
        """Run floor.py (or another script of this folder); returns its JSON output plus wall (whole process)
        and maxrss_kb (os.wait4)."""
        run_dir = self.run_dir(label)
        command = [self.python, os.path.join(HERE, script)] + [str(a) for a in arguments]
        with open(os.path.join(run_dir, "stderr.log"), "w") as errors:
            start = time.perf_counter()
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors,  # pylint: disable=consider-using-with
                                    env=self.env(), cwd=run_dir)
            output = proc.stdout.read()
            proc.stdout.close()
            dummy, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError("%s: %s exited with %d (see %s)" % (label, script, proc.returncode, run_dir))
        result = json.loads(output.decode("utf-8"))
        result.update(process_wall=wall, maxrss_kb=usage.ru_maxrss)
        return result

    @staticmethod
    def task(run, name):
        for task in run["tasks"]:
            if task["name"] == name:
                return task
        raise BenchError("no task named %r in the run (%s)" % (name, run["log"]))

    @staticmethod
    def duration(task):
        return task["end"] - task["start"]

    @staticmethod
    def span(run):
        """From the start of the first task of a run to the end of its last: the job without ansible-playbook's
        own start-up and shut-down."""
        return max(t["end"] for t in run["tasks"] if t["end"]) - min(t["start"] for t in run["tasks"])

    def add(self, *args, **kwargs):
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def add_row(self, case, measure, ours, alternatives="", ratio_text="", target="", met=None, data=None):
        """Append a row to the table (the interface of cases in their own files): met is True, False or None
        (no verdict); a row with a target and met None prints n/a."""
        return self.add(case, measure, ours, alternatives=alternatives, ratio_text=ratio_text, target=target,
                        met=met, data=data)

    def warm_list(self, tasks):
        """List every task once as the API client (its own rate bucket), so that every measured run meets
        a simulator that has already serialised the records (a cost real ISC does not have). Returns them."""
        token = self.ctl.token("api")
        records = []
        while True:
            response = self.ctl.request("GET", "/v2026/task-status", {"limit": 250, "offset": len(records)},
                                        token=token)
            if response.status != 200:
                raise BenchError("warm-up list failed: %r" % response)
            page = response.json()
            records.extend(page)
            if len(page) < 250 or len(records) >= tasks:
                return records

    # -- case 1 -----------------------------------------------------------------------------------

    def case1(self):
        n, page = self.size["list_tasks"], self.size["page_size"]
        pages = int(math.ceil(n / float(page)))

        def fresh():
            self.reset("bulk", tasks=n)
            records = self.warm_list(n)
            self.ctl.clear_log()
            return records

        floors = []
        for dummy in range(self.size["floor_repeat"]):
            fresh()
            result = self.floor("case1-floor", ["list", "--page-size", page])
            result["requests"] = self.requests()
            floors.append(result)
        floor = sorted(floors, key=lambda r: r["process_wall"])[len(floors) // 2]  # the median run

        plains = []
        for dummy in range(self.size["floor_repeat"]):
            fresh()
            result = self.floor("case1-client-only", [self.collections, "--page-size", page], script="client_only.py")
            result["requests"] = self.requests()
            plains.append(result)
        plain = sorted(plains, key=lambda r: r["process_wall"])[len(plains) // 2]

        # Ours and the null module (Ansible's floor for returning the same records), in turns; the median of each.
        records_file = os.path.join(self.run_dir("case1-records"), "records.json")
        ours_runs, null_runs = [], []
        for dummy in range(self.size["null_repeat"]):
            with open(records_file, "w") as handle:
                json.dump(fresh(), handle)
            run = self.playbook("case1-ours", "list_ours.yml", {"bench_page_size": page}, rss=True)
            ours_runs.append((self.duration(self.task(run, "List every task")), run, self.requests()))
            fresh()
            run = self.playbook("case1-null", "list_null.yml", {"bench_records": records_file}, rss=True)
            null_runs.append((self.duration(self.task(run, "Return every task from a file")), run, self.requests()))
        dummy, ours, ours_req = sorted(ours_runs, key=lambda r: r[0])[len(ours_runs) // 2]
        ours_task = self.task(ours, "List every task")
        ours_module = [p for p in ours["processes"] if "task_status_info" in p["program"]]
        dummy, null, null_req = sorted(null_runs, key=lambda r: r[0])[len(null_runs) // 2]
        null_task = self.task(null, "Return every task from a file")
        null_module = [p for p in null["processes"] if "bench_null_list" in p["program"]]

        fresh()
        slim = self.playbook("case1-ours-fields", "list_ours.yml",
                             {"bench_page_size": page, "bench_fields": ["id", "completionStatus"]})
        slim_req = self.requests()
        slim_task = self.task(slim, "List every task")

        fresh()
        uri = self.playbook("case1-uri", "list_uri.yml", {"bench_page_size": page}, rss=True)
        uri_req = self.requests()
        uri_first, uri_rest = self.task(uri, "Read the first page and the total"), self.task(uri, "Read the other pages")
        uri_records = uri_first["digest"].get("len_json", 0) + sum(i["digest"].get("len_json", 0)
                                                                   for i in uri_rest["items"])
        uri_module = [p for p in uri["processes"] if "uri" in p["program"]]

        for label, req in (("case 1 floor", floors[0]["requests"]), ("case 1 ours", ours_req),
                           ("case 1 uri", uri_req)):
            self.list_rates.append((label, req.rate("list")))

        floor_wall = floor["process_wall"]
        ours_time = self.duration(ours_task)
        ours_records = ours_task["digest"].get("len_task_statuses")
        c = 1
        null_records = null_task["digest"].get("len_task_statuses")
        self.add(c, "records returned (N=%d)" % n, str(ours_records),
                 "floor %s, uri %s, null module %s" % (floor["records"], uri_records, null_records), "", "= %d" % n,
                 ours_records == n and floor["records"] == n and uri_records == n and null_records == n,
                 data={"n": n, "ours": ours_records, "floor": floor["records"], "uri": uri_records,
                       "null": null_records})
        self.add(c, "list requests (page %d)" % page, str(ours_req["list"]),
                 "floor %d, uri %d" % (floor["requests"]["list"], uri_req["list"]), "",
                 "= ceil(N/page) = %d" % pages, ours_req["list"] == pages,
                 data={"ours": ours_req.as_dict(), "floor": floor["requests"].as_dict(), "uri": uri_req.as_dict()})
        self.add(c, "token requests", str(ours_req["token"]),
                 "floor %d, uri %d" % (floor["requests"]["token"], uri_req["token"]), "", "<= 1",
                 ours_req["token"] <= 1,
                 data={"ours": ours_req["token"], "floor": floor["requests"]["token"], "uri": uri_req["token"]})
        self.add(c, "429 responses", str(ours_req["429"]),
                 "floor %d, uri %d" % (floor["requests"]["429"], uri_req["429"]), "", "")
        floor_walls = [r["process_wall"] for r in floors]
        null_time = self.duration(null_task)
        self.add(c, "wall: module task vs null module task (Ansible's floor for these bytes)", fmt_s(ours_time),
                 "null module %s (%s records from a file, no HTTP)" % (fmt_s(null_time), null_records),
                 "%s null" % fmt_x(ratio(ours_time, null_time)), "<= 1.2x null",
                 within(ratio(ours_time, null_time), high=1.2),
                 data={"ours_task": ours_time, "null_task": null_time, "null_records": null_records,
                       "ours_tasks": [r[0] for r in ours_runs], "null_tasks": [r[0] for r in null_runs],
                       "null_requests": null_req.as_dict()})
        module_wall = ours_module[0]["end"] - ours_module[0]["start"] if ours_module else None
        null_wall = null_module[0]["end"] - null_module[0]["start"] if null_module else None
        self.add(c, "wall: module process alone vs null module process (info)", fmt_s(module_wall),
                 "null module %s; floor %s" % (fmt_s(null_wall), fmt_s(floor_wall)),
                 "%s null" % fmt_x(ratio(module_wall, null_wall)), "",
                 data={"ours": module_wall, "null": null_wall, "floor": floor_wall})
        self.add(c, "wall: module task vs floor process (info)", fmt_s(ours_time),
                 "floor %s (median of %d)" % (fmt_s(floor_wall), len(floors)),
                 "%s floor" % fmt_x(ratio(ours_time, floor_wall)), "",
                 data={"ours_task": ours_time, "floor_walls": floor_walls})
        self.add(c, "wall: collection code without Ansible, client_only.py (info)", fmt_s(plain["process_wall"]),
                 "floor %s; inside: task_query.run %s, json.dumps %s" % (
                     fmt_s(floor_wall), fmt_s(plain["run"]), fmt_s(plain["dumps"])),
                 "%s floor" % fmt_x(ratio(plain["process_wall"], floor_wall)), "",
                 data={"walls": [r["process_wall"] for r in plains], "run": plain["run"], "dumps": plain["dumps"],
                       "records": plain["records"], "list": plain["requests"]["list"],
                       "token": plain["requests"]["token"], "maxrss_kb": plain["maxrss_kb"]})
        slim_time = self.duration(slim_task)
        self.add(c, "wall: module task, fields [id, completionStatus] (info)", fmt_s(slim_time),
                 "floor %s (all fields)" % fmt_s(floor_wall), "%s floor" % fmt_x(ratio(slim_time, floor_wall)), "",
                 data={"requests": slim_req.as_dict()})
        uri_span = self.span(uri)
        self.add(c, "wall: module task vs uri tasks (token, pages, set_fact)", fmt_s(ours_time),
                 "uri %s" % fmt_s(uri_span), "uri/ours %s" % fmt_x(ratio(uri_span, ours_time)), ">= 5x faster than uri",
                 within(ratio(uri_span, ours_time), low=5.0),
                 data={"ours_task": ours_time, "uri_span": uri_span,
                       "uri_tasks": dict((t["name"], self.duration(t)) for t in uri["tasks"] if t["end"])})
        self.add(c, "wall: whole playbook vs uri playbook (info)", fmt_s(ours["wall"]), "uri %s" % fmt_s(uri["wall"]),
                 "uri/ours %s" % fmt_x(ratio(uri["wall"], ours["wall"])), "",
                 data={"ours": ours["wall"], "uri": uri["wall"]})
        self.add(c, "wall: whole playbook vs floor process (info)", fmt_s(ours["wall"]), "floor %s" % fmt_s(floor_wall),
                 "%s floor" % fmt_x(ratio(ours["wall"], floor_wall)), "")
        ours_rss = max(p["maxrss_kb"] for p in ours_module) if ours_module else None
        null_rss = max(p["maxrss_kb"] for p in null_module) if null_module else None
        uri_rss = max(p["maxrss_kb"] for p in uri_module) if uri_module else None
        self.add(c, "peak RSS of the module process", fmt_mb(ours_rss),
                 "null module %s, floor %s, client_only.py %s, uri %s (largest of %d)" % (
                     fmt_mb(null_rss), fmt_mb(floor["maxrss_kb"]), fmt_mb(plain["maxrss_kb"]), fmt_mb(uri_rss),
                     len(uri_module)),
                 "%s null" % fmt_x(ratio(ours_rss, null_rss)), "",
                 data={"ours_kib": ours_rss, "null_kib": null_rss, "floor_kib": floor["maxrss_kb"],
                       "client_only_kib": plain["maxrss_kb"], "uri_kib": uri_rss})

    # -- case 2 -----------------------------------------------------------------------------------

    def wait_setup(self, **settings):
        """Reset and start the running aggregations; returns their ids."""
        self.reset("empty", **settings)
        count = self.size["wait_tasks"]
        first, last = self.size["wait_first"], self.size["wait_last"]
        rng = random.Random(4242)
        durations = [round(rng.uniform(first, last), 1) for dummy in range(count)]
        durations[rng.randrange(count)] = last
        specs = [{"unique_name": "Cloud Account Aggregation", "source_name": "Source %02d" % index,
                  "duration": duration, "outcome": "SUCCESS", "launcher": "sweep"}
                 for index, duration in enumerate(durations)]
        ids = [record["id"] for record in self.ctl.add_tasks(*specs)]
        self.ctl.clear_log()
        return ids

    def last_completion(self, ids, race_window):
        """When the last task got its completionStatus (its completed time plus the race window)."""
        wanted = set(ids)
        records = [t for t in self.ctl.tasks() if t["id"] in wanted]
        unfinished = [t["id"] for t in records if not t.get("completionStatus")]
        if unfinished or len(records) != len(wanted):
            raise BenchError("case 2: %d task(s) not finished after the wait" % len(unfinished))
        return max(sim_epoch(t["completed"]) for t in records) + race_window

    def case2(self):
        count, interval = self.size["wait_tasks"], self.size["wait_interval"]
        chunks = int(math.ceil(count / 50.0))
        timeout = self.size["wait_last"] * 4 + 60
        retries = int(timeout / interval)
        race = REAL_LIMITS["race_window"]
        common = {"bench_interval": interval, "bench_timeout": timeout, "bench_retries": retries}
        results = {}
        for label, case_file, task_name, settings in (
                ("builtin", "wait_builtin.yml", "Wait until every task is finished", {}),
                ("until", "wait_until.yml", "Poll until no task is pending", {}),
                ("uri", "wait_uri.yml", "Poll each task until it has completed and completionStatus", {}),
                ("builtin-ttl", "wait_builtin.yml", "Wait until every task is finished",
                 {"token_ttl": self.size["short_ttl"]})):
            ids = self.wait_setup(**settings)
            run = self.playbook("case2-" + label, case_file, dict(common, bench_ids=ids))
            req = self.requests()
            task = self.task(run, task_name)
            done = self.last_completion(ids, race)
            results[label] = {"run": run, "req": req, "task": task, "lag": task["end"] - done,
                              "ttl": settings.get("token_ttl", REAL_LIMITS["token_ttl"])}
            self.list_rates.append(("case 2 " + label, req.rate("list")))

        c = 2
        builtin, until, uri = results["builtin"], results["until"], results["uri"]
        rounds = builtin["task"]["digest"].get("polls", 0) + 1  # the first read is a round too
        until_rounds = until["task"]["digest"].get("attempts") or (len(until["task"]["retries"]) + 1)
        uri_ids = len(set(e["path"] for e in uri["req"].entries if kind_of(e) == "get"))
        per_round = ratio(builtin["req"]["list"], rounds)
        self.add(c, "list requests per poll round (%d tasks)" % count, "%.2f (%d in %d rounds)" % (
            per_round, builtin["req"]["list"], rounds),
            "until: %.2f list + %.2f token; uri: 1 GET per task (%d per round)" % (
                ratio(until["req"]["list"], until_rounds), ratio(until["req"]["token"], until_rounds), uri_ids),
            "", "= ceil(%d/50) = %d" % (count, chunks), per_round == chunks,
            data={"rounds": rounds, "list": builtin["req"]["list"], "chunks": chunks, "until_rounds": until_rounds,
                  "until_list": until["req"]["list"], "uri_get": uri["req"]["get"], "uri_ids": uri_ids})
        self.add(c, "API requests in total", str(builtin["req"]["api"] + builtin["req"]["token"]),
                 "until %d, uri %d" % (until["req"]["api"] + until["req"]["token"],
                                       uri["req"]["api"] + uri["req"]["token"]),
                 "until/ours %s, uri/ours %s" % (
                     fmt_x(ratio(until["req"]["api"] + until["req"]["token"],
                                 builtin["req"]["api"] + builtin["req"]["token"])),
                     fmt_x(ratio(uri["req"]["api"] + uri["req"]["token"],
                                 builtin["req"]["api"] + builtin["req"]["token"]))), "",
                 data=dict((k, v["req"].as_dict()) for k, v in results.items()))
        for label, title in (("builtin", "token requests (TTL %d s)" % REAL_LIMITS["token_ttl"]),
                             ("builtin-ttl", "token requests (TTL %d s: renewal)" % self.size["short_ttl"])):
            entry = results[label]
            span = entry["req"].span()
            allowed = int(math.floor(span / entry["ttl"])) + 1
            first = min(entry["req"].times()) if entry["req"].entries else 0.0
            moments = [t - first for t in entry["req"].times("token")]
            if label == "builtin":
                alts = "until %d, uri %d" % (until["req"]["token"], uri["req"]["token"])
            else:
                alts = "requested at " + ", ".join("+%.1f s" % t for t in moments)
            self.add(c, title, "%d over %.1f s" % (entry["req"]["token"], span), alts, "",
                     "<= 1 per lifetime: %d" % allowed, entry["req"]["token"] <= allowed,
                     data={"span": span, "ttl": entry["ttl"], "allowed": allowed, "tokens": entry["req"]["token"],
                           "token_times": [round(t, 3) for t in moments]})
        self.add(c, "return after the last completion", fmt_s(builtin["lag"]),
                 "until %s, uri %s" % (fmt_s(until["lag"]), fmt_s(uri["lag"])), "",
                 "<= interval + 1 s = %s" % fmt_s(interval + 1), builtin["lag"] <= interval + 1,
                 data=dict((k, v["lag"]) for k, v in results.items()))
        self.add(c, "429 responses", str(builtin["req"]["429"]),
                 "until %d, uri %d" % (until["req"]["429"], uri["req"]["429"]), "", "")

    # -- case 3 -----------------------------------------------------------------------------------

    def clear_setup(self):
        count = self.size["clear_tasks"]
        self.reset("empty")
        self.ctl.add_tasks({"unique_name": "Cloud Account Aggregation", "outcome": "STUCK", "duration": 60,
                            "created_ago": 2 * 86400, "count": count})
        self.ctl.clear_log()

    @staticmethod
    def window_data(req):
        """[seconds after the first API request, status] for each API request (tokens are not rate limited)."""
        api = [e for e in req.entries if kind_of(e) != "token"]
        if not api:
            return []
        first = sim_epoch(api[0]["time"])
        return [[round(sim_epoch(e["time"]) - first, 3), e.get("status")] for e in api]

    def cleared(self):
        tasks = self.ctl.tasks()
        return sum(1 for t in tasks if t["_sim"]["frozen"] and t.get("completionStatus") == "TERMINATED")

    def role_available(self):
        """Whether the collection under test has the clear_pending_tasks role (another change adds it)."""
        return os.path.isfile(os.path.join(self.collections, "ansible_collections", "identitynow", "tasks", "roles",
                                           "clear_pending_tasks", "tasks", "main.yml"))

    def clear_run(self, label, case_file, extra_vars):
        """One clearing playbook from a fresh set of stuck tasks: its run, requests and the tasks it cleared."""
        self.clear_setup()
        run = self.playbook(label, case_file, extra_vars)
        req = self.requests()
        return {"run": run, "req": req, "cleared": self.cleared()}

    def case3(self):
        count = self.size["clear_tasks"]
        limit, window = REAL_LIMITS["rate_limit"], REAL_LIMITS["rate_window"]
        minimum = count + int(math.ceil(count / 250.0))  # the PATCHes and the pages of one pending list
        theory = math.floor((minimum - 1) / float(limit)) * window

        floor, floor_req, floor_cleared = None, Requests([]), None
        if self.size["clear_floor_py"]:
            self.clear_setup()
            floor = self.floor("case3-floor", ["clear", "--older-than", 3600, "--status", "TERMINATED"])
            floor_req = self.requests()
            floor_cleared = self.cleared()

        # The modules variant always runs; the role variant when the collection has the role.
        variants = [("modules", "task_status_info + task_status",
                     self.clear_run("case3-modules", "clear_modules.yml", {"bench_older_than": "1h"}))]
        if self.role_available():
            variants.append(("role", "clear_pending_tasks role",
                             self.clear_run("case3-role", "clear_role.yml",
                                            {"bench_max_tasks": count, "bench_older_than": "1h"})))

        # The picture's data: each API request of each run (seconds after the run's first, status).
        self.details["case3_requests"] = dict(
            (title, self.window_data(result["req"])) for key, title, result in variants)
        if floor:
            self.details["case3_requests"]["floor.py"] = self.window_data(floor_req)
        c = 3
        floor_text = "floor.py %s" % (fmt_s(floor["process_wall"]) if floor else "not run (smoke)")
        floor_counts = ("floor.py %d / %d / %d / %d" % (floor_req["list"], floor_req["get"], floor_req["patch"],
                                                        floor_req["token"]) if floor else "floor.py not run (smoke)")
        for key, title, result in variants:
            req, run = result["req"], result["run"]
            self.list_rates.append(("case 3 " + key, req.rate("list")))
            self.add(c, "tasks cleared (%d stuck): %s" % (count, title), str(result["cleared"]),
                     "floor.py %s" % (floor_cleared if floor else "not run (smoke)"), "",
                     "= %d" % count, result["cleared"] == count, data={"cleared": result["cleared"], "stuck": count})
            self.add(c, "wall: whole playbook vs rate-limit floor: %s" % title, fmt_s(run["wall"]),
                     "floor %s (%d requests at %d/%d s); %s" % (fmt_s(theory), minimum, limit, window, floor_text),
                     "%s floor" % fmt_x(ratio(run["wall"], theory)), "<= 1.1x floor",
                     within(ratio(run["wall"], theory), high=1.1),
                     data={"theory": theory, "minimum_requests": minimum, "wall": run["wall"],
                           "floor_py": floor and floor["process_wall"],
                           "tasks": dict((t["name"], self.duration(t)) for t in run["tasks"] if t["end"])})
            api_times = req.times()
            api_span = (max(api_times) - min(api_times)) if api_times else None
            self.add(c, "first to last request (info): %s" % title, fmt_s(api_span),
                     "floor %s; playbook outside it %s" % (fmt_s(theory), fmt_s(run["wall"] - (api_span or 0))),
                     "%s floor" % fmt_x(ratio(api_span, theory)), "", data={"span": api_span})
            self.add(c, "429 responses: %s" % title, req.describe_429(),
                     "floor.py %s" % (floor_req["429"] if floor else "not run (smoke)"), "", "= 0",
                     req["429"] == 0, data={"ours": req.rejected(), "floor": floor_req.rejected()})
            self.add(c, "requests list / get / PATCH / token: %s" % title,
                     "%d / %d / %d / %d" % (req["list"], req["get"], req["patch"], req["token"]), floor_counts, "", "",
                     data={"ours": req.as_dict(), "floor": floor_req.as_dict()})
        if len(variants) == 1:
            self.add(c, "clear_pending_tasks role", "not run: the collection has no roles/clear_pending_tasks yet",
                     "", "", "")

    # -- case 4 -----------------------------------------------------------------------------------

    def case4(self):
        repeat = self.size["get_repeat"]
        self.reset("empty")
        task_id = self.ctl.add_task(unique_name="Cloud Account Aggregation", duration=60, created_ago=3600)["id"]
        self.ctl.clear_log()
        run = self.playbook("case4", "get_one.yml", {"bench_task_id": task_id, "bench_repeat": repeat})
        req = self.requests()
        per = dict((t["name"], self.duration(t) / repeat) for t in run["tasks"] if t["name"].startswith(("Ours", "Uri")))
        ours = (per["Ours A1"] + per["Ours A2"]) / 2
        uri = (per["Uri B1"] + per["Uri B2"]) / 2
        ours_cc = per["Ours C with client credentials"]
        uri_cc = per["Uri D1 token"] + per["Uri D2 get by id with each token"]
        c = 4
        self.add(c, "one GET by id, same token (per call, %d x 2 calls)" % repeat, fmt_s(ours), "uri %s" % fmt_s(uri),
                 "%s uri" % fmt_x(ratio(ours, uri)), "<= 1.1x uri", within(ratio(ours, uri), high=1.1), data=per)
        self.add(c, "token + GET: module with credentials vs uri token + uri GET (info)", fmt_s(ours_cc),
                 "uri %s" % fmt_s(uri_cc), "%s uri" % fmt_x(ratio(ours_cc, uri_cc)), "")
        self.add(c, "requests in the run: get / token", "%d / %d" % (req["get"], req["token"]),
                 "expected %d / %d" % (2 + 6 * repeat, 1 + 2 * repeat), "", "",
                 data={"get": req["get"], "token": req["token"], "expected_get": 2 + 6 * repeat,
                       "expected_token": 1 + 2 * repeat})

    # -- case 5 -----------------------------------------------------------------------------------

    def case5(self):
        n = self.size["list_tasks"]
        self.reset("bulk", tasks=n, rate_limit=0)
        self.warm_list(n)
        token = self.ctl.token("pat")
        pages = max(1, int(math.ceil(n / 250.0)))
        connection = http.client.HTTPConnection(self.sim.host, self.sim.port, timeout=60)
        headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        served = 0
        received = 0
        start = time.perf_counter()
        deadline = start + self.size["headroom_seconds"]
        try:
            while time.perf_counter() < deadline:
                connection.request("GET", "/v2026/task-status?limit=250&offset=%d" % (250 * (served % pages)),
                                   headers=headers)
                response = connection.getresponse()
                received += len(response.read())
                if response.status != 200:
                    raise BenchError("case 5: list answered %d" % response.status)
                served += 1
        finally:
            connection.close()
        elapsed = time.perf_counter() - start
        capacity = served / elapsed
        self.ctl.clear_log()
        c = 5
        self.add(c, "list pages/s served (250 records, rate limit off, 1 keep-alive client)", "%.0f/s" % capacity,
                 "%.1f MB/s" % (received / elapsed / 1e6), "", "",
                 data={"requests": served, "seconds": elapsed, "bytes": received})
        rates = [(label, rate) for label, rate in self.list_rates if rate]
        if rates:
            label, peak = max(rates, key=lambda item: item[1])
            self.add(c, "headroom over the fastest list rate of cases 1-3", fmt_x(capacity / peak),
                     "fastest: %s at %.0f/s" % (label, peak), "", ">= 2x", capacity / peak >= 2.0,
                     data={"rates": dict(rates)})
        else:
            self.add(c, "headroom over the fastest list rate of cases 1-3", "n/a", "cases 1-3 not run", "", ">= 2x")

    # -- the whole run ----------------------------------------------------------------------------

    def run(self, cases):
        self.sim = Simulator(self.python, os.path.join(self.logs, "simulator.log"))
        self.ctl = self.sim.control
        started = time.time()
        self.details["loadavg_start"] = os.getloadavg()
        try:
            for case in cases:
                case_start = time.perf_counter()
                print("case %d (%s) ..." % (case, CASE_TITLES[case]), file=sys.stderr, flush=True)
                try:
                    if case in self.extra:
                        self.run_extra(self.extra[case])
                    else:
                        getattr(self, "case%d" % case)()
                except Exception as exc:  # pylint: disable=broad-except
                    message = "%s: %s" % (type(exc).__name__, exc)
                    self.errors.append({"case": case, "error": message, "traceback": traceback.format_exc()})
                    self.add(case, "ERROR", message.splitlines()[0][:200], "", "", "", False)
                self.details["case%d_seconds" % case] = time.perf_counter() - case_start
        finally:
            for sim in self.simulators:
                sim.stop()
            self.sim.stop()
        return started

    def run_extra(self, case):
        """One case of tests/bench/extra/: import it, then run(bench, size) at this run's size."""
        module = case.load()
        size = dict(module.SIZES["smoke" if self.args.smoke else "full"])
        self.extra_sizes[case.number] = size
        try:
            module.run(self, size)
        finally:
            # A case's own simulators do not outlive it.
            for sim in self.simulators:
                sim.stop()
            self.simulators = []


def machine():
    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
        except OSError:
            return ""
    try:
        import ansible.release  # pylint: disable=import-outside-toplevel
        core = ansible.release.__version__
    except ImportError:
        core = "unknown"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(), "cpu": cpu,
            "loadavg": os.getloadavg(),
            "python": platform.python_version(), "ansible_core": core, "platform": platform.platform(),
            "commit": output(["git", "rev-parse", "--short", "HEAD"]),
            "dirty": bool(output(["git", "status", "--porcelain", "--untracked-files=no"]))}


COLUMNS = (("case", "case"), ("measure", "measure"), ("ours", "ours"), ("alternatives", "alternatives"),
           ("ratio", "ratio"), ("target", "target"), ("status", "met?"))


def table(rows):
    cells = [[(str(r.case) + " " + CASE_TITLES.get(r.case, "")) if key == "case" else str(getattr(r, key))
              for key, dummy in COLUMNS] for r in rows]
    header = [title for dummy, title in COLUMNS]
    widths = [max(len(x) for x in column) for column in zip(header, *cells)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


def default_collections():
    """The folder above ansible_collections when this tree is the collection itself, else the Makefile's
    COLLECTIONS (make exports a variable given on its command line: make COLLECTIONS=... bench), else
    build/collections."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "identitynow"] and parts[-1] == "tasks":
        return os.sep.join(parts[:-3])
    return os.environ.get("COLLECTIONS") or os.path.join(ROOT, "build", "collections")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (the smoke test of make test)")
    parser.add_argument("--cases", default="", help="comma-separated case numbers (default: all, those of "
                        "bench.py and of tests/bench/extra/*.py)")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench-results"), help="output folder")
    parser.add_argument("--collections", default=default_collections(),
                        help="ANSIBLE_COLLECTIONS_PATH holding identitynow.tasks (make collection)")
    args = parser.parse_args(argv)
    try:
        extra = extra_cases()
    except ValueError as exc:
        parser.error(str(exc))
    for number, case in extra.items():
        CASE_TITLES[number] = case.title
    try:
        cases = sorted(set(int(c) for c in args.cases.split(",") if c.strip())) or sorted(CASE_TITLES)
    except ValueError:
        parser.error("--cases takes comma-separated case numbers, for example 1,3,6 (got %r)" % args.cases)
    unknown = [c for c in cases if c not in CASE_TITLES]
    if unknown:
        parser.error("unknown case(s): %s" % ", ".join(map(str, unknown)))
    if not os.path.isdir(os.path.join(args.collections, "ansible_collections", "identitynow", "tasks")):
        parser.error("no identitynow.tasks collection under %s: run make collection" % args.collections)

    bench = Bench(args)
    bench.extra = extra
    start = time.perf_counter()
    started = bench.run(cases)
    total = time.perf_counter() - start
    info = machine()
    report = {
        "mode": "smoke" if args.smoke else "full", "machine": info, "started": started, "seconds": total,
        "sizes": bench.size, "limits": REAL_LIMITS, "cases": cases,
        "extra": dict((str(n), {"title": c.title, "file": os.path.relpath(c.path, ROOT),
                                "sizes": bench.extra_sizes.get(n)}) for n, c in extra.items() if n in cases),
        "rows": [r.as_dict() for r in bench.rows], "errors": bench.errors, "details": bench.details,
    }
    if "case3_requests" in bench.details:
        picture = os.path.join(bench.out, "case3-requests.svg")
        try:
            spec = importlib.util.spec_from_file_location("bench_picture", os.path.join(HERE, "picture.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.draw(bench.details["case3_requests"], REAL_LIMITS["rate_limit"], REAL_LIMITS["rate_window"], picture,
                        "Case 3, clear %d stuck tasks: API requests per sliding %d s window (%s, %s)" % (
                            bench.size["clear_tasks"], REAL_LIMITS["rate_window"], report["mode"], info["date"]))
            report["picture"] = picture
        except Exception as exc:  # pylint: disable=broad-except
            bench.errors.append({"case": 3, "error": "the picture: %s: %s" % (type(exc).__name__, exc),
                                 "traceback": traceback.format_exc()})
            report["errors"] = bench.errors
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in ("bench-%s%s.json" % ("smoke-" if args.smoke else "", stamp), "latest.json"):
        with open(os.path.join(bench.out, name), "w") as handle:
            json.dump(report, handle, indent=1)
    text = table(bench.rows)
    heading = ("identitynow.tasks benchmarks (%s), %s: %s CPUs (%s), Python %s, ansible-core %s, commit %s%s; %.0f s"
               % (report["mode"], info["date"], info["nproc"], info["cpu"], info["python"], info["ansible_core"],
                  info["commit"], " (dirty)" if info["dirty"] else "", total))
    heading += "; load average %.1f at the start, %.1f at the end" % (
        bench.details["loadavg_start"][0], info["loadavg"][0])
    with open(os.path.join(bench.out, "latest.md"), "w") as handle:
        handle.write(heading + "\n\n" + text + "\n")
    print(heading)
    print()
    print(text)
    missed = [r for r in bench.rows if r.met is False and r.measure != "ERROR"]
    print()
    print("%d target(s) met, %d not met; results in %s" % (
        sum(1 for r in bench.rows if r.met), len(missed), os.path.join(bench.out, "latest.json")))
    if report.get("picture"):
        print("case 3's requests per sliding window: %s" % report["picture"])
    for error in bench.errors:
        print("case %d could not run:\n%s" % (error["case"], error["traceback"]), file=sys.stderr)
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
