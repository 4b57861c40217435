"""Benchmark: face quality after 2, 5, 10, 20 and 40 minutes of training, default recipe vs blog widths.

    python benchmarks/bench_time_to_faces.py --data ../shared/datasets/lfw-deepfunneled \\
        [--minutes 2 5 10 20 40] [--recipes default blog] [--num 1000] [--out benchmarks/results/time_to_faces]

Each recipe trains alone on the machine (one after the other, same seed, same
code, margin rule), saving its generator as the run's training time passes
each mark; then every snapshot is evaluated (SWD x1e3 against held-out faces,
Haar face rate, diversity ratio). Prints a Markdown table and writes it, with
the JSON rows, to the output folder.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

from gan_helpers import data, metrics, models, runs, sampling

RECIPES = {
    "default": {},
    "blog": {"generator": models.BLOG_GENERATOR, "discriminator": models.BLOG_DISCRIMINATOR},
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 10, 20, 40])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/time_to_faces")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    faces = data.load_dataset(args.data, 64, progress=False)
    train_idx, holdout_idx = data.split_by_person(faces.people, validation_fraction=0.2, seed=0)
    train, holdout = faces.images[train_idx], faces.images[holdout_idx][:args.num]
    rows = []
    for recipe in args.recipes:
        run_dir = out / recipe
        started = time.time()
        run = runs.Run({**RECIPES[recipe], "seed": args.seed}, run_dir, images=train)
        run.train(minutes=max(args.minutes) + 0.05, verbose=0, snapshot_minutes=args.minutes)
        print(f"{recipe}: trained {run.epoch} epochs, {len(run.steps)} steps in {(time.time() - started) / 60:.1f} min",
              flush=True)
        for minutes in args.minutes:
            path = run_dir / "snapshots" / f"generator_{minutes:g}min.keras"
            if not path.exists():
                continue
            generated = sampling.generate(sampling.load_generator(path), len(holdout), seed=args.seed)
            result = metrics.evaluate(generated, train, holdout, seed=args.seed)
            rows.append({"recipe": recipe, "minutes": minutes, **result})
            print(json.dumps(rows[-1]), flush=True)
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {args.num} generated vs {args.num} held-out "
             f"faces; real-vs-real SWD floor {rows[0]['swd_real_floor']:.1f}, real face rate "
             f"{rows[0]['face_rate_real']:.3f}.", "",
             "| recipe | minutes | SWD x1e3 (lower is better) | face rate | diversity ratio | memorisation ratio |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['recipe']} | {r['minutes']:g} | {r['swd']:.1f} | {r['face_rate']:.3f} | "
                     f"{r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")
    (out / "rows.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
