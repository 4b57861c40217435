"""Benchmark: FLOPs of D and G, one D+G training step's speed, and the machine's matmul peak.

    python benchmarks/bench_models.py [--steps 3] [--precision float32|bfloat16]

The default recipe and the blog's widths (D 32/64/96, G 256/256/128, 5x5
kernels) run through the same code, steps interleaved so the machine's noise
hits both alike; medians are reported. A step is one GAN.train_step on a
batch of 64 real images (64 fakes), both networks updated ("always" rule).

``--precision bfloat16`` builds both recipes under Keras' "mixed_bfloat16"
policy (``runs.build``, as ``train --precision bfloat16`` does) and measures
the matmul peak with bfloat16 operands, so the achieved GFLOP/s are set
against what this CPU can do in bfloat16 (on a CPU without bfloat16 units the
peak itself is emulated and low).
"""

import argparse
import os
import platform
import statistics
import time

from gan_helpers import models, runs
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()


def matmul_peak(n=4096, repeats=5, dtype="float32"):
    """GFLOP/s of a large matmul in ``dtype``: what this CPU can do at best."""
    a, b = tf.cast(tf.random.normal((n, n)), dtype), tf.cast(tf.random.normal((n, n)), dtype)
    mm = tf.function(lambda: tf.matmul(a, b))
    mm().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mm().numpy()
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def step_flops(g_flops, d_flops, batch=64):
    """Training FLOPs of one step: forward + backward (~2x forward) of G on the fakes and of D
    on reals and fakes, plus D's backward pass to its inputs for G's gradient (~1x forward)."""
    return 3 * batch * g_flops + 3 * 2 * batch * d_flops + batch * d_flops


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--precision", choices=list(runs.PRECISIONS), default="float32")
    args = parser.parse_args()
    recipes = {
        "default (G 128/64/32, D 32/64/96, 3x3)": ({}, {}),
        "blog widths (G 256/256/128, D 32/64/96, 5x5)": (models.BLOG_GENERATOR, models.BLOG_DISCRIMINATOR),
    }
    built = {}
    for name, (g_kwargs, d_kwargs) in recipes.items():
        gan = runs.build(runs.default_config(balance="always", generator=g_kwargs, discriminator=d_kwargs,
                                             precision=args.precision))
        g, d = gan.generator, gan.discriminator
        step = tf.function(gan.train_step)
        real = tf.random.uniform((64, 64, 64, 3), -1, 1)
        step(real)  # trace and warm up
        built[name] = (step, real, models.total_flops(g), models.total_flops(d))
    times = {name: [] for name in recipes}
    peaks = []
    for _ in range(args.steps):
        peaks.append(matmul_peak(dtype=args.precision))
        for name, (step, real, _, _) in built.items():
            start = time.perf_counter()
            float(step(real)["err_gen"])
            times[name].append(time.perf_counter() - start)
    peak = statistics.median(peaks)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}; "
          f"{args.precision} models; {args.precision} matmul 4096^3 peak: median {peak:.0f} GFLOP/s (runs: {', '.join(f'{p:.0f}' for p in peaks)}).")
    print("\n| recipe | G GFLOP/img | D GFLOP/img | step s (median) | images/s | achieved GFLOP/s | of peak |")
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for name, (_, _, g_flops, d_flops) in built.items():
        med = medians[name] = statistics.median(times[name])
        achieved = step_flops(g_flops, d_flops) / med / 1e9
        print(f"| {name} | {g_flops / 1e9:.3f} | {d_flops / 1e9:.3f} | {med:.2f} | {64 / med:.0f} | "
              f"{achieved:.0f} | {achieved / peak:.0%} |")
    ours, blog = medians.values()
    print(f"\nDefault vs blog widths: one step {blog / ours:.1f}x faster (step times: "
          + "; ".join(f"{n}: {', '.join(f'{t:.2f}' for t in ts)}" for n, ts in times.items()) + ").")


if __name__ == "__main__":
    main()
