# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a task record means: statuses and their aliases, "finished", times, descriptions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.identitynow.tasks.plugins.module_utils import task_record as tr
from ansible_collections.identitynow.tasks.plugins.module_utils.errors import IscError

NOW = 1738324800.0  # 2025-01-31T12:00:00Z


@pytest.mark.parametrize("given", ["error", "Error", "ERROR", " TempError ", "temperror"])
def test_status_any_case_in_upper_case_out(given):
    assert tr.normalize_status(given) == given.strip().upper()


@pytest.mark.parametrize("given", ["TEMP_ERROR", "temp_error", " Temp_Error "])
def test_status_alias_is_read_as_the_enum_value(given):
    assert tr.normalize_status(given) == "TEMPERROR"
    assert tr.normalize_statuses([given, "TEMPERROR"], "fail_on_status") == ["TEMPERROR"]


@pytest.mark.parametrize("given", ["done", "", None, 3, "SUCCESS,ERROR"])
def test_bad_status_names_option_and_values(given):
    with pytest.raises(IscError) as info:
        tr.normalize_status(given)
    text = str(info.value)
    assert text.startswith("completion_status: unknown completion status")
    assert "SUCCESS, WARNING, ERROR, TERMINATED, TEMPERROR" in text


def test_status_of_reads_aliases_and_any_case():
    assert tr.status_of({"completionStatus": "temp_error"}) == "TEMPERROR"
    assert tr.status_of({"completionStatus": "Success"}) == "SUCCESS"
    assert tr.status_of({"completionStatus": None}) is None


def test_finished_needs_both_completed_and_completion_status():
    assert not tr.is_finished({"completionStatus": "SUCCESS", "completed": None})
    assert not tr.is_finished({"completionStatus": None, "completed": "2025-01-31T11:59:00Z"})
    assert tr.is_finished({"completionStatus": "SUCCESS", "completed": "2025-01-31T11:59:00Z"})
    assert tr.is_finishing({"completionStatus": None, "completed": "2025-01-31T11:59:00Z"})
    assert not tr.is_finishing({"completionStatus": "SUCCESS", "completed": "2025-01-31T11:59:00Z"})


@pytest.mark.parametrize("value,expected", [
    ("2025-01-31T12:00:00Z", NOW), ("2025-01-31T12:00:00.500Z", NOW + 0.5), ("2025-01-31 12:00:00+00:00", NOW),
    ("2025-01-31T14:00:00+02:00", NOW), ("2025-01-31T07:00:00-0500", NOW), ("2025-01-31T12:00", NOW),
    ("2025-01-31", NOW - 43200), (int(NOW * 1000), NOW), (NOW * 1000 + 250, NOW + 0.25), (NOW, NOW)])
def test_epoch_of_reads_iso_strings_and_epoch_numbers(value, expected):
    assert tr.epoch_of(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "2025-01-31T25:00:00Z", None, True, float("nan"), []])
def test_epoch_of_rejects_what_is_no_time(value):
    assert tr.epoch_of(value) is None


def test_dates_alone_are_no_date_time_unless_allowed():
    assert tr.parse_timestamp("2025-01-31") is None
    assert tr.parse_timestamp("2025-01-31", allow_date=True) == datetime(2025, 1, 31, tzinfo=timezone.utc)


def test_format_timestamp_is_utc_milliseconds():
    assert tr.format_timestamp(NOW + 0.4705) == "2025-01-31T12:00:00.470Z"
    assert tr.format_timestamp(tr.parse_timestamp("2025-01-31T14:00:00.1+02:00")) == "2025-01-31T12:00:00.100Z"


def test_describe_names_the_task_and_its_source():
    record = {"id": "t1", "uniqueName": "Cloud Account Aggregation", "target": {"id": "s1", "name": "HR"},
              "messages": [{"type": "ERROR", "localizedText": {"message": "boom"}}, {"key": "k"}, "junk"]}
    assert tr.describe(record) == "t1 (Cloud Account Aggregation on HR)"
    assert tr.describe({"id": "t2"}) == "t2"
    assert tr.source_of(record) == ("s1", "HR")
    assert tr.source_of({"target": "not an object"}) == (None, None)
    assert tr.messages_of(record) == ["ERROR: boom", "INFO: k"]
    assert tr.name_of({"taskDefinitionSummary": {"uniqueName": "Refresh"}}) == "Refresh"


def test_progress_text():
    assert tr.progress_text({"launched": "x", "progress": "5 of 10", "percentComplete": 50}) == "progress '5 of 10', 50%"
    assert tr.progress_text({"launched": "x", "completed": "2025-01-31T12:00:00Z"}) == (
        "completed at 2025-01-31T12:00:00Z, completion status not yet set")
    assert tr.progress_text({}) == "not launched yet"
