# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Without Java 17 the rulebook test fails and says how to install it; SKIP_EDA_JAVA_TESTS=1 skips it instead."""

from __future__ import annotations

import pytest

from conftest import require_java


@pytest.fixture
def no_java(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SKIP_EDA_JAVA_TESTS", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no java on it
    return tmp_path


def test_missing_java_fails_with_how_to_install_it(no_java):
    with pytest.raises(pytest.fail.Exception) as info:
        require_java()
    text = str(info.value)
    assert "java is not on PATH" in text and "needs Java 17 or newer" in text
    assert "apt-get install openjdk-17-jre-headless" in text and "SKIP_EDA_JAVA_TESTS=1" in text


def test_an_old_java_fails_too(no_java):
    fake = no_java / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    fake.chmod(0o755)
    with pytest.raises(pytest.fail.Exception, match="is not Java 17 or newer"):
        require_java()


@pytest.mark.parametrize("value", ["1", "true"])
def test_the_opt_out_skips_instead(no_java, monkeypatch, value):
    monkeypatch.setenv("SKIP_EDA_JAVA_TESTS", value)
    with pytest.raises(pytest.skip.Exception, match="SKIP_EDA_JAVA_TESTS is set"):
        require_java()


def test_java_17_here_is_found():
    """This machine's java passes (make test needs it); with the opt-out set the test skips instead of failing."""
    assert require_java()
