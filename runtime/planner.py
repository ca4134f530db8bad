"""Arena planning: place buffers with known lifetimes in one block so that no two live at once overlap.

The interface is TFLite Micro's: add_buffer(size, first_use, last_use) -> id, then plan() and offset(id).
GreedyPlanner places buffers largest first at the lowest offset that fits among the already placed
buffers whose lifetimes intersect (TFLite's greedy-by-size strategy); LinearPlanner gives every buffer its
own space (used for experimental_preserve_all_tensors and as a test baseline).
"""
from __future__ import annotations

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
        order = sorted(range(n), key=lambda i: (-self.sizes[i], self.lives[i][0], i))
        self.offsets = [0] * n
        placed: list[int] = []
        end = 0
        for i in order:
            size = _align(self.sizes[i], self.alignment)
            first, last = self.lives[i]
            # intervals already taken by buffers alive at the same time, sorted by offset
            busy = sorted(
                (self.offsets[j], self.offsets[j] + _align(self.sizes[j], self.alignment))
                for j in placed
                if self.lives[j][0] <= last and first <= self.lives[j][1] and self.sizes[j] > 0
            )
            off = 0
            for lo, hi in busy:
                if off + size <= lo:
                    break
                off = max(off, hi)
            self.offsets[i] = off
            placed.append(i)
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
