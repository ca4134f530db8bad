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


def _chain_subplan(n_ops=4, nbytes=(100, 100, 300, 100, 100)):
    """t0 (graph input) -> op0 -> t1 -> op1 -> t2 -> ... -> t{n} (graph output), all in the arena."""
    from edgerun.runtime import plan as P

    tensors = [P.PlanTensor(i, f"t{i}", 9, (b,), storage=P.ARENA, nbytes=b) for i, b in enumerate(nbytes)]
    ops = [P.PlanOp(p, "RELU", "q_unary", None, [p], [p + 1]) for p in range(n_ops)]
    return P.Subplan(0, tensors, ops, [0], [n_ops])


def test_arena_buffers_merge_aliases():
    from edgerun.runtime import lifetimes

    sp = _chain_subplan()
    plain = lifetimes.arena_buffers(sp, [])
    assert [(b.tensors, b.first, b.last) for b in plain] == [((0,), 0, 4), ((1,), 0, 1), ((2,), 1, 2),
                                                            ((3,), 2, 3), ((4,), 3, 4)]
    merged = lifetimes.arena_buffers(sp, [], {2: 1, 3: 2})  # t2 and t3 take t1's bytes
    assert [(b.tensors, b.nbytes, b.first, b.last) for b in merged] == [((0,), 100, 0, 4), ((1, 2, 3), 300, 0, 3),
                                                                       ((4,), 100, 3, 4)]


def test_inplace_analysis_of_a_chain():
    """Elementwise ops write over inputs that die at them, never over the graph input, and the placed
    subplan passes the alias-aware check."""
    from edgerun.runtime import inplace, lifetimes

    sp = _chain_subplan(nbytes=(100, 100, 100, 300, 300))
    choice = inplace.analyze(sp)
    assert choice.aliases == {2: 1, 4: 3} and not choice.kernels  # not t1 -> t3: sizes differ
    buffers = lifetimes.arena_buffers(sp, [], choice.aliases)
    p = GreedyPlanner(64)
    ids = [p.add_buffer(b.nbytes, b.first, b.last) for b in buffers]
    p.plan()
    check_plan(p)
    for b, i in zip(buffers, ids):
        for t in b.tensors:
            sp.tensors[t].offset = p.offset(i)
    inplace.check_subplan(sp)
    assert p.arena_size == 128 + 128 + 320  # the input (alive throughout), {t1, t2}, {t3, t4}
