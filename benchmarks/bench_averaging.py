"""Benchmark: a run's raw generator against its averaged one, from the same noise, with the same metrics.

    python benchmarks/bench_averaging.py RUN_DIR [--data ../shared/datasets/lfw-deepfunneled] [--num 1000]
        [--figure docs/averaged_vs_raw.jpg]

RUN_DIR is a run trained with an averaged generator (``ema_decay``, e.g. the
``lr-half-ema-mirror`` recipe of bench_time_to_faces.py). Its last checkpoint
holds both: the raw G (the one the optimizer trains) and the exponential moving
average of its weights (:mod:`gan_helpers.averaging`). Each draws ``--num`` faces
from the same noise; both are measured against ``--num`` held-out faces of people
the run never trained on (the split every evaluation uses). ``--figure`` saves
the first 36 faces of each side by side.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np

from gan_helpers import data, metrics, plots, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default=None, help="save the two grids side by side here (.jpg or .png)")
    args = parser.parse_args()
    config = json.loads((Path(args.run_dir) / "config.json").read_text())
    # The faces the run trained on (its size and crop), split as every evaluation splits them.
    train, holdout = data.train_and_holdout(args.data, config["image_size"], config.get("crop", data.DEFAULT_CROP),
                                            num_holdout=args.num, progress=False)
    run = runs.Run.resume(args.run_dir, images=train)
    if run.average is None:
        parser.error(f"{args.run_dir} has no averaged generator (its ema_decay is {config.get('ema_decay')}); "
                     "train one with --ema-decay 0.999.")
    noise = np.random.default_rng(args.seed).normal(size=(args.num, run.config["latent_dim"])).astype("float32")
    print(f"{args.run_dir}: epoch {run.epoch}, {len(run.steps)} steps, {run.seconds / 60:.1f} min of training; "
          f"{args.num} samples each against {len(holdout)} held-out faces", flush=True)
    rows, grids = [], {}
    for name, averaged in (("raw G", False), ("averaged G", True)):
        generated = run.sample(noise, averaged=averaged)
        grids[name] = generated[:36]
        result = metrics.evaluate(generated, train, holdout, seed=args.seed)
        rows.append({"generator": name, **result})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n| generator | SWD x1e3 (lower is better; floor {rows[0]['swd_real_floor']:.1f}) | face rate "
          f"(real {rows[0]['face_rate_real']:.3f}) | diversity ratio | memorisation ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['generator']} | {r['swd']:.1f} | {r['face_rate']:.3f} | {r['diversity_ratio']:.2f} | "
              f"{r['memorisation_ratio']:.2f} |")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
        for ax, (name, images) in zip(axes, grids.items()):
            plots.show_grid(images, columns=6, title=f"{name}, {run.seconds / 60:.0f} min", ax=ax)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=100)
        print(f"Wrote {args.figure}")


if __name__ == "__main__":
    main()
