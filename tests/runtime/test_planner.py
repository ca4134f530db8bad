"""The arena planner: no two buffers alive at the same time overlap, and greedy reuses memory."""
import numpy as np
import pytest

from edgerun.runtime.planner import ALIGN, GreedyPlanner, LinearPlanner, check_plan


def _random_plan(cls, seed, n=60):
    rng = np.random.default_rng(seed)
    p = cls()
    for _ in range(n):
        a = int(rng.integers(0, 40))
        b = a + int(rng.integers(0, 10))
        p.add_buffer(int(rng.integers(0, 5000)), a, b)
    p.plan()
    return p


@pytest.mark.parametrize("seed", range(20))
def test_greedy_never_overlaps_live_buffers(seed):
    p = _random_plan(GreedyPlanner, seed)
    check_plan(p)
    for off in p.offsets:
        assert off % ALIGN == 0


@pytest.mark.parametrize("seed", range(5))
def test_greedy_is_no_larger_than_linear(seed):
    g = _random_plan(GreedyPlanner, seed)
    lin = _random_plan(LinearPlanner, seed)
    assert g.arena_size <= lin.arena_size


def test_chain_reuses_two_slots():
    # a chain x0 -> x1 -> ... where each buffer dies when the next is made: two slots suffice
    p = GreedyPlanner()
    for i in range(10):
        p.add_buffer(1024, i, i + 1)
    assert p.plan() == 2 * 1024
    check_plan(p)


def test_check_plan_detects_overlap():
    p = LinearPlanner()
    p.add_buffer(100, 0, 2)
    p.add_buffer(100, 1, 3)
    p.plan()
    p.offsets[1] = 0
    with pytest.raises(AssertionError):
        check_plan(p)


def test_empty_lifetime_rejected():
    with pytest.raises(ValueError):
        LinearPlanner().add_buffer(10, 3, 2)
