# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Request bodies sent as HTML forms: ``application/x-www-form-urlencoded`` and ``multipart/form-data``."""

from __future__ import annotations

import email.parser
import email.policy
from email import errors as email_errors
from urllib.parse import parse_qs

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class FormError(ValueError):
    """A form body that cannot be read (for example multipart without a boundary)."""


class Field:
    """One form field: its value as bytes, and the file name when it was sent as a file."""

    __slots__ = ("value", "filename")

    def __init__(self, value: bytes, filename=None):
        self.value = value
        self.filename = filename

    def text(self) -> str:
        return self.value.decode("utf-8", "replace")


def media_type(headers) -> str:
    """The Content-Type without parameters, lower case ("" when there is none)."""
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def parse_form(headers, body: bytes) -> dict:
    """The fields of a form body, by name (the last one wins); {} for any other content type.

    Raises FormError for a multipart body that has no boundary, or whose parts cannot be found.
    """
    kind = media_type(headers)
    if kind == URLENCODED:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: Field(values[-1].encode("utf-8")) for name, values in form.items()}
    if kind == MULTIPART:
        return _parse_multipart(headers.get("Content-Type", ""), body)
    return {}


def _parse_multipart(content_type: str, body: bytes) -> dict:
    head = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % content_type).encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.get_boundary():
        raise FormError("the multipart/form-data Content-Type has no boundary parameter")
    fatal = (email_errors.NoBoundaryInMultipartDefect, email_errors.StartBoundaryNotFoundDefect,
             email_errors.CloseBoundaryNotFoundDefect)
    if not body.strip() or any(isinstance(defect, fatal) for defect in message.defects):
        raise FormError("the multipart/form-data body has no parts delimited by its boundary")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise FormError("a multipart part has no Content-Disposition name")
        fields[str(name)] = Field(part.get_payload(decode=True) or b"", part.get_filename())
    return fields
