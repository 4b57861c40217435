"""Benchmark: preparing LFW at 64x64 cold and warm, against a plain PIL loop; tf.data throughput.

    python benchmarks/bench_data.py --data ../shared/datasets/lfw-deepfunneled [--repeats 3]

Each repeat runs the three preparations side by side (plain loop, cold, warm),
so the machine's noise hits them alike; medians are printed as a Markdown table.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gan_helpers import data


def plain_loop(root: Path, files):
    """The baseline: one process, open, convert, crop, resize."""
    out = np.empty((len(files), 64, 64, 3), np.uint8)
    for i, f in enumerate(files):
        image = Image.open(root / f.relpath).convert("RGB").crop((50, 50, 200, 200))
        out[i] = np.asarray(image.resize((64, 64), Image.Resampling.BICUBIC))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR", "../shared/datasets/lfw-deepfunneled"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.data)
    files = data.list_images(root)
    times = {"plain PIL loop (1 process)": [], "gan_helpers cold (no cache)": [], "gan_helpers warm (cache)": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        baseline = plain_loop(root, files)
        times["plain PIL loop (1 process)"].append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            cold = data.load_dataset(root, 64, cache_dir=cache, progress=False)
            times["gan_helpers cold (no cache)"].append(time.perf_counter() - start)
            start = time.perf_counter()
            warm = data.load_dataset(root, 64, cache_dir=cache, progress=False)
            times["gan_helpers warm (cache)"].append(time.perf_counter() - start)
            assert warm.from_cache and np.array_equal(cold.images, warm.images)
    difference = np.abs(baseline.astype(int) - cold.images.astype(int)).mean()

    import tensorflow as tf  # after the preparation runs, so they fork without TensorFlow loaded

    pipeline = data.make_dataset(cold.images, batch_size=64, seed=0)
    rates = []
    for _ in range(args.repeats):
        start, count = time.perf_counter(), 0
        for batch in pipeline:
            count += int(batch.shape[0])
        rates.append(count / (time.perf_counter() - start))

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}, Pillow {Image.__version__}; {len(files)} images; "
          f"{args.repeats} repeats, medians.")
    print("\n| preparation of all LFW images at 64x64 | median s | runs (s) | vs plain loop |")
    print("|---|---|---|---|")
    base = statistics.median(times["plain PIL loop (1 process)"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {', '.join(f'{v:.2f}' for v in values)} | {base / med:.1f}x faster |")
    print(f"\nMean absolute difference, draft-mode pipeline vs plain loop: {difference:.2f} / 255")
    print(f"\ntf.data pipeline, batch 64, float32 in [-1, 1]: median {statistics.median(rates):,.0f} images/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})")


if __name__ == "__main__":
    sys.exit(main())
