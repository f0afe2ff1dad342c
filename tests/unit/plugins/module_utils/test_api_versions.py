# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The table of API versions and docs/api-versions.md say the same, and the code reads the table."""

from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import api_versions, client, connection, filters
from ansible_collections.identitynow.tasks.plugins.module_utils import task_query
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

DOC = pathlib.Path(__file__).resolve().parents[4] / "docs" / "api-versions.md"


def doc_tables():
    """Every Markdown table of the doc as a list of rows (cells without backticks), header first."""
    tables, current = [], None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
            if current is None:
                current = []
                tables.append(current)
            if not all(re.match(r"^-+$", c) for c in cells):
                current.append(cells)
        else:
            current = None
    return tables


def table(first_header):
    found = [t for t in doc_tables() if t[0][0] == first_header]
    assert len(found) == 1, "docs/api-versions.md has one table headed %r" % first_header
    return found[0]


def by_version(rows):
    """{version: {row name: cell}} of a table with one column per version."""
    header = rows[0]
    return dict((version, dict((row[0], row[i]) for row in rows[1:])) for i, version in enumerate(header) if i)


def test_the_main_table_matches_row_for_row():
    rows = table("api_version")
    assert rows[0] == ["api_version", "Task status", "Experimental header", "List returns", "Pending-tasks list",
                       "Account aggregation", "Entitlement aggregation"]
    expected = [[v.name, v.tasks_path, "sent" if v.experimental else "never",
                 "finished tasks only" if v.finished_only else "all tasks", v.pending_tasks_path or "none",
                 v.load_accounts, v.load_entitlements] for v in api_versions.VERSIONS]
    documented = [[re.sub(r" \(default\)$", "", row[0])] + row[1:] for row in rows[1:]]
    assert documented == expected


def test_the_documented_default_is_the_argument_spec_default():
    defaults = [row[0].split()[0] for row in table("api_version")[1:] if row[0].endswith("(default)")]
    assert defaults == [connection.isc_argument_spec()["api_version"]["default"]]


def test_the_filter_table_matches():
    documented = by_version(table("Field"))
    assert list(documented) == list(api_versions.NAMES)
    for version in api_versions.VERSIONS:
        cells = documented[version.name]
        expected = dict((field, ", ".join(version.filters[field]) if field in version.filters else "no")
                        for field in cells)
        assert cells == expected, version.name
        assert set(version.filters) <= set(cells), "every filterable field of %s is documented" % version.name


def test_the_type_table_matches():
    documented = by_version(table("type value"))
    assert list(documented) == list(api_versions.NAMES)
    every_type = set(t for v in api_versions.VERSIONS for t in v.types)
    for version in api_versions.VERSIONS:
        cells = documented[version.name]
        assert set(cells) == every_type
        assert cells == dict((t, "yes" if t in version.types else "no") for t in cells), version.name


def test_the_doc_parser_sees_a_change():
    """A cell changed in the doc would be noticed: the parser reads the cells, not just the row count."""
    rows = table("api_version")
    assert [row[1] for row in rows[1:]] == [v.tasks_path for v in api_versions.VERSIONS]
    assert len(set(row[4] for row in rows[1:])) > 1


# -------------------------------------------------------------------------- the code reads the table
def test_names_are_the_choices_and_the_accepted_versions():
    assert client.API_VERSIONS == api_versions.NAMES
    assert connection.isc_argument_spec()["api_version"]["choices"] == list(api_versions.NAMES)


@pytest.mark.parametrize("version", api_versions.VERSIONS, ids=lambda v: v.name)
def test_client_paths_and_header_come_from_the_table(version):
    assert client.task_path(version.name) == version.tasks_path
    assert client.task_path(version.name, "a/b") == version.tasks_path + "/a%2Fb"
    instance = client.IscClient("https://tenant.example", access_token="t", api_version=version.name)
    try:
        assert instance.experimental is version.experimental
        assert instance.pending_tasks_path() == version.pending_tasks_path
    finally:
        instance.session.close()
    off = client.IscClient("https://tenant.example", access_token="t", api_version=version.name, experimental=False)
    off.session.close()
    assert off.experimental is False


@pytest.mark.parametrize("version", api_versions.VERSIONS, ids=lambda v: v.name)
def test_filter_checks_come_from_the_table(version):
    assert filters.SUPPORTED[version.name] == version.filters
    assert filters.TYPE_VALUES[version.name] == version.types
    for field, operators in version.filters.items():
        values = list(version.types[:2]) if field == "type" else ["a", "b"]
        exprs = {"eq": filters.eq(field, values[0]), "in": filters.in_(field, values), "isnull": filters.isnull(field)}
        for op, expr in exprs.items():
            if op in operators:
                assert expr.check(version.name) is expr
            else:
                with pytest.raises(IscError, match="not supported"):
                    expr.check(version.name)
    with pytest.raises(IscError, match="not supported"):
        filters.eq("name", "x").check(version.name)


@pytest.mark.parametrize("version", api_versions.VERSIONS, ids=lambda v: v.name)
def test_pending_queries_come_from_the_table(version):
    assert (version.name in task_query.FINISHED_ONLY_VERSIONS) is version.finished_only
    query = task_query.build_query(dict(pending=True, api_version=version.name))
    if version.finished_only:
        assert query.path == version.pending_tasks_path
    else:
        assert query.path is None


def test_every_finished_only_version_has_a_pending_list():
    """A version whose list hides running tasks must offer the list that shows them."""
    for version in api_versions.VERSIONS:
        assert not version.finished_only or version.pending_tasks_path


def test_aggregation_paths_take_the_source_id():
    for version in api_versions.VERSIONS:
        for template in (version.load_accounts, version.load_entitlements):
            assert template.count("{id}") == 1 and template.startswith("/")
            assert template.format(id="s1").split("/")[-2] == "s1"


@pytest.mark.parametrize("name", ["v3", "", None, "V2026", 2026])
def test_unknown_versions_are_refused_with_the_accepted_ones(name):
    with pytest.raises(IscError) as info:
        api_versions.get(name)
    assert "v2026, v2025, v2024, beta, v1" in str(info.value)


def test_get_returns_the_row():
    assert api_versions.get("beta") is api_versions.BY_NAME["beta"]
