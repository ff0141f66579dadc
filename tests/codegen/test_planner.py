"""The liveness planner: reaches the peak-live lower bound on small graphs and
never lets two live tensors share bytes."""
import random

import pytest

from codegen import planner
from codegen.planner import Interval


def test_chain_reaches_lower_bound_with_two_buffers():
    # a -> b -> c -> d: each tensor lives from its producer to its consumer.
    ivs = [Interval("t%d" % i, 1024, i, i + 1) for i in range(4)]
    arena, offsets, _ = planner.plan(ivs)
    assert planner.lower_bound(ivs) == 2048
    assert arena == 2048
    planner.check(ivs, offsets)


def test_residual_branch_keeps_skip_tensor_alive():
    # x(0..3) is read again by the add at step 3; y, z are short-lived.
    ivs = [Interval("x", 4096, 0, 3), Interval("y", 1024, 1, 2),
           Interval("z", 2048, 2, 3), Interval("out", 4096, 3, 4)]
    arena, offsets, _ = planner.plan(ivs)
    planner.check(ivs, offsets)
    assert planner.lower_bound(ivs) == 4096 + 2048 + 4096
    assert arena == planner.lower_bound(ivs)


def test_offsets_are_aligned_and_sizes_rounded():
    ivs = [Interval("a", planner.align(10), 0, 1), Interval("b", planner.align(20), 1, 2)]
    arena, offsets, _ = planner.plan(ivs)
    assert all(o % planner.ALIGN == 0 for o in offsets.values())
    assert arena == 16 + 32


@pytest.mark.parametrize("seed", range(25))
def test_random_lifetimes_never_overlap_and_bound_holds(seed):
    rng = random.Random(seed)
    ivs = []
    for i in range(rng.randint(2, 30)):
        start = rng.randint(0, 20)
        ivs.append(Interval("t%d" % i, planner.align(rng.randint(1, 5000)),
                            start, start + rng.randint(0, 6)))
    arena, offsets, _ = planner.plan(ivs)
    planner.check(ivs, offsets)  # raises on any overlap of live tensors
    assert arena >= planner.lower_bound(ivs)
    assert arena <= sum(iv.size for iv in ivs)


def test_check_detects_overlap():
    ivs = [Interval("a", 64, 0, 2), Interval("b", 64, 1, 3)]
    with pytest.raises(AssertionError):
        planner.check(ivs, {"a": 0, "b": 32})


def test_plan_is_deterministic():
    ivs = [Interval("t%d" % i, 16 * (i % 5 + 1), i % 7, i % 7 + 2) for i in range(20)]
    assert planner.plan(ivs) == planner.plan(list(reversed(ivs)))


def test_two_ended_placement_reaches_the_bound_where_first_fit_strands_a_gap():
    """A chain whose step sizes alternate (a stem written by a library kernel,
    then its epilogue, then 5 KB / 7.5 KB / 5.6 KB maps): no first-fit ordering
    reaches the peak; placing from both ends of an arena of the bound does."""
    ivs = [Interval("lv", 5120, 0, 1), Interval("t1", 5120, 1, 2), Interval("lv1", 5120, 2, 3),
           Interval("lv2", 7680, 3, 4), Interval("lv3", 5760, 4, 5), Interval("lv24", 1440, 5, 6),
           Interval("lv4", 960, 6, 7), Interval("lv5", 960, 7, 8), Interval("lv6", 2960, 8, 9)]
    assert min(planner._first_fit(sorted(ivs, key=k))[0] for k in planner.ORDERINGS.values()) > 13440
    arena, offsets, ordering = planner.plan(ivs)
    assert (arena, ordering) == (13440, "two-ended") and arena == planner.lower_bound(ivs)
    planner.check(ivs, offsets)
    assert all(offsets[iv.name] + iv.size <= arena for iv in ivs)
