# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The standard ``filters`` syntax, limited to what each version of the task-status list supports.

Grammar (composite precedence ``not`` > ``and`` > ``or``; operators are lower case only)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := FIELD "eq" STRING | FIELD "in" "(" STRING ("," STRING)* ")" | FIELD "isnull"

Strings are double-quoted; inside them ``\\"`` and ``\\\\`` are escapes, and ``%23``, ``%25`` and ``%26`` stand for
``#``, ``%`` and ``&``. Comparisons ignore letter case. :func:`compile_filter` turns a filter into a predicate
``predicate(task, now, race) -> bool``; every problem raises :class:`FilterError` with a message that names the
field, operator or position (1-based) at fault.
"""

from __future__ import annotations

import re

from .definitions import TYPE_CODES
from .tasks import COMPLETION_STATUSES

#: Every primitive operator of the standard syntax; task-status supports only some of them.
PRIMITIVE_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "co", "sw", "in", "ca", "pr", "isnull")
COMPOSITE_OPERATORS = ("and", "or", "not")

_EQ_IN = ("eq", "in")
_EQ_IN_ISNULL = ("eq", "in", "isnull")
#: Supported fields and operators per version (the ``filters`` description of each list path).
SUPPORTED = {
    "v2026": {"id": _EQ_IN, "sourceId": _EQ_IN, "completionStatus": _EQ_IN_ISNULL, "type": _EQ_IN, "launcher": _EQ_IN},
    "v1": {"id": _EQ_IN, "sourceId": _EQ_IN, "completionStatus": _EQ_IN_ISNULL, "type": _EQ_IN, "launcher": _EQ_IN},
    "v2025": {"id": _EQ_IN, "sourceId": _EQ_IN, "completionStatus": _EQ_IN_ISNULL, "type": _EQ_IN},
    "v2024": {"id": _EQ_IN, "sourceId": _EQ_IN, "completionStatus": _EQ_IN, "type": _EQ_IN},
    "beta": {"id": _EQ_IN, "sourceId": _EQ_IN, "completionStatus": _EQ_IN, "type": _EQ_IN},
}
_KNOWN_FIELDS = ("id", "sourceId", "completionStatus", "type", "launcher")
_TASK_TYPE_ENUM = ("QUARTZ", "QPOC", "QUEUED_TASK")
_PERCENT_ESCAPES = re.compile(r"%2[356]")
_PUNCTUATION = "(),"


class FilterError(ValueError):
    """A filter that cannot be parsed or is not supported."""


class _Token:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int):
        self.kind = kind  # "word", "string", or the punctuation character itself
        self.text = text
        self.pos = pos  # 1-based

    def describe(self) -> str:
        return '"%s"' % self.text if self.kind == "string" else "'%s'" % self.text


def _decode_percent(value: str) -> str:
    return _PERCENT_ESCAPES.sub(lambda m: {"%23": "#", "%25": "%", "%26": "&"}[m.group(0)], value)


def tokenize(text: str) -> list:
    """Split a filter into tokens, decoding string escapes."""
    tokens = []
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token(char, char, i + 1))
            i += 1
        elif char == '"':
            start, i, chars = i, i + 1, []
            while True:
                if i >= length:
                    raise FilterError("unterminated string starting at position %d" % (start + 1))
                char = text[i]
                if char == '"':
                    break
                if char == "\\":
                    if i + 1 >= length or text[i + 1] not in '"\\':
                        raise FilterError("invalid escape sequence at position %d: only \\\" and \\\\ are allowed" % (i + 1))
                    i += 1
                    char = text[i]
                chars.append(char)
                i += 1
            tokens.append(_Token("string", _decode_percent("".join(chars)), start + 1))
            i += 1
        else:
            start = i
            while i < length and not text[i].isspace() and text[i] not in _PUNCTUATION and text[i] != '"':
                i += 1
            tokens.append(_Token("word", text[start:i], start + 1))
    return tokens


class _Parser:
    """Recursive-descent parser producing nested tuples: ("or"|"and", a, b), ("not", a), ("cmp", field, op, values)."""

    def __init__(self, text: str, version: str):
        self.tokens = tokenize(text)
        self.index = 0
        self.version = version
        self.supported = SUPPORTED[version]

    def parse(self):
        if not self.tokens:
            raise FilterError("empty filter")
        node = self._or()
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            self._reject_upper_case(token)
            raise FilterError("unexpected %s at position %d" % (token.describe(), token.pos))
        return node

    # ------------------------------------------------------------------------------------------ helpers
    def _peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, expected: str) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError("unexpected end of filter: expected %s" % expected)
        self.index += 1
        return token

    def _peek_word(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "word" and token.text == word

    @staticmethod
    def _reject_upper_case(token: _Token) -> None:
        lower = token.text.lower()
        if token.kind == "word" and token.text != lower and lower in PRIMITIVE_OPERATORS + COMPOSITE_OPERATORS:
            raise FilterError("operator '%s' at position %d must be lower case ('%s')" % (token.text, token.pos, lower))

    # ---------------------------------------------------------------------------------------- grammar
    def _or(self):
        node = self._and()
        while self._peek_word("or"):
            self.index += 1
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._peek_word("and"):
            self.index += 1
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._peek_word("not"):
            self.index += 1
            return ("not", self._not())
        token = self._next("a field name, 'not' or '('")
        if token.kind == "(":
            node = self._or()
            closing = self._next("')' to close the '(' at position %d" % token.pos)
            if closing.kind != ")":
                self._reject_upper_case(closing)
                raise FilterError("expected ')' to close the '(' at position %d, found %s at position %d"
                                  % (token.pos, closing.describe(), closing.pos))
            return node
        if token.kind != "word" or token.text in COMPOSITE_OPERATORS:
            raise FilterError("expected a field name at position %d, found %s" % (token.pos, token.describe()))
        self._reject_upper_case(token)
        if token.text == "pr":
            field = self._next("a field name after 'pr'")
            raise FilterError("operator 'pr' is not supported for field '%s' (position %d)" % (field.text, token.pos))
        return self._comparison(token)

    def _comparison(self, field: _Token):
        name = field.text
        if name not in _KNOWN_FIELDS:
            raise FilterError("field '%s' at position %d is not supported for filtering; supported fields: %s"
                              % (name, field.pos, ", ".join(self.supported)))
        if name not in self.supported:
            raise FilterError("field '%s' at position %d is not supported for filtering in %s; supported fields: %s"
                              % (name, field.pos, self.version, ", ".join(self.supported)))
        operator = self._next("an operator after field '%s'" % name)
        self._reject_upper_case(operator)
        if operator.kind != "word" or operator.text not in PRIMITIVE_OPERATORS:
            raise FilterError("expected an operator after field '%s' at position %d, found %s"
                              % (name, operator.pos, operator.describe()))
        if operator.text not in self.supported[name]:
            raise FilterError("operator '%s' at position %d is not supported for field '%s' in %s; supported: %s"
                              % (operator.text, operator.pos, name, self.version, ", ".join(self.supported[name])))
        if operator.text == "isnull":
            return ("cmp", name, "isnull", ())
        if operator.text == "eq":
            values = [self._string(name)]
        else:
            opening = self._next("'(' after 'in'")
            if opening.kind != "(":
                raise FilterError("expected '(' after 'in' at position %d, found %s" % (opening.pos, opening.describe()))
            values = [self._string(name)]
            while True:
                token = self._next("',' or ')' in the list of 'in' values")
                if token.kind == ")":
                    break
                if token.kind != ",":
                    raise FilterError("expected ',' or ')' at position %d, found %s" % (token.pos, token.describe()))
                values.append(self._string(name))
        return ("cmp", name, operator.text, tuple(self._check_value(name, v) for v in values))

    def _string(self, field: str) -> str:
        token = self._next("a double-quoted value for field '%s'" % field)
        if token.kind != "string":
            raise FilterError("expected a double-quoted string value for field '%s' at position %d, found %s"
                              % (field, token.pos, token.describe()))
        return token.text

    def _check_value(self, field: str, value: str) -> str:
        if field == "type":
            code = value.upper()
            if code in _TASK_TYPE_ENUM or code not in TYPE_CODES[self.version]:
                raise FilterError("Error converting Enumerated string (type) value (%s)" % value)
            return code
        if field == "completionStatus":
            status = value.upper()
            if status not in COMPLETION_STATUSES:
                raise FilterError("Error converting Enumerated string (completionStatus) value (%s)" % value)
            return status
        return value.lower()


def parse_filter(text: str, version: str):
    """Parse ``text`` for ``version`` (v2024, v2025, v2026, beta, v1) into a syntax tree of tuples."""
    return _Parser(text, version).parse()


def compile_filter(text: str, version: str):
    """Parse and compile a filter into ``predicate(task, now, race) -> bool``."""
    return _compile(parse_filter(text, version))


def _compile(node):
    kind = node[0]
    if kind == "not":
        inner = _compile(node[1])
        return lambda task, now, race: not inner(task, now, race)
    if kind in ("and", "or"):
        left, right = _compile(node[1]), _compile(node[2])
        if kind == "and":
            return lambda task, now, race: left(task, now, race) and right(task, now, race)
        return lambda task, now, race: left(task, now, race) or right(task, now, race)
    field, operator, values = node[1:]
    if operator == "isnull":
        return lambda task, now, race: task.status(now, race) is None
    wanted = frozenset(values)
    if field == "completionStatus":
        return lambda task, now, race: task.status(now, race) in wanted
    if field == "type":
        return lambda task, now, race: task.definition.code in wanted
    attribute = {"id": "id_key", "sourceId": "source_key", "launcher": "launcher_key"}[field]
    return lambda task, now, race: getattr(task, attribute) in wanted
