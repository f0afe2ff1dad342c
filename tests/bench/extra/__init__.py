# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark cases in their own files: ``tests/bench/extra/<name>.py`` (files starting with ``_`` are not cases).

``tests/bench/bench.py`` finds every file here and runs its case in the same run, table and JSON as the cases
1-5 of bench.py. ``--cases`` takes their numbers (default: every case), ``--smoke`` runs them at their smoke
sizes, and ``make bench-smoke`` (tests/bench/test_bench_smoke.py) runs each of them and fails when one of them
has no row or reports an error. A file defines, at its top level:

``NUMBER = 6``
    The case number (an int literal; 6 many tenants, 7 roles at scale, 8 start and wait, 9 event source).
``TITLE = "many tenants"``
    The case's title in the table (a str literal). NUMBER and TITLE are read without importing the file, so
    a file that fails to import still gets an ERROR row under its own number.
``SIZES = {"full": {...}, "smoke": {...}}``
    The case's sizes; the smoke sizes are tiny (make bench-smoke is part of make test) and keep the rate limit.
``run(bench, size)``
    Does the work; size is a copy of ``SIZES["full"]`` or ``SIZES["smoke"]``. An exception is the case's error:
    the harness reports it like the errors of cases 1-5 (an ERROR row, the traceback in the JSON, exit
    status 1), keeps the rows added before it and runs the next case.
``check(rows, size)`` (optional)
    Called by the smoke test with the case's rows (dicts: measure, ours, target, met, data...) and smoke size;
    asserts what does not depend on the machine's speed (counts from the request log, tasks changed).

What ``run`` gets in ``bench`` (a ``bench.Bench``):

- ``bench.sim`` (``.url``, ``.host``, ``.port``) and ``bench.ctl`` (``isc_sim.control.SimControl``): the run's
  simulator; ``bench.reset(scenario="empty", tasks=None, **settings)`` resets it with the documented limits
  (100 requests per 10 s, tokens 749 s, race window 2 s) unless settings say otherwise;
  ``bench.requests()`` returns the request log since the last reset or clear (a ``Requests``: ``["list"]``,
  ``["patch"]``, ``["token"]``, ``["429"]``, ``.times()``, ``.span()``, ``.rejected()``, ``.as_dict()``) and clears it.
- ``bench.start_simulator(label, env=None)``: another simulator in its own process and port (``env`` adds
  ``SIM_*`` start settings); it is stopped when the case ends.
- ``bench.env()``: the environment of an ansible-playbook run against ``bench.sim`` (SAIL_* variables, the
  collection path, the bench_timer callback); ``bench.run_dir(label)``: a fresh folder under
  ``bench-results/logs/``; ``bench.ansible_playbook``, ``bench.python``, ``bench.collections``.
- ``bench.playbook(label, path, extra_vars, inventory="localhost,", args=(), env=None)``: runs a playbook
  (an absolute path, or a file of ``tests/bench/cases/``) with ``-c local`` and the timing callback;
  returns ``{"wall", "tasks", "log"}`` (``tasks``: name, start, end, items, retries and a digest per task,
  ``time.time()`` stamps) and raises when ansible-playbook fails. ``bench.task(run, name)`` and
  ``bench.duration(task)`` read it.
- ``bench.add_row(case=NUMBER, measure=..., ours=..., alternatives="", ratio_text="", target="", met=None,
  data=None)``: appends a row. ``met`` is True, False or None (no verdict: ``-`` without a target, ``n/a``
  with one); ``data`` (JSON-serialisable) goes to the JSON report. A row with a target must have a verdict, or
  say why it has none in ``ours``, as ``"n/a: the reason"`` (the smoke test checks this).
- ``bench.lib``: bench.py itself, for ``fmt_s``, ``fmt_x``, ``ratio``, ``within``, ``Requests``, ``BenchError``
  (raise it for a case that cannot run), ``REAL_LIMITS`` and ``PAT`` (the simulator's client credentials).
"""
