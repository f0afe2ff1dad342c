# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The picture of make bench: case 3's requests over time against the rate limit.

    python picture.py REPORT.json OUT.svg

At every moment of a case 3 run, the number of API requests that arrived in the sliding window ending then,
(t - window, t], by the simulator's request log (token requests are not rate limited, so not counted): at the
arrival of a request, that is the count the gateway compares with its limit. One panel per variant (the two modules,
the role, floor.py), the limit as a line, every 429 as a red cross. bench.py calls ``draw`` after each run
that has case 3 and writes the SVG next to the JSON; the data is the JSON's ``details.case3_requests``.
matplotlib is a test-only dependency (requirements-test.txt).
"""

from __future__ import annotations

import bisect
import json
import sys


def window_counts(times, window):
    """For each time of a sorted list, how many times lie in (t - window, t]: what the gateway counts."""
    counts = []
    for index, moment in enumerate(times):
        counts.append(index + 1 - bisect.bisect_right(times, moment - window))
    return counts


def window_curve(times, window):
    """The sliding-window count as a step function of time, up to the last request: (xs, ys). It rises at
    each request and falls when a request leaves the window (window seconds later), falls first at a tie."""
    events = sorted([(t, 1) for t in times] + [(t + window, -1) for t in times if t + window <= times[-1]])
    xs, ys, count = [times[0]], [0], 0
    for moment, step in events:
        count += step
        xs.append(moment)
        ys.append(count)
    return xs, ys


def draw(requests, limit, window, path, title):
    """Write the picture to path (SVG). requests: {variant: [[seconds after its first request, status], ...]}."""
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    from matplotlib import pyplot  # pylint: disable=import-outside-toplevel

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "identitynow.tasks", "font.size": 9})
    variants = [(name, entries) for name, entries in requests.items() if entries]
    figure, axes = pyplot.subplots(len(variants), 1, sharex=True, squeeze=False,
                                   figsize=(8, 1.9 * len(variants) + 0.8))
    for (name, entries), axis in zip(variants, axes[:, 0]):
        times = sorted(entry[0] for entry in entries)
        counts = window_counts(times, window)
        xs, ys = window_curve(times, window)
        refused = [entry[0] for entry in entries if entry[1] == 429]
        axis.step(xs, ys, where="post", color="#1f5fa8", linewidth=1.2,
                  label="requests in the last %g s" % window)
        axis.axhline(limit, color="#c0392b", linestyle="--", linewidth=1, label="limit: %d per %g s" % (limit, window))
        if refused:
            axis.plot(refused, [limit] * len(refused), "x", color="#c0392b", markersize=8,
                      label="429 (%d)" % len(refused))
        axis.set_ylim(0, limit * 1.2)
        axis.set_ylabel("requests")
        axis.set_title("%s: %d API requests in %.1f s, at most %d in any %g s, %d x 429" % (
            name, len(times), times[-1] - times[0] if times else 0.0, max(counts or [0]), window, len(refused)),
            fontsize=9, loc="left")
        axis.grid(True, alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds after the run's first API request")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    pyplot.close(figure)
    return path


def main(argv):
    with open(argv[0]) as handle:
        report = json.load(handle)
    requests = report["details"]["case3_requests"]
    draw(requests, report["limits"]["rate_limit"], report["limits"]["rate_window"], argv[1],
         "Case 3, clear stuck tasks: requests per sliding window (%s)" % report["machine"]["date"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
