# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Builds ISC filter strings: the only place in the collection that writes one.

Expressions are small objects; ``render()`` gives the standard filter syntax with the
documented escaping, ``check(api_version)`` rejects what that API version does not support.
"""

from __future__ import annotations

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

# Filterable fields and their operators, and the accepted "type" values, per API version (see api_versions).
SUPPORTED = dict((v.name, v.filters) for v in api_versions.VERSIONS)
TYPE_VALUES = dict((v.name, v.types) for v in api_versions.VERSIONS)

COMPLETION_STATUSES = ("SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR")

# Order matters: '%' first, so that the escapes of '#' and '&' are not escaped again.
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("%", "%25"), ("#", "%23"), ("&", "%26"))


def quote(value):
    """A filter string literal for value, escaped as the ISC filter syntax documents."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise IscError("filter values must be strings, got %r" % (value,))
    text = str(value)
    for char, escaped in _ESCAPES:
        text = text.replace(char, escaped)
    return '"%s"' % text


class Expr:
    """A filter expression."""

    def render(self):
        raise NotImplementedError

    def conditions(self):
        """(field, operator, values) of every leaf."""
        raise NotImplementedError

    def check(self, api_version):
        """Raise IscError if api_version does not support a field, operator or value used here."""
        supported = SUPPORTED[api_version]
        for field, op, values in self.conditions():
            if field not in supported:
                raise IscError(
                    "filter field '%s' is not supported by api_version %s; supported fields: %s"
                    % (field, api_version, ", ".join(sorted(supported))))
            if op not in supported[field]:
                raise IscError(
                    "filter operator '%s' is not supported on '%s' by api_version %s; supported: %s"
                    % (op, field, api_version, ", ".join(supported[field])))
            if field == "type":
                allowed = TYPE_VALUES[api_version]
                bad = [v for v in values if str(v).upper() not in allowed]
                if bad:
                    raise IscError(
                        "type filter value(s) %s not accepted by api_version %s; accepted: %s"
                        % (", ".join(bad), api_version, ", ".join(allowed)))
        return self

    def __str__(self):
        return self.render()


class _Leaf(Expr):
    def __init__(self, field, op, values=()):
        self.field = field
        self.op = op
        self.values = tuple(values)

    def conditions(self):
        return [(self.field, self.op, self.values)]

    def render(self):
        if self.op == "isnull":
            return "%s isnull" % self.field
        if self.op == "in":
            return "%s in (%s)" % (self.field, ",".join(quote(v) for v in self.values))
        return "%s %s %s" % (self.field, self.op, quote(self.values[0]))


class _Composite(Expr):
    def __init__(self, op, parts):
        self.op = op
        self.parts = [p for p in parts if p is not None]

    def conditions(self):
        return [c for part in self.parts for c in part.conditions()]

    def render(self):
        if self.op == "not":
            return "not (%s)" % self.parts[0].render()
        if len(self.parts) == 1:
            return self.parts[0].render()
        return (" %s " % self.op).join("(%s)" % p.render() if _is_and_or(p) else p.render() for p in self.parts)


def _is_and_or(expr):
    """True when expr renders as an 'and'/'or' of several parts (one-part wrappers looked through)."""
    while isinstance(expr, _Composite) and expr.op != "not" and len(expr.parts) == 1:
        expr = expr.parts[0]
    return isinstance(expr, _Composite) and expr.op != "not"


def eq(field, value):
    return _Leaf(field, "eq", [value])


def in_(field, values):
    values = list(values)
    if not values:
        raise IscError("an 'in' filter on %s needs at least one value" % field)
    return eq(field, values[0]) if len(values) == 1 else _Leaf(field, "in", values)


def isnull(field):
    return _Leaf(field, "isnull")


def and_(*parts):
    """All of parts; None parts are skipped. Returns None when nothing is left."""
    composite = _Composite("and", parts)
    return composite if composite.parts else None


def or_(*parts):
    composite = _Composite("or", parts)
    return composite if composite.parts else None


def not_(part):
    return _Composite("not", [part])
