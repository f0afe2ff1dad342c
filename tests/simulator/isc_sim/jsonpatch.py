# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), standard library only.

:func:`validate_operations` checks a request body against the spec's JsonPatchOperation schema (``op`` and
``path`` required, ``value`` a string, boolean, integer, object or array, never null); :func:`apply_patch` applies
the operations to a copy of a document. Both raise :class:`PatchError`; a failed ``test`` raises
:class:`PatchTestFailed`.
"""

from __future__ import annotations

import copy
import json

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    """An invalid patch document or an operation that cannot be applied."""


class PatchTestFailed(PatchError):
    """A ``test`` operation whose value differs from the target."""


def parse_pointer(pointer: str) -> list:
    """Split a JSON Pointer into reference tokens (``~1`` is ``/``, ``~0`` is ``~``)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError("invalid JSON pointer %r: must be empty or start with '/'" % pointer)
    tokens = []
    for token in pointer[1:].split("/"):
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise PatchError("invalid JSON pointer %r: '~' must be followed by 0 or 1" % pointer)
        tokens.append(token.replace("~1", "/").replace("~0", "~"))
    return tokens


def _value_allowed(value) -> bool:
    # bool is a subclass of int; float is neither string, boolean, integer, object nor array.
    return isinstance(value, (str, bool, int, dict, list))


def validate_operations(body) -> list:
    """Check the shape of a JSON Patch request body and return it."""
    if not isinstance(body, list):
        raise PatchError("the request body must be a JSON array of JSON Patch operations")
    for index, operation in enumerate(body):
        where = "operation %d" % index
        if not isinstance(operation, dict):
            raise PatchError("%s must be an object" % where)
        op = operation.get("op")
        if op not in OPERATIONS:
            raise PatchError("%s: 'op' must be one of %s, got %r" % (where, ", ".join(OPERATIONS), op))
        if not isinstance(operation.get("path"), str):
            raise PatchError("%s: 'path' is required and must be a string" % where)
        parse_pointer(operation["path"])
        if op in ("add", "replace", "test"):
            if "value" not in operation:
                raise PatchError("%s: '%s' requires a 'value'" % (where, op))
            if not _value_allowed(operation["value"]):
                raise PatchError("%s: 'value' must be a string, boolean, integer, object or array, got %s"
                                 % (where, "null" if operation["value"] is None else type(operation["value"]).__name__))
        if op in ("move", "copy"):
            if not isinstance(operation.get("from"), str):
                raise PatchError("%s: '%s' requires a string 'from'" % (where, op))
            parse_pointer(operation["from"])
    return body


def json_equal(left, right) -> bool:
    """Equality as RFC 6902 ``test`` defines it: booleans are not numbers, numbers compare by value."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right


def _array_index(token: str, array: list, allow_end: bool, pointer: str) -> int:
    if allow_end and token == "-":
        return len(array)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError("invalid array index %r in path %r" % (token, pointer))
    index = int(token)
    if index > len(array) or (index == len(array) and not allow_end):
        raise PatchError("array index %d out of range in path %r" % (index, pointer))
    return index


def _parent(document, pointer: str):
    """Return ``(container, last_token)`` for ``pointer``; the container must exist."""
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("the operation cannot target the whole document")
    node = document
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    if not isinstance(node, (dict, list)):
        raise PatchError("path %r does not exist" % pointer)
    return node, tokens[-1]


def _child(node, token: str, pointer: str):
    if isinstance(node, dict):
        if token not in node:
            raise PatchError("path %r does not exist" % pointer)
        return node[token]
    if isinstance(node, list):
        return node[_array_index(token, node, False, pointer)]
    raise PatchError("path %r does not exist" % pointer)


def get(document, pointer: str):
    """The value at ``pointer``; PatchError if it does not exist."""
    node = document
    for token in parse_pointer(pointer):
        node = _child(node, token, pointer)
    return node


def _add(document, pointer: str, value):
    if pointer == "":
        return value
    container, token = _parent(document, pointer)
    if isinstance(container, dict):
        container[token] = value
    else:
        container.insert(_array_index(token, container, True, pointer), value)
    return document


def _remove(document, pointer: str):
    container, token = _parent(document, pointer)
    if isinstance(container, dict):
        if token not in container:
            raise PatchError("path %r does not exist" % pointer)
        return container.pop(token)
    return container.pop(_array_index(token, container, False, pointer))


def _replace(document, pointer: str, value):
    get(document, pointer)
    if pointer == "":
        return value
    container, token = _parent(document, pointer)
    if isinstance(container, dict):
        container[token] = value
    else:
        container[_array_index(token, container, False, pointer)] = value
    return document


def apply_patch(document, operations: list):
    """Apply validated ``operations`` to a deep copy of ``document`` and return the copy."""
    document = copy.deepcopy(document)
    for operation in operations:
        op, path = operation["op"], operation["path"]
        if op == "add":
            document = _add(document, path, copy.deepcopy(operation["value"]))
        elif op == "remove":
            if path == "":
                raise PatchError("the whole document cannot be removed")
            _remove(document, path)
        elif op == "replace":
            document = _replace(document, path, copy.deepcopy(operation["value"]))
        elif op == "move":
            source = operation["from"]
            if source != path and path.startswith(source + "/"):
                raise PatchError("cannot move %r into its own child %r" % (source, path))
            if source != path:
                document = _add(document, path, _remove(document, source))
            else:
                get(document, path)
        elif op == "copy":
            document = _add(document, path, copy.deepcopy(get(document, operation["from"])))
        elif not json_equal(get(document, path), operation["value"]):
            raise PatchTestFailed("test failed: the value at %r is %s, not %s"
                                  % (path, _short(get(document, path)), _short(operation["value"])))
    return document


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
