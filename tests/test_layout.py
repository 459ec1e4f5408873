"""Tests of dlcourse.layout: where a process stands among torchrun's processes."""

from __future__ import annotations

import pytest

from dlcourse.layout import ProcessLayout


def test_one_process_without_torchrun(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert ProcessLayout.from_env() == ProcessLayout(
        world_size=1, rank=0, local_rank=0
    )
    assert ProcessLayout.from_env().is_main


def test_torchrun_variables_are_read(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    layout = ProcessLayout.from_env()
    assert layout == ProcessLayout(world_size=4, rank=3, local_rank=1)
    assert not layout.is_main


@pytest.mark.parametrize(
    ("world", "rank"), [("two", "0"), ("2", "2"), ("0", "0")]
)
def test_bad_variables_are_refused(monkeypatch, world, rank):
    monkeypatch.setenv("WORLD_SIZE", world)
    monkeypatch.setenv("RANK", rank)
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        ProcessLayout.from_env()
