"""Benchmark: how long one update of the latent explorer takes (generate + encode the picture).

    python benchmarks/bench_explorer.py [--moves 50]

Moves the first slider of an explorer over the shipped generator ``--moves``
times, as a person dragging it would, and reports the median and the 95th
percentile of the update times (goal: under 200 ms at 64x64).
"""

import argparse
import os
import platform

import numpy as np

from gan_helpers import explorer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=50)
    args = parser.parse_args()
    ui = explorer.LatentExplorer(num_directions=6, seed=0)
    ui.render_ms.clear()
    for value in np.linspace(-3, 3, args.moves):
        ui.sliders[0].value = float(round(value, 2))
    ui.render_ms.clear()  # the first pass warmed everything up; time a second pass
    for value in np.linspace(3, -3, args.moves):
        ui.sliders[1].value = float(round(value, 2))
    times = np.array(ui.render_ms)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores. {len(times)} updates of a "
          f"{ui.image.shape[0]}x{ui.image.shape[1]} face shown at {ui.upscale}x: median {np.median(times):.1f} ms, "
          f"95th percentile {np.percentile(times, 95):.1f} ms, max {times.max():.1f} ms.")


if __name__ == "__main__":
    main()
