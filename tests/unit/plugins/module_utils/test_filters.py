# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The filter builder: rendering, precedence, escaping, per-version checks.

Rendered filters are read back with the simulator's parser (which implements the documented syntax) and,
for arbitrary values, sent to the simulated tenant: ``eq("sourceId", v)`` must match exactly the task
whose source id is ``v``.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from isc_sim import SimControl
from isc_sim.filters import FilterError, parse_filter, tokenize
from isc_sim.definitions import TYPE_CODES

from ansible_collections.identitynow.tasks.plugins.module_utils import filters as f
from ansible_collections.identitynow.tasks.plugins.module_utils.client import IscClient
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

VERSIONS = ("v2026", "v2025", "v2024", "beta", "v1")


# ------------------------------------------------------------------------------------------ rendering
@pytest.mark.parametrize("expr,text", [
    (f.eq("sourceId", "2c9180835d2e5168015d32f890ca1581"), 'sourceId eq "2c9180835d2e5168015d32f890ca1581"'),
    (f.in_("id", ["a", "b", "c"]), 'id in ("a","b","c")'),
    (f.in_("id", ["only"]), 'id eq "only"'),
    (f.in_("id", iter(["x", "y"])), 'id in ("x","y")'),
    (f.isnull("completionStatus"), "completionStatus isnull"),
    (f.and_(f.eq("id", "a"), f.isnull("completionStatus")), 'id eq "a" and completionStatus isnull'),
    (f.and_(None, f.eq("id", "a"), None), 'id eq "a"'),
    (f.or_(f.eq("id", "a"), f.eq("id", "b")), 'id eq "a" or id eq "b"'),
    (f.and_(f.or_(f.eq("id", "a"), f.eq("id", "b")), f.isnull("completionStatus")),
     '(id eq "a" or id eq "b") and completionStatus isnull'),
    (f.not_(f.or_(f.eq("id", "a"), f.eq("id", "b"))), 'not (id eq "a" or id eq "b")'),
    (f.not_(f.isnull("completionStatus")), "not (completionStatus isnull)"),
    (f.eq("id", 42), 'id eq "42"'),
])
def test_rendering(expr, text):
    assert expr.render() == text
    assert str(expr) == text


def test_empty_composites_are_none_and_empty_in_is_an_error():
    assert f.and_() is None and f.and_(None, None) is None and f.or_(None) is None
    with pytest.raises(IscError, match="sourceId"):
        f.in_("sourceId", [])


@pytest.mark.parametrize("value", [None, True, 1.5, ["a"], {"a": 1}])
def test_only_strings_and_integers_are_values(value):
    with pytest.raises(IscError, match="strings"):
        f.quote(value)


# ------------------------------------------------------------------------------------------- escaping
@pytest.mark.parametrize("value,literal", [
    ("plain", '"plain"'),
    ("back\\slash", '"back\\\\slash"'),
    ('dou"ble', '"dou\\"ble"'),
    ("per%cent", '"per%25cent"'),
    ("ha#sh", '"ha%23sh"'),
    ("amp&ersand", '"amp%26ersand"'),
    ("%23", '"%2523"'),          # a literal "%23" is not a "#"
    ('\\"', '"\\\\\\""'),         # backslash then quote
    ('a\\%"#&', '"a\\\\%25\\"%23%26"'),
    ("ünïcödé ✓", '"ünïcödé ✓"'),
])
def test_documented_escapes(value, literal):
    assert f.quote(value) == literal


def decode_literal(literal):
    """Read a string literal back by the documented rules (QUIRKS 14), independently of both implementations."""
    assert literal[0] == literal[-1] == '"'
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        char = body[i]
        if char == "\\":
            assert body[i + 1] in '\\"'
            out.append(body[i + 1])
            i += 2
        elif char == '"':
            raise AssertionError("unescaped quote in %r" % literal)
        elif body.startswith(("%23", "%25", "%26"), i):
            out.append({"%23": "#", "%25": "%", "%26": "&"}[body[i:i + 3]])
            i += 3
        else:
            assert char not in "#&", "unescaped %r in %r" % (char, literal)
            assert char != "%", "unescaped %% in %r" % literal
            out.append(char)
            i += 1
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_quote_round_trips(value):
    literal = f.quote(value)
    assert decode_literal(literal) == value
    tokens = tokenize(f.eq("sourceId", value).render())
    assert [t.kind for t in tokens] == ["word", "word", "string"]
    assert tokens[2].text == value


# ---------------------------------------------------------------------------------- precedence property
FIELDS = ("id", "sourceId", "launcher")


def leaves():
    return st.one_of(
        st.sampled_from(FIELDS).map(lambda field: f.eq(field, "x")),
        st.just(f.isnull("completionStatus")),
        st.sampled_from(FIELDS).map(lambda field: f.in_(field, ["x", "z"])),
    )


def expressions():
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.lists(st.one_of(inner, st.none()), min_size=1, max_size=3).map(lambda parts: f.and_(*parts)),
            st.lists(st.one_of(inner, st.none()), min_size=1, max_size=3).map(lambda parts: f.or_(*parts)),
            inner.map(f.not_),
        ).filter(lambda e: e is not None),
        max_leaves=8,
    )


def meaning(expr, task):
    """What a builder expression means, from its structure (not from its text)."""
    if isinstance(expr, f._Composite):  # pylint: disable=protected-access
        results = [meaning(part, task) for part in expr.parts]
        return {"and": all, "or": any, "not": lambda r: not r[0]}[expr.op](results)
    if expr.op == "isnull":
        return task["completionStatus"] is None
    return task[expr.field] in expr.values


def parsed_meaning(node, task):
    """What the simulator's parser understood."""
    if node[0] == "and":
        return parsed_meaning(node[1], task) and parsed_meaning(node[2], task)
    if node[0] == "or":
        return parsed_meaning(node[1], task) or parsed_meaning(node[2], task)
    if node[0] == "not":
        return not parsed_meaning(node[1], task)
    dummy, field, op, values = node
    if op == "isnull":
        return task["completionStatus"] is None
    return task[field] in values


TASKS = [dict(zip(FIELDS + ("completionStatus",), combo))
         for combo in itertools.product("xy", "xy", "xy", (None, "SUCCESS"))]


@settings(max_examples=300, deadline=None)
@given(expressions())
@example(f.and_(f.and_(f.or_(f.eq("id", "x"), f.eq("sourceId", "x"))), f.eq("launcher", "x")))
@example(f.or_(f.and_(f.or_(f.eq("id", "x"), f.eq("sourceId", "x"))), f.eq("launcher", "x")))
@example(f.not_(f.and_(f.or_(f.eq("id", "x"), f.eq("sourceId", "x")))))
def test_rendered_text_means_what_was_built(expr):
    text = expr.render()
    tree = parse_filter(text, "v2026")
    for task in TASKS:
        assert parsed_meaning(tree, task) == meaning(expr, task), (text, task)


# -------------------------------------------------------------------------------- per-version checks
@pytest.mark.parametrize("version", ["v2025", "v2024", "beta"])
def test_launcher_only_in_v2026_and_v1(version):
    with pytest.raises(IscError) as info:
        f.eq("launcher", "someone").check(version)
    assert "'launcher'" in str(info.value) and version in str(info.value)
    for ok in ("v2026", "v1"):
        assert f.eq("launcher", "someone").check(ok)


@pytest.mark.parametrize("version", ["v2024", "beta"])
def test_isnull_not_in_v2024_and_beta(version):
    with pytest.raises(IscError) as info:
        f.and_(f.eq("id", "a"), f.not_(f.isnull("completionStatus"))).check(version)
    message = str(info.value)
    assert "'isnull'" in message and "completionStatus" in message and version in message
    assert "eq" in message and "in" in message  # what is supported instead


def test_unknown_field_is_named():
    with pytest.raises(IscError, match="'name'.*v2026"):
        f.eq("name", "x").check("v2026")


def test_type_values_per_version():
    assert f.eq("type", "CLOUD_ENTITLEMENT_IMPORT").check("v2026")
    assert f.eq("type", "cloud_account_aggregation").check("v2025")
    with pytest.raises(IscError) as info:
        f.in_("type", ["CLOUD_ACCOUNT_AGGREGATION", "CLOUD_ENTITLEMENT_IMPORT"]).check("v2025")
    assert "CLOUD_ENTITLEMENT_IMPORT" in str(info.value) and "v2025" in str(info.value)
    rejected = str(info.value).split("accepted", maxsplit=1)[0]
    assert "CLOUD_ENTITLEMENT_IMPORT" in rejected and "CLOUD_ACCOUNT_AGGREGATION" not in rejected
    for version in VERSIONS:
        with pytest.raises(IscError, match="QUARTZ"):
            f.eq("type", "QUARTZ").check(version)  # the response enum is not a filter value


@pytest.mark.parametrize("version", VERSIONS)
def test_type_values_match_the_simulator(version):
    assert set(f.TYPE_VALUES[version]) == set(TYPE_CODES[version])


@pytest.mark.parametrize("version", VERSIONS)
def test_checks_agree_with_the_simulator(version):
    """For every field and operator, check() accepts exactly what the tenant accepts."""
    values = {"type": "CLOUD_ACCOUNT_AGGREGATION", "completionStatus": "SUCCESS"}
    for field in ("id", "sourceId", "completionStatus", "type", "launcher", "target"):
        value = values.get(field, "x")
        for expr in (f.eq(field, value), f.in_(field, [value, value]), f.isnull(field)):
            try:
                expr.check(version)
                ours = True
            except IscError:
                ours = False
            try:
                parse_filter(expr.render(), version)
                theirs = True
            except FilterError:
                theirs = False
            assert ours == theirs, (version, expr.render())


# ------------------------------------------------------------------------------------ against the tenant
def sim_client(url):
    return IscClient(url, client_id="sim-pat-client", client_secret="sim-pat-secret", rate_limit=0)


def decoys_for(value):
    """Source ids that a wrong escaping, a double decoding or a prefix match would confuse with value."""
    candidates = [value + "x", "x" + value, value[:-1], value[1:], f.quote(value)[1:-1], value.replace("%", "%25"),
                  value.replace("\\", ""), value.replace('"', ""), value.replace("#", "%23"), value.replace("&", "%26")]
    return list(dict.fromkeys(c for c in candidates if c and c.lower() != value.lower()))


def check_source_filter(control, client, value):
    control.reset("empty")
    target = control.add_task(source_id=value, source_name="target")["id"]
    for decoy in decoys_for(value):
        control.add_task(source_id=decoy, source_name="decoy")
    found = [record["id"] for record in client.list_tasks(filters=f.eq("sourceId", value).check("v2026"))]
    assert found == [target], value
    statuses = [entry["status"] for entry in control.log() if entry["path"] == "/v2026/task-status"]
    assert statuses == [200]


SPECIAL = st.sampled_from(list('\\"%#&?=+; ()\',') + ["%23", "%25", "%26", "\\\"", "é", "✓", "\U0001F600", "\t"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(min_size=1, max_size=60),
                 st.lists(st.one_of(SPECIAL, st.text(max_size=3)), min_size=1, max_size=12).map("".join))
       .filter(bool))
@example('a"b\\c%d#e&f')
@example("%2523")
@example("\\")
@example('"')
@example("x" * 3000 + "#%&")
@example("ΑΒΓ-ünï-数据-\U0001F600")
def test_source_id_filter_matches_exactly_that_task(sim_server, value):
    control = SimControl(sim_server.url)
    client = sim_client(sim_server.url)
    try:
        check_source_filter(control, client, value)
    finally:
        client.session.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=4, unique_by=str.lower))
def test_in_filter_matches_exactly_those_tasks(sim_server, values):
    control = SimControl(sim_server.url)
    control.reset("empty")
    wanted = {control.add_task(source_id=v, source_name="t")["id"] for v in values}
    control.add_task(source_id="".join(values) + "-decoy", source_name="decoy")
    client = sim_client(sim_server.url)
    try:
        found = {record["id"] for record in client.list_tasks(filters=f.in_("sourceId", values))}
    finally:
        client.session.close()
    assert found == wanted
