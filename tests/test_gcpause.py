"""The collector's settings around bulk work are always given back."""

from __future__ import annotations

import gc

import pytest

from cartera.core.gcpause import BULK_THRESHOLD, gc_paused, gc_relaxed


def test_paused_collection_comes_back_on_even_after_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()


def test_paused_inside_a_pause_leaves_it_paused():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_relaxed_thresholds_are_restored_even_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_relaxed():
        assert gc.get_threshold() == BULK_THRESHOLD
        raise RuntimeError
    assert gc.get_threshold() == before
