"""Arena planning: place buffers with known lifetimes in one block so that no two live at once overlap.

The interface is TFLite Micro's: add_buffer(size, first_use, last_use) -> id, then plan() and offset(id).
GreedyPlanner places buffers largest first at the lowest offset that fits among the already placed
buffers whose lifetimes intersect (TFLite's greedy-by-size strategy); LinearPlanner gives every buffer its
own space (used for experimental_preserve_all_tensors and as a test baseline).
"""
from __future__ import annotations

import bisect

ALIGN = 64


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


class LinearPlanner:
    def __init__(self, alignment: int = ALIGN):
        self.alignment = alignment
        self.sizes: list[int] = []
        self.lives: list[tuple[int, int]] = []
        self.offsets: list[int] = []
        self.arena_size = 0

    def add_buffer(self, size: int, first_use: int, last_use: int) -> int:
        if last_use < first_use:
            raise ValueError(f"buffer lifetime [{first_use}, {last_use}] is empty")
        self.sizes.append(int(size))
        self.lives.append((int(first_use), int(last_use)))
        return len(self.sizes) - 1

    def plan(self) -> int:
        off = 0
        self.offsets = []
        for s in self.sizes:
            self.offsets.append(off)
            off += _align(s, self.alignment)
        self.arena_size = off
        return off

    def offset(self, buffer_id: int) -> int:
        return self.offsets[buffer_id]


class GreedyPlanner(LinearPlanner):
    def plan(self) -> int:
        n = len(self.sizes)
        sizes, lives, align = self.sizes, self.lives, self.alignment
        order = sorted(range(n), key=lambda i: (-sizes[i], lives[i][0], i))
        self.offsets = offsets = [0] * n
        # placed buffers of non-zero size as (offset, end, first, last), kept sorted by offset, so each
        # placement scans them once in address order (no sort per buffer). Buffers sharing an offset may sit
        # in any order: the first-fit scan below gives the same result for any order among equal offsets.
        placed: list = []
        starts: list = []
        end = 0
        for i in order:
            size = _align(sizes[i], align)
            first, last = lives[i]
            off = 0
            for lo, hi, f, la in placed:
                if f > last or la < first:
                    continue  # not alive at the same time
                if off + size <= lo:
                    break
                off = max(off, hi)
            offsets[i] = off
            if sizes[i] > 0:
                k = bisect.bisect_right(starts, off)
                starts.insert(k, off)
                placed.insert(k, (off, off + size, first, last))
            end = max(end, off + size)
        self.arena_size = end
        return end


def check_plan(planner: LinearPlanner) -> None:
    """Raise AssertionError if two buffers alive at the same time overlap (used by tests)."""
    n = len(planner.sizes)
    for i in range(n):
        for j in range(i + 1, n):
            a0, a1 = planner.lives[i]
            b0, b1 = planner.lives[j]
            if a0 <= b1 and b0 <= a1 and planner.sizes[i] and planner.sizes[j]:
                oi, oj = planner.offsets[i], planner.offsets[j]
                if oi < oj + planner.sizes[j] and oj < oi + planner.sizes[i]:
                    raise AssertionError(f"buffers {i} and {j} overlap while both alive")
