"""The two halves of an update, run one after the other or side by side on the CPU's cores.

Each update of CycleGAN falls into two halves that share no activations: the round trips from
A and from B for the generators, D_a and D_b for the discriminators. A GPU is kept busy by one
half at a time. A CPU is not: a training step on one core takes 1.9 times (not twice) as long
as on two, because the many small operations between the convolutions (norms, padding, casts,
the optimiser's bookkeeping) split poorly across threads, and the Python around them runs on
one core. Two halves, each in its own thread on its own share of the cores, overlap all of that.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

import torch

First = TypeVar("First")
Second = TypeVar("Second")


@functools.cache
def _workers(threads_each: int) -> ThreadPoolExecutor:
    """Two long-lived threads, each computing with ``threads_each`` threads of its own (the
    setting is per thread, so the caller's own stays as it was)."""
    return ThreadPoolExecutor(2, thread_name_prefix="stylecycle-half", initializer=torch.set_num_threads, initargs=(threads_each,))


# A forked child (a DataLoader worker, say) has none of its parent's threads: it starts afresh.
os.register_at_fork(after_in_child=_workers.cache_clear)


class Halves:
    """Runs two independent halves of an update: side by side when ``side_by_side``, else in order.

    Side by side, each half gets half of the caller's threads, and anything thread-local (grad
    mode, autocast) must be set up inside the half itself. Both halves always finish before
    :meth:`run` returns or raises, so no half outlives its update.
    """

    def __init__(self, side_by_side: bool) -> None:
        self.side_by_side = side_by_side and torch.get_num_threads() >= 2

    def run(self, first: Callable[[], First], second: Callable[[], Second]) -> tuple[First, Second]:
        if not self.side_by_side:
            return first(), second()
        workers = _workers(torch.get_num_threads() // 2)
        futures: tuple[Future, Future] = (workers.submit(first), workers.submit(second))
        wait(futures)
        return futures[0].result(), futures[1].result()
