"""Timing helpers: medians of repeated runs, as every speed number in the workbook is quoted."""

from __future__ import annotations

import statistics
import time


def median_seconds(fn, repeats: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; return (median, all times)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def time_forward_backward(fn, x, repeats: int = 5) -> float:
    """Median seconds of one compiled forward and backward pass of ``fn`` at input ``x``."""
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fn(x))
        return tape.gradient(loss, x)

    return median_seconds(lambda: step().numpy(), repeats)[0]
