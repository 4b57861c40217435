"""An animated GIF of a run's fixed noise batch over its epochs, labelled with epoch and step.

    python benchmarks/training_gif.py RUN_DIR OUT.gif [--rows 3] [--columns 6] [--upto-step N] [--duration 250]

Reads RUN_DIR/samples/epoch_NNN.png (the 8-column grids that training writes after every epoch) and
RUN_DIR/history.csv (the step count at each epoch's end), keeps the top-left rows x columns faces of
each grid so that the file stays small, and writes one labelled frame per epoch up to --upto-step.
Notebook 03's animation of the default recipe is this script's output for the run in BENCHMARKS.md's
"The shipped recipe in float32, to 5,940 steps" (--rows 2 --columns 6 --upto-step 3960 --duration 300).
"""

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from gan_helpers import plots


def crop_grid(path, rows: int, columns: int, pad: int = 2) -> np.ndarray:
    """The top-left ``rows`` x ``columns`` cells of a grid written by ``plots.save_grid`` (8 columns, 2 px gaps)."""
    grid = np.asarray(Image.open(path).convert("RGB"))
    cell = (grid.shape[1] - pad) // 8 - pad
    return grid[:rows * (cell + pad) + pad, :columns * (cell + pad) + pad]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--upto-step", type=int, default=None, help="last frame: the epoch that ends at or after it")
    parser.add_argument("--duration", type=int, default=250, help="milliseconds per frame")
    args = parser.parse_args()
    with open(args.run_dir / "history.csv") as f:
        steps = {int(row["epoch"]): int(float(row["steps"])) for row in csv.DictReader(f)}
    frames, labels = [], []
    for path in sorted((args.run_dir / "samples").glob("epoch_*.png")):
        epoch = int(path.stem.split("_")[1])
        if epoch not in steps:
            continue
        frames.append(crop_grid(path, args.rows, args.columns))
        labels.append(f"epoch {epoch}, step {steps[epoch]:,}")
        if args.upto_step is not None and steps[epoch] >= args.upto_step:
            break
    plots.save_gif(frames, args.out, duration_ms=args.duration, upscale=1, labels=labels)
    print(f"{len(frames)} frames -> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
