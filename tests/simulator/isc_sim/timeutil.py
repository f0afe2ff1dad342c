# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Millisecond timestamps: the simulator keeps every instant as integer milliseconds since the epoch."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def wall_ms() -> int:
    """Current wall-clock time in milliseconds."""
    return int(time.time() * 1000)


def format_ms(ms: int) -> str:
    """Render milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def parse_iso8601(text: str) -> int:
    """Parse an ISO-8601 date-time with a ``T`` or space separator and a zone (``Z`` or an offset).

    Returns milliseconds since the epoch; raises ValueError for anything else, a missing zone included.
    """
    match = _ISO_RE.match(text.strip())
    if not match:
        raise ValueError("not an ISO-8601 date-time with a time zone: %r" % text)
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    micros = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = timezone.utc
    if match.group(9):
        sign = -1 if match.group(9) == "-" else 1
        zone = timezone(sign * timedelta(hours=int(match.group(10)), minutes=int(match.group(11))))
    moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
