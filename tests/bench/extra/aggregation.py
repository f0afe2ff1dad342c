# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark case 8: start and wait for 10 sources.

One task of identitynow.tasks.source_aggregation starts the account aggregations of N sources of the simulated
tenant (each runs ``duration`` seconds, then the race window of 2 s) and waits for them, polling every ``poll``
seconds, with the documented rate limit on. Its requests are counted from the simulator's log: one POST per
source, one list request to find running aggregations, one to read the started tasks, then one list request per
poll round (the ids of all N tasks at once), and no 429.

The alternative is the do-it-yourself playbook the module replaces: a token from ``ansible.builtin.uri``, one
``uri`` POST per source, then a ``uri`` GET per task with ``until`` (retries every ``poll`` seconds), run against
the same tenant and counted the same way. Both wait for the same aggregation time, so the interesting figure is
the requests, not the wall time (reported too).
"""

from __future__ import annotations

import json
import os

NUMBER = 8
TITLE = "start and wait for 10 sources"
SIZES = {
    "full": {"sources": 10, "duration": 20, "poll": 5},
    "smoke": {"sources": 3, "duration": 1, "poll": 1},
}

MODULE_PLAY = """---
- name: Case 8 - start and wait with source_aggregation
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Start and wait
      identitynow.tasks.source_aggregation:
        source_id: "{{ sources }}"
        wait: true
        wait_timeout: 600
        wait_sleep: "{{ poll }}"
        wait_sleep_max: "{{ poll }}"
        fail_on_status: [ERROR, TERMINATED, TEMPERROR]
      register: started

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ started | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""

DIY_PLAY = """---
- name: Case 8 - start and wait with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Get a token
      ansible.builtin.uri:
        url: "{{ base_url }}/oauth/token"
        method: POST
        body_format: form-urlencoded
        body: {grant_type: client_credentials, client_id: "{{ client_id }}", client_secret: "{{ client_secret }}"}
      register: token
      no_log: true

    - name: Start the aggregations
      ansible.builtin.uri:
        url: "{{ base_url }}/v2026/sources/{{ item }}/load-accounts"
        method: POST
        headers: {Authorization: "Bearer {{ token.json.access_token }}"}
        status_code: 202
      loop: "{{ sources }}"
      register: starts

    - name: Wait for each task
      ansible.builtin.uri:
        url: "{{ base_url }}/v2026/task-status/{{ item.json.task.id }}"
        headers: {Authorization: "Bearer {{ token.json.access_token }}"}
      loop: "{{ starts.results }}"
      loop_control:
        label: "{{ item.item }}"
      register: status
      until: status.json.completionStatus is not none
      retries: 200
      delay: "{{ poll }}"
"""


def _write(bench, label, text):
    path = os.path.join(bench.run_dir(label + "-playbook"), "playbook.yml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def _prepare(bench, size):
    """A fresh tenant with the real limits and N sources whose aggregations take size["duration"] seconds."""
    bench.reset("empty")
    specs = [{"name": "Bench Source %02d" % index, "duration": size["duration"]} for index in range(size["sources"])]
    sources = [source["id"] for source in bench.ctl.add_sources(*specs)]
    bench.ctl.clear_log()
    return sources


def _counts(entries):
    posts = [e for e in entries if e["method"] == "POST" and e["path"].endswith("/load-accounts")]
    return {
        "starts": len(posts),
        "starts_ok": len([e for e in posts if e["status"] == 202]),
        "lists": len([e for e in entries if e["method"] == "GET" and e["path"].endswith("/task-status")]),
        "gets": len([e for e in entries if e["method"] == "GET" and "/task-status/" in e["path"]]),
        "tokens": len([e for e in entries if e["path"] == "/oauth/token"]),
        "429": len([e for e in entries if e["status"] == 429]),
        "requests": len(entries),
    }


def run(bench, size):
    lib = bench.lib
    sources = _prepare(bench, size)
    result_file = os.path.join(bench.run_dir("case8-result"), "result.json")
    ours = bench.playbook("case8-module", _write(bench, "case8-module", MODULE_PLAY),
                          {"sources": sources, "poll": size["poll"], "result_file": result_file})
    mine = _counts(bench.requests().entries)
    with open(result_file) as handle:
        result = json.load(handle)
    polls = result["polls"]
    module_time = bench.duration(bench.task(ours, "Start and wait"))

    sources = _prepare(bench, size)
    diy = bench.playbook("case8-uri", _write(bench, "case8-uri", DIY_PLAY),
                         {"sources": sources, "poll": size["poll"], "base_url": bench.sim.url,
                          "client_id": lib.PAT[0], "client_secret": lib.PAT[1]})
    theirs = _counts(bench.requests().entries)
    diy_time = bench.span(diy)

    n = size["sources"]
    expected_lists = polls + 2  # find what runs, read the started tasks, then one per poll round
    met = mine["starts"] == n and mine["starts_ok"] == n and mine["lists"] == expected_lists and mine["429"] == 0
    bench.add_row(case=NUMBER, measure="requests to start and wait for %d sources" % n,
                  ours="%d starts, %d list requests (%d poll rounds), %d other, %d x 429" % (
                      mine["starts"], mine["lists"], polls, mine["requests"] - mine["starts"] - mine["lists"],
                      mine["429"]),
                  alternatives="uri by hand: %d starts, %d GETs, %d x 429" % (theirs["starts"], theirs["gets"],
                                                                              theirs["429"]),
                  ratio_text="%s the requests of uri" % lib.fmt_x(lib.ratio(mine["requests"], theirs["requests"])),
                  target="%d starts, 1 list per poll round (+2), 0 x 429" % n, met=met,
                  data={"ours": mine, "uri": theirs, "polls": polls, "expected_lists": expected_lists,
                        "decisions": [a["decision"] for a in result["aggregations"]]})
    measure = "time to start and wait for %d sources (each runs %d s + 2 s race)" % (n, size["duration"])
    bench.add_row(case=NUMBER, measure=measure,
                  ours=lib.fmt_s(module_time), alternatives="uri by hand: %s" % lib.fmt_s(diy_time),
                  ratio_text=lib.fmt_x(lib.ratio(module_time, diy_time)),
                  data={"module": module_time, "uri": diy_time, "duration": size["duration"], "poll": size["poll"]})


def check(rows, size):
    counts = rows[0]["data"]
    n = size["sources"]
    assert counts["ours"]["starts"] == n and counts["ours"]["starts_ok"] == n, counts
    assert counts["ours"]["lists"] == counts["expected_lists"], counts
    assert counts["ours"]["429"] == 0, counts
    assert counts["decisions"] == ["started"] * n, counts
    assert counts["uri"]["starts"] == n, counts
