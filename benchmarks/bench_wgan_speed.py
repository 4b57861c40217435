"""Benchmark: the WGAN port's critic steps per second and generator iterations per minute,
next to the balanced GAN's steps per minute, measured side by side.

    python benchmarks/bench_wgan_speed.py [--size 32] [--repeats 7] [--steps 10]

Each repetition times, one after the other on the same batches, ``--steps``
training steps of each of:

- ``gan``: the balanced GAN's step (default networks, "always" rule, both updated);
- ``critic``: a WGAN critic-only step (no generator update, no backward pass through G);
- ``critic+G``: a WGAN step that also updates the generator;

for the clipped WGAN and WGAN-GP, with the exercise's networks and with the
reference's DCGAN networks at ngf = ndf = 32. The order is interleaved so the
shared machine's noise hits every kind alike; medians over repetitions are
reported. A generator iteration after the warm-up costs 4 critic-only steps
and 1 critic+G step (5 critic steps), so

    generator iterations per minute = 60 / (4 * t_critic + t_critic+G).

During the reference's warm-up (100 critic steps per generator iteration for
the first 25 iterations and every 500th) it is 20 times fewer.
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np

from gan_helpers import runs
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

DCGAN_32 = {"generator_architecture": "dcgan", "critic": "dcgan", "generator": {"width": 32},
            "discriminator": {"width": 32}}


def kinds(size):
    """name -> (config, the WGAN turn to time or None for the GAN)."""
    return {
        "gan (exercise nets)": ({"model": "gan", "image_size": size, "balance": "always"}, None),
        "wgan critic (exercise nets)": ({"model": "wgan", "image_size": size}, False),
        "wgan critic+G (exercise nets)": ({"model": "wgan", "image_size": size}, True),
        "wgan-gp critic (exercise nets)": ({"model": "wgan-gp", "image_size": size}, False),
        "wgan-gp critic+G (exercise nets)": ({"model": "wgan-gp", "image_size": size}, True),
        "wgan critic (dcgan 32)": ({"model": "wgan", "image_size": size, **DCGAN_32}, False),
        "wgan critic+G (dcgan 32)": ({"model": "wgan", "image_size": size, **DCGAN_32}, True),
        "wgan-gp critic (dcgan 32)": ({"model": "wgan-gp", "image_size": size, **DCGAN_32}, False),
        "wgan-gp critic+G (dcgan 32)": ({"model": "wgan-gp", "image_size": size, **DCGAN_32}, True),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batches = [tf.constant(rng.uniform(-1, 1, (64, args.size, args.size, 3)).astype(np.float32))
               for _ in range(args.steps + 1)]
    models = {name: (runs.build(runs.default_config(**config)), turn) for name, (config, turn) in kinds(args.size).items()}
    # One compiled step per kind, built once (a WGAN's turn is fixed when its step is traced).
    steps = {}
    for name, (model, turn) in models.items():
        if turn is not None:
            model.generator_turn = turn
        steps[name] = tf.function(model.train_step)
        steps[name](batches[0])
    times = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for batch in batches[1:]:
                result = step(batch)
            float(next(iter(result.values())))
            times[name].append((time.perf_counter() - start) / args.steps)
    median = {name: statistics.median(values) for name, values in times.items()}
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {args.size}x{args.size}, batch 64; "
             f"median of {args.repeats} repetitions of {args.steps} steps, kinds interleaved.", "",
             "| step | seconds per step | per second | per minute |", "|---|---|---|---|"]
    for name, seconds in median.items():
        lines.append(f"| {name} | {seconds:.3f} | {1 / seconds:.2f} | {60 / seconds:.0f} |")
    lines += ["", "| model | critic steps per second | generator iterations per minute (after the warm-up) | "
              "balanced GAN steps per minute, same run |", "|---|---|---|---|"]
    gan_per_minute = 60 / median["gan (exercise nets)"]
    for variant in ("wgan", "wgan-gp"):
        for nets in ("exercise nets", "dcgan 32"):
            critic, both = median[f"{variant} critic ({nets})"], median[f"{variant} critic+G ({nets})"]
            lines.append(f"| {variant} ({nets}) | {1 / critic:.2f} | {60 / (4 * critic + both):.0f} | "
                         f"{gan_per_minute:.0f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
