# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark case 7: the roles at tenant scale (linear time, bounded memory).

Three roles, each against the simulated tenant, each timed by the bench_timer callback:

- ``task_report`` over N tasks of the ``bulk`` scenario (N = 1,000, 4,000, 10,000; every task inside the
  report's window of 2,000 hours, a few of them pending);
- ``clear_pending_tasks`` in check mode over 2,000 stuck tasks;
- ``wait_for_aggregation`` describing 1,000 running tasks of one source until they finish (progress rounds of
  a few seconds, so that most of the role's time is describing them).

Each row puts the role's time (from the start of its include to the end of its last task) against the module
tasks inside that run that read the same records (task_status_info, and task_status for the check-mode
clearing): what the role costs on top of reading. Targets: at most 1.5x at every size, and at most 2.5x more
time per doubling of N (the report's time from one size to the next, per doubling: (t2/t1) ** (1 / log2(N2/N1))).

Memory: the peak resident set size of the controller (the ansible-playbook process and its task workers, from
their VmHWM in /proc, sampled every 50 ms; the module processes left out) for the report over the largest N,
against the same run with only the two module reads (which register the records once) and against a run of one
debug task (Ansible alone).
The report's extra memory over Ansible alone, divided by the reads' extra memory (one registered copy of the
records), is the number of copies of the records it holds at its peak: at most 2.

The full size runs with the simulator's rate limit off, so that the waits of pacing do not hide the roles' own
cost (case 1 and 3 measure pacing); the smoke size keeps it.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import time

NUMBER = 7
TITLE = "roles at scale"
SIZES = {
    "full": {"report": [1000, 4000, 10000], "stuck": 2000, "running": 1000, "running_for": 14, "poll": 2,
             "progress": 4, "rate_limit": 0},
    "smoke": {"report": [20, 40], "stuck": 10, "running": 5, "running_for": 3, "poll": 1, "progress": 2,
              "rate_limit": 100},
}
HOURS = 2000  # the report's window: every task of the bulk scenario (80 days) is in it
REPORT_READS = ("Read the tasks created in the hours the report covers", "Read the tasks pending now")
CLEAR_READS = ("Find the tasks pending for more than 1h", "Clear them in one run")
WAIT_READS = ("Read the tasks to wait for", "Wait for the unfinished tasks until the next progress report")
SOURCE = ("src-bench", "Bench Source")
RESOLUTION_KB = 5120  # the least memory of the records that the copies are counted for

PLAY = """---
- name: Case 7 - %(title)s
  hosts: localhost
  gather_facts: false
  tasks:
%(tasks)s
"""
ROLE = """    - name: The role
      ansible.builtin.include_role:
        name: identitynow.tasks.%(role)s%(apply)s
      vars: %(vars)s
"""
READS = """    - name: %(name)s
      identitynow.tasks.task_status_info:
        %(args)s
        max_results: 0
        fields: [id, uniqueName, taskDefinitionSummary, target, created, launched, completed, completionStatus,
                 messages, progress, percentComplete]
      register: %(register)s
"""


def _playbook(bench, label, title, tasks):
    path = os.path.join(bench.run_dir(label + "-playbook"), "playbook.yml")
    with open(path, "w") as handle:
        handle.write(PLAY % {"title": title, "tasks": tasks})
    return path


def _role(role, role_vars, check_mode=False):
    return ROLE % {"role": role, "vars": json.dumps(role_vars),
                   "apply": "\n        apply:\n          check_mode: true" if check_mode else ""}


def _descendants(pid):
    """The ids of pid's processes below it (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            with open("/proc/%d/task/%d/children" % (parent, parent)) as handle:
                children = [int(c) for c in handle.read().split()]
        except OSError:
            children = []
        found.extend(children)
        todo.extend(children)
    return found


def _controller_peak(pid, peaks):
    """Record the peak resident set size (VmHWM) of pid and of its task workers, leaving out the module
    processes they start (their command line names an AnsiballZ file, or a shell that runs one)."""
    for proc in [pid] + _descendants(pid):
        try:
            with open("/proc/%d/cmdline" % proc, "rb") as handle:
                command = handle.read()
            if b"AnsiballZ" in command or command.startswith(b"/bin/sh"):
                continue
            with open("/proc/%d/status" % proc) as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peaks[proc] = max(peaks.get(proc, 0), int(line.split()[1]))
        except OSError:
            continue


def _measured(bench, label, playbook):
    """Run a playbook as bench.playbook does, and also take its peak memory: the largest peak resident set size
    of the ansible-playbook process and its task workers (sampled from /proc every 50 ms; the module processes
    are left out, they are the modules' memory, not the role's), and ru_maxrss of the whole tree (os.wait4)."""
    run_dir = bench.run_dir(label)
    timings = os.path.join(run_dir, "timings.json")
    env = dict(bench.env(), BENCH_TIMINGS=timings)
    command = [bench.ansible_playbook, "-i", "localhost,", "-c", "local", playbook,
               "-e", json.dumps({"ansible_python_interpreter": bench.python})]
    log_path = os.path.join(run_dir, "ansible.log")
    peaks = {}
    with open(log_path, "w") as log:
        log.write("$ %s\n\n" % " ".join(shlex.quote(c) for c in command))
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=run_dir)  # pylint: disable=consider-using-with
        while True:
            _controller_peak(proc.pid, peaks)
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise bench.lib.BenchError("%s: ansible-playbook exited with %d (%s):\n%s" % (label, code, log_path, tail))
    with open(timings) as handle:
        tasks = json.load(handle)["tasks"]
    return {"wall": wall, "tasks": tasks, "maxrss_kb": max(peaks.values()) if peaks else None,
            "tree_maxrss_kb": usage.ru_maxrss, "log": log_path}


def _split(run, reads):
    """(the role's span, the time of its module tasks named in reads, how many module tasks ran)."""
    tasks = [t for t in run["tasks"] if t["end"]]
    role = [t for t in tasks if t["name"] != "The role" or t["action"] != "ansible.builtin.include_role"]
    start = min(t["start"] for t in tasks if t["name"] == "The role")
    span = max(t["end"] for t in role) - start
    modules = [t for t in role if t["name"].split(" : ", 1)[-1] in reads]
    if not modules:
        raise ValueError("no module task of %s in %s" % (reads, run["log"]))
    return span, sum(t["end"] - t["start"] for t in modules), len(modules)


def _per_doubling(n1, t1, n2, t2):
    return (t2 / t1) ** (math.log(2) / math.log(float(n2) / n1)) if t1 > 0 and t2 > 0 else None


def _ratio_row(bench, measure, span, reads, count, label, data):
    lib = bench.lib
    ratio = lib.ratio(span, reads)
    bench.add_row(case=NUMBER, measure=measure, ours=lib.fmt_s(span),
                  alternatives="%s in its %d module task(s) (%s)" % (lib.fmt_s(reads), count, label),
                  ratio_text="%s module" % lib.fmt_x(ratio), target="<= 1.5x module",
                  met=lib.within(ratio, high=1.5), data=dict(data, role=span, modules=reads, ratio=ratio))
    return ratio


def run_report(bench, size):
    lib = bench.lib
    curve = []
    runs = {}
    for n in size["report"]:
        bench.reset("bulk", tasks=n, rate_limit=size["rate_limit"])
        bench.warm_list(n)
        bench.ctl.clear_log()
        playbook = _playbook(bench, "case7-report-%d" % n, "task_report over %d tasks" % n,
                             _role("task_report", {"task_report_hours": HOURS, "task_report_slowest": 5}))
        run = _measured(bench, "case7-report-%d" % n, playbook)
        span, reads, count = _split(run, REPORT_READS)
        runs[n] = run
        ratio = _ratio_row(bench, "task_report over %d tasks: role vs its reads" % n, span, reads, count,
                           "task_status_info", {"tasks": n, "requests": bench.requests().as_dict()})
        curve.append({"n": n, "role": span, "modules": reads, "ratio": ratio, "wall": run["wall"],
                      "maxrss_kb": run["maxrss_kb"]})
    for before, after in zip(curve, curve[1:]):
        factor = _per_doubling(before["n"], before["role"], after["n"], after["role"])
        bench.add_row(case=NUMBER, measure="task_report %d -> %d tasks: time per doubling of N"
                      % (before["n"], after["n"]),
                      ours="%.2fx" % factor,
                      alternatives="%s -> %s" % (lib.fmt_s(before["role"]), lib.fmt_s(after["role"])),
                      target="<= 2.5x per doubling", met=lib.within(factor, high=2.5),
                      data={"from": before, "to": after, "per_doubling": factor})
    return curve


def run_memory(bench, size):
    """Peak memory of the report over the largest N against its two reads alone and Ansible alone."""
    lib = bench.lib
    n = size["report"][-1]
    bench.reset("bulk", tasks=n, rate_limit=size["rate_limit"])
    reads = (READS % {"name": REPORT_READS[0], "register": "recent", "args": "created_after: %dh" % HOURS}
             + READS % {"name": REPORT_READS[1], "register": "pending", "args": "pending: true"})
    baseline = _measured(bench, "case7-memory-ansible", _playbook(bench, "case7-memory-ansible", "Ansible alone",
                                                                  "    - name: Nothing\n      ansible.builtin.debug:\n"
                                                                  "        msg: nothing\n"))
    only_reads = _measured(bench, "case7-memory-reads", _playbook(bench, "case7-memory-reads",
                                                                  "the two reads of the report", reads))
    report = _measured(bench, "case7-memory-report", _playbook(
        bench, "case7-memory-report", "task_report over %d tasks" % n,
        _role("task_report", {"task_report_hours": HOURS, "task_report_slowest": 5})))
    one_copy = only_reads["maxrss_kb"] - baseline["maxrss_kb"]
    extra = report["maxrss_kb"] - baseline["maxrss_kb"]
    # Below a few MB (the smoke size) the difference is the noise of the interpreter, not the records: no verdict.
    copies = float(extra) / one_copy if one_copy >= RESOLUTION_KB else None
    bench.add_row(case=NUMBER, measure="task_report over %d tasks: peak memory, in copies of the records" % n,
                  ours="%.2f copies" % copies if copies is not None else "n/a: the records take under 5 MB",
                  alternatives="role %s, reads alone %s, Ansible alone %s (controller peak RSS)" % (
                      lib.fmt_mb(report["maxrss_kb"]), lib.fmt_mb(only_reads["maxrss_kb"]),
                      lib.fmt_mb(baseline["maxrss_kb"])),
                  target="<= 2 copies", met=lib.within(copies, high=2.0) if copies is not None else None,
                  data={"tasks": n, "role_kb": report["maxrss_kb"], "reads_kb": only_reads["maxrss_kb"],
                        "ansible_kb": baseline["maxrss_kb"], "copies": copies,
                        "tree_maxrss_kb": {"role": report["tree_maxrss_kb"], "reads": only_reads["tree_maxrss_kb"],
                                           "ansible": baseline["tree_maxrss_kb"]}})


def run_clear(bench, size):
    count = size["stuck"]
    bench.reset("empty", rate_limit=size["rate_limit"])
    bench.ctl.add_tasks({"unique_name": "Cloud Account Aggregation", "outcome": "STUCK", "duration": 60,
                         "created_ago": 2 * 86400, "count": count, "source_id": SOURCE[0], "source_name": SOURCE[1]})
    bench.ctl.clear_log()
    playbook = _playbook(bench, "case7-clear", "clear_pending_tasks in check mode over %d stuck tasks" % count,
                         _role("clear_pending_tasks", {"clear_pending_tasks_older_than": "1h",
                                                       "clear_pending_tasks_max_tasks": count}, check_mode=True))
    run = _measured(bench, "case7-clear", playbook)
    req = bench.requests()
    if req["patch"]:
        raise bench.lib.BenchError("case 7: check mode sent %d PATCH request(s)" % req["patch"])
    span, reads, modules = _split(run, CLEAR_READS)
    _ratio_row(bench, "clear_pending_tasks --check over %d stuck tasks: role vs its module tasks" % count, span,
               reads, modules, "task_status_info, task_status", {"tasks": count, "requests": req.as_dict()})


def run_wait(bench, size):
    count = size["running"]
    bench.reset("empty", rate_limit=size["rate_limit"])
    bench.ctl.add_tasks({"unique_name": "Cloud Account Aggregation", "duration": size["running_for"], "count": count,
                         "source_id": SOURCE[0], "source_name": SOURCE[1]})
    bench.ctl.clear_log()
    playbook = _playbook(bench, "case7-wait", "wait_for_aggregation over %d running tasks" % count, _role(
        "wait_for_aggregation", {"wait_for_aggregation_source_ids": [SOURCE[0]],
                                 "wait_for_aggregation_poll_interval": size["poll"],
                                 "wait_for_aggregation_progress_interval": size["progress"],
                                 "wait_for_aggregation_timeout": "10m"}))
    run = _measured(bench, "case7-wait", playbook)
    req = bench.requests()
    span, reads, modules = _split(run, WAIT_READS)
    _ratio_row(bench, "wait_for_aggregation describing %d running tasks: role vs its module tasks" % count, span,
               reads, modules, "task_status_info", {"tasks": count, "requests": req.as_dict(), "rounds": modules - 1})


def run(bench, size):
    run_report(bench, size)
    run_memory(bench, size)
    run_clear(bench, size)
    run_wait(bench, size)


def check(rows, size):
    """What does not depend on the machine: every row is there, and no role run failed."""
    measures = [row["measure"] for row in rows]
    assert len([m for m in measures if m.startswith("task_report over") and "role vs" in m]) == len(size["report"])
    assert any(m.startswith("clear_pending_tasks --check") for m in measures)
    assert any(m.startswith("wait_for_aggregation describing") for m in measures)
    assert any("peak memory" in m for m in measures)
    for row in rows:
        if "role vs" in row["measure"]:
            assert row["data"]["modules"] > 0 and row["data"]["role"] >= row["data"]["modules"], row
