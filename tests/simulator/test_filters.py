# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``filters`` query parameter: syntax, escaping, per-version support and matching."""

from __future__ import annotations

import pytest

from isc_sim.filters import FilterError, parse_filter, tokenize

AD, WD = "ad" + "0" * 30, "wd" + "0" * 30


@pytest.fixture
def tasks(sim):
    """Four tasks: two finished, one failed, one stuck; returns a name -> id map."""
    sim.add_tasks(
        {"id": "1" * 32, "source_id": AD, "source_name": "Active Directory", "created_ago": 400, "duration": 10,
         "launcher": "sweep"},
        {"id": "2" * 32, "source_id": WD, "source_name": "Workday", "created_ago": 300, "duration": 10,
         "outcome": "ERROR"},
        {"id": "3" * 32, "source_id": AD, "source_name": "Active Directory", "unique_name": "Cloud Group Aggregation",
         "created_ago": 200, "outcome": "STUCK"},
        {"id": "4" * 32, "unique_name": "Identity Refresh", "created_ago": 100, "duration": 10, "launcher": "sweep"},
    )
    return {"ad": "1" * 32, "failed": "2" * 32, "stuck": "3" * 32, "refresh": "4" * 32}


def listed(sim, filters, version="v2026", token=None):
    path = "/task-status/v1" if version == "v1" else "/%s/task-status" % version
    response = sim.request("GET", path, {"filters": filters, "count": "true"}, token=token or sim.token())
    assert response.status == 200, response
    ids = [record["id"][0] for record in response.json()]
    assert response.headers["X-Total-Count"] == str(len(ids))
    return ids


def rejected(sim, filters, version="v2026"):
    path = "/task-status/v1" if version == "v1" else "/%s/task-status" % version
    response = sim.request("GET", path, {"filters": filters}, token=sim.token())
    assert response.status == 400, response
    body = response.json()
    assert body["detailCode"] == "400.1 Bad Request Content"
    return body["messages"][0]["text"]


# --------------------------------------------------------------------------------------------- matching
@pytest.mark.parametrize("filters,expected", [
    ('id eq "%s"' % ("1" * 32), ["1"]),
    ('id in ("%s","%s")' % ("1" * 32, "4" * 32), ["1", "4"]),
    ('sourceId eq "%s"' % AD, ["1", "3"]),
    ('sourceId in ("%s", "%s")' % (AD.upper(), WD), ["1", "2", "3"]),
    ('completionStatus eq "SUCCESS"', ["1", "4"]),
    ('completionStatus eq "Success"', ["1", "4"]),
    ('completionStatus in ("error","Success")', ["1", "2", "4"]),
    ("completionStatus isnull", ["3"]),
    ('type eq "CLOUD_ACCOUNT_AGGREGATION"', ["1", "2"]),
    ('type eq "cloud_group_aggregation"', ["3"]),
    ('type in ("IDENTITY_REFRESH", "CLOUD_GROUP_AGGREGATION")', ["3", "4"]),
    ('type eq "ACCOUNT_DELETION"', []),
    ('launcher eq "SWEEP"', ["1", "4"]),
    ('launcher in ("sweep")', ["1", "4"]),
    ('type eq "CLOUD_ACCOUNT_AGGREGATION" and completionStatus isnull', []),
    ("not completionStatus isnull", ["1", "2", "4"]),
])
def test_each_operator_matches(sim, tasks, filters, expected):
    assert tasks
    assert listed(sim, filters) == expected


def test_precedence_not_and_or_and_parentheses(sim, tasks):
    assert tasks
    one, four = "1" * 32, "4" * 32
    # and binds tighter than or: id=1 or (id=4 and status isnull) -> only 1
    assert listed(sim, 'id eq "%s" or id eq "%s" and completionStatus isnull' % (one, four)) == ["1"]
    assert listed(sim, '(id eq "%s" or id eq "%s") and completionStatus isnull' % (one, four)) == []
    # not binds tighter than and: (not isnull) and launcher=sweep
    assert listed(sim, 'not completionStatus isnull and launcher eq "sweep"') == ["1", "4"]
    assert listed(sim, 'not (completionStatus isnull or launcher eq "sweep")') == ["2"]
    assert listed(sim, 'not not completionStatus isnull') == ["3"]
    assert listed(sim, '((sourceId eq "%s"))and(completionStatus isnull)' % AD) == ["3"]


def test_v1_and_other_versions_apply_the_same_filters(sim, tasks):
    assert tasks
    assert listed(sim, 'launcher eq "sweep"', version="v1") == ["1", "4"]
    assert listed(sim, "completionStatus isnull", version="v2025") == ["3"]
    assert listed(sim, 'sourceId eq "%s"' % AD, version="v2024") == ["1"]  # completed tasks only
    assert listed(sim, 'type eq "IDENTITY_REFRESH"', version="beta") == ["4"]


def test_escaped_quotes_backslashes_and_percent_escapes(sim):
    launchers = ['say "hi"', "back\\slash", "a#b", "100%", "x&y", "%23"]
    sim.add_tasks(*[{"id": "%d" % n + "0" * 31, "launcher": launcher, "created_ago": 100 - n}
                    for n, launcher in enumerate(launchers)])
    assert listed(sim, r'launcher eq "say \"hi\""') == ["0"]
    assert listed(sim, r'launcher eq "back\\slash"') == ["1"]
    assert listed(sim, 'launcher eq "a%23b"') == ["2"]
    assert listed(sim, 'launcher eq "a#b"') == ["2"]
    assert listed(sim, 'launcher eq "100%25"') == ["3"]
    assert listed(sim, 'launcher eq "x%26y"') == ["4"]
    assert listed(sim, 'launcher eq "%2523"') == ["5"]


# ------------------------------------------------------------------------------------------- rejection
def test_type_enum_values_are_rejected_like_the_real_service(sim):
    for value in ("QUARTZ", "QPOC", "QUEUED_TASK", "quartz"):
        text = rejected(sim, 'type eq "%s"' % value)
        assert "Error converting Enumerated string (type) value (%s)" % value in text
    assert "(NOT_A_TASK)" in rejected(sim, 'type in ("CLOUD_ACCOUNT_AGGREGATION", "NOT_A_TASK")')


def test_v2025_accepts_only_its_ten_type_values(sim):
    assert "IDENTITY_REFRESH" in rejected(sim, 'type eq "IDENTITY_REFRESH"', version="v2025")
    assert listed(sim, 'type eq "IDENTITY_REFRESH"', version="v2026") == []
    assert listed(sim, 'type eq "AI_AGENT_AGGREGATION"', version="v2025") == []
    assert listed(sim, 'type eq "IDENTITY_REFRESH"', version="v2024") == []


def test_unknown_completion_status_is_rejected(sim):
    assert "completionStatus" in rejected(sim, 'completionStatus eq "DONE"')


@pytest.mark.parametrize("version,filters,words", [
    ("v2024", "completionStatus isnull", ["isnull", "completionStatus", "v2024"]),
    ("beta", "completionStatus isnull", ["isnull", "completionStatus", "beta"]),
    ("v2025", 'launcher eq "sweep"', ["launcher", "v2025"]),
    ("v2024", 'launcher eq "sweep"', ["launcher"]),
    ("v2026", "id isnull", ["isnull", "'id'"]),
    ("v1", 'name eq "x"', ["'name'", "position 1"]),
    ("v2026", 'id ne "x"', ["'ne'", "'id'", "position 4"]),
    ("v2026", 'id co "x"', ["'co'"]),
    ("v2026", 'id sw "x"', ["'sw'"]),
    ("v2026", "pr id", ["'pr'"]),
    ("v2026", 'created gt "2024-01-01T00:00:00Z"', ["'created'"]),
])
def test_unsupported_fields_and_operators_per_version(sim, version, filters, words):
    text = rejected(sim, filters, version)
    for word in words:
        assert word in text


@pytest.mark.parametrize("filters,words", [
    ('id EQ "x"', ["'EQ'", "lower case"]),
    ('id eq "x" AND launcher eq "y"', ["'AND'", "lower case"]),
    ('NOT id eq "x"', ["'NOT'"]),
    ('id In ("x")', ["'In'"]),
    ("completionStatus ISNULL", ["'ISNULL'"]),
])
def test_upper_case_operators_are_rejected(sim, filters, words):
    text = rejected(sim, filters)
    for word in words:
        assert word in text


@pytest.mark.parametrize("filters,words", [
    ('id eq "abc', ["unterminated", "position 7"]),
    ('id eq "a\\', ["position"]),
    (r'id eq "a\nb"', ["escape"]),
    ("id eq", ["end of filter"]),
    ('id eq "x" and', ["end of filter"]),
    ('id eq "x" or or id eq "y"', ["'or'"]),
    ('and id eq "x"', ["'and'"]),
    ('id eq "x" id eq "y"', ["'id'", "position 11"]),
    ('(id eq "x"', ["')'", "position 1"]),
    ('id eq "x")', ["')'", "position 10"]),
    ('((id eq "x")', ["')'"]),
    ("()", ["')'"]),
    ("id eq abc", ["double-quoted", "'abc'"]),
    ("completionStatus eq null", ["double-quoted"]),
    ("id in ()", ["double-quoted"]),
    ('id in "x"', ["'('"]),
    ('id in ("x" "y")', ["','"]),
    ('id in ("x",)', ["double-quoted"]),
    ('id "x"', ["operator"]),
    (" ", None),
])
def test_malformed_filters_are_rejected_with_a_position(sim, filters, words):
    if words is None:  # a blank filter is no filter
        assert listed(sim, filters) == []
        return
    text = rejected(sim, filters)
    for word in words:
        assert word in text


# ----------------------------------------------------------------------------------------- parser unit
def test_parser_tree_follows_precedence():
    tree = parse_filter('not id eq "a" and id eq "b" or completionStatus isnull', "v2026")
    assert tree == ("or", ("and", ("not", ("cmp", "id", "eq", ("a",))), ("cmp", "id", "eq", ("b",))),
                    ("cmp", "completionStatus", "isnull", ()))


def test_tokenizer_positions_and_escapes():
    tokens = tokenize('id in ("a\\"b", "c%26d")')
    assert [(t.kind, t.text, t.pos) for t in tokens] == [
        ("word", "id", 1), ("word", "in", 4), ("(", "(", 7), ("string", 'a"b', 8), (",", ",", 14),
        ("string", "c&d", 16), (")", ")", 23)]
    with pytest.raises(FilterError):
        tokenize('"open')
