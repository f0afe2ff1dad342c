# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Durations as every time option of the collection accepts them.

A duration is a number with a unit (``s``, ``m``, ``h``, ``d`` or ``w``), or several of them
(``1h30m``); a bare number is seconds. ``older_than``, ``created_after``/``created_before`` (as "that
long ago"), the wait options and the roles' time options all read durations with ``parse_duration``.
"""

from __future__ import annotations

import math
import re

from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$", re.IGNORECASE)
UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
EXAMPLES = "90s, 30m, 6h, 2d, 1h30m"


def has_unit(text):
    """True when text is a duration written with units (not a bare number)."""
    return isinstance(text, str) and bool(_FULL.match(text))


def parse_duration(value, option, positive=False):
    """Seconds in a duration such as '90s', '30m', '6h', '2d', '1w' or '1h30m'; a bare number is seconds.

    value may also be an int or a float (YAML numbers). IscError naming option for anything else,
    for a negative, infinite or NaN value, and for 0 when positive is true.
    """
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            if _FULL.match(text):
                seconds = sum(float(n) * UNIT_SECONDS[u.lower()] for n, u in _PART.findall(text))
    if seconds is not None and (math.isinf(seconds) or math.isnan(seconds)):
        seconds = None
    if positive and (seconds is None or seconds <= 0):
        raise IscError("%s must be a number of seconds greater than 0, or a duration with one of the units s, m, "
                       "h, d, w (for example %s); got %r" % (option, EXAMPLES, value))
    if seconds is None or seconds < 0:
        raise IscError("%s must be a duration of 0 or more: a number of seconds or a number with one of the units "
                       "s, m, h, d, w (for example %s); got %r" % (option, EXAMPLES, value))
    return seconds
