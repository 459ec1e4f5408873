"""Tests of dlcourse.profiles."""

from __future__ import annotations

import pytest

from dlcourse import profiles


def test_full_by_default(monkeypatch):
    monkeypatch.delenv(profiles.ENV_VAR, raising=False)
    profile = profiles.current_profile()
    assert profile.is_full and profile.name == "full"
    assert "full training and test sets" in profile.describe()


def test_smoke_is_announced_as_not_comparable(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "smoke")
    profile = profiles.current_profile()
    assert not profile.is_full
    assert "NOT comparable" in profile.describe()
    assert "2,000 training images" in profile.describe()


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(profiles.ENV_VAR, "turbo")
    with pytest.raises(
        ValueError, match="'turbo' is not a profile; use one of full, smoke"
    ):
        profiles.current_profile()
