"""Static memory plan: one arena, offsets from tensor lifetimes.

Every intermediate tensor lives from the kernel call that writes it to the last
call that reads it (or one of its views). Two tensors may share bytes only if
their lifetimes do not overlap. The peak over calls of the live bytes is a
lower bound for any arena; a first-fit placement tried over several orderings
usually reaches it on chain-like networks, and we keep the smallest; when none
does, a placement from both ends of an arena of exactly the bound is tried.

Pure Python, no TVM, so it is unit-tested on its own.
"""
from dataclasses import dataclass

ALIGN = 16


def align(n, a=ALIGN):
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Interval:
    name: str
    size: int      # bytes, already aligned
    start: int     # first step it is live (written)
    end: int       # last step it is live (read), inclusive


def lower_bound(intervals):
    """Peak live bytes over steps (with aligned sizes)."""
    if not intervals:
        return 0
    last = max(iv.end for iv in intervals)
    delta = [0] * (last + 2)
    for iv in intervals:
        delta[iv.start] += iv.size
        delta[iv.end + 1] -= iv.size
    peak = cur = 0
    for d in delta:
        cur += d
        peak = max(peak, cur)
    return peak


def _first_fit(order):
    placed = []  # (offset, Interval)
    offsets = {}
    for iv in order:
        busy = sorted((off, off + other.size) for off, other in placed
                      if not (other.end < iv.start or iv.end < other.start))
        off = 0
        for lo, hi in busy:
            if off + iv.size <= lo:
                break
            off = max(off, align(hi))
        offsets[iv.name] = off
        placed.append((off, iv))
    total = max((off + iv.size for off, iv in placed), default=0)
    return total, offsets


ORDERINGS = {
    "size": lambda iv: (-iv.size, iv.start, iv.name),
    "start": lambda iv: (iv.start, -iv.size, iv.name),
    "lifetime": lambda iv: (-(iv.end - iv.start), -iv.size, iv.name),
    "area": lambda iv: (-(iv.end - iv.start + 1) * iv.size, iv.name),
    "end": lambda iv: (-iv.end, -iv.size, iv.name),
}


def _two_ended(intervals, arena):
    """Place tensors in the order they are written, each at the lowest free
    offset or, if none fits below, at the highest free offset under ``arena``
    (ping-pong from both ends: what a chain whose step sizes alternate needs,
    where first fit from the bottom alone strands a gap). None if some tensor
    fits nowhere."""
    placed, offsets = [], {}
    for iv in sorted(intervals, key=lambda iv: (iv.start, -iv.size, iv.name)):
        busy = sorted((off, off + other.size) for off, other in placed
                      if not (other.end < iv.start or iv.end < other.start))
        gaps, pos = [], 0
        for lo, hi in busy:
            if lo > pos:
                gaps.append((pos, lo))
            pos = max(pos, align(hi))
        gaps.append((pos, arena))
        low = next((a for a, b in gaps if b - a >= iv.size), None)
        high = next((b - iv.size for a, b in reversed(gaps)
                     if b - a >= iv.size and (b - iv.size) % ALIGN == 0), None)
        off = low if low is not None and (high is None or low == 0 or not busy) else high
        if off is None:
            return None
        offsets[iv.name] = off
        placed.append((off, iv))
    return offsets


def plan(intervals):
    """-> (arena bytes, {name: offset}, ordering used). Deterministic."""
    best = None
    for key in sorted(ORDERINGS):
        total, offsets = _first_fit(sorted(intervals, key=ORDERINGS[key]))
        if best is None or total < best[0]:
            best = (total, offsets, key)
    if best is None:
        return 0, {}, "none"
    bound = lower_bound(intervals)
    if best[0] > bound:  # first fit left a gap: try both ends at the bound
        offsets = _two_ended(intervals, bound)
        if offsets is not None:
            return bound, offsets, "two-ended"
    return best


def check(intervals, offsets):
    """Raise AssertionError if two live-overlapping tensors share bytes."""
    ivs = sorted(intervals, key=lambda iv: iv.name)
    for i, a in enumerate(ivs):
        assert offsets[a.name] % ALIGN == 0, a.name
        for b in ivs[i + 1:]:
            if a.end < b.start or b.end < a.start:
                continue
            a0, b0 = offsets[a.name], offsets[b.name]
            assert a0 + a.size <= b0 or b0 + b.size <= a0, (a.name, b.name)
