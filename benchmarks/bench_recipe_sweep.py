"""Benchmark: which settings of the blog's recipe (the default before 2026-11-30) make better faces, at equal steps.

    python benchmarks/bench_recipe_sweep.py --data ../shared/datasets/lfw-deepfunneled \\
        [--variants default unpool-zeros lr-half lr-double margin-0.2 margin-0.4] [--seeds 0 1]
        [--epochs 2] [--num 1000] [--out benchmarks/results/recipe_sweep]

The settings swept are the ones the exercise's design leaves open and that do
not change the cost of a step: the unpooling mode, the learning rates and the
margin of the balance rule (widths and kernel sizes change the cost; they are
compared by time in bench_models.py and bench_time_to_faces.py). Every
variant trains for the same number of epochs (the same steps, so the result
does not depend on how busy the machine is), once per seed, and is evaluated
on ``--num`` samples against held-out faces (SWD x1e3, face rate, diversity).
The table gives each variant's mean and the spread (min-max) over seeds: a
difference smaller than the default's own spread between seeds is noise.
A finished run is reused when the script is run again (its folder holds the
generator), so an interrupted sweep carries on where it stopped.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from gan_helpers import data, metrics, runs, sampling

#: Each variant is the blog's recipe (runs.BLOG_RECIPE, which the sweep measured) with one change.
VARIANTS = {name: {**runs.BLOG_RECIPE, **variant} for name, variant in {
    "default": {},
    "unpool-zeros": {"generator": {"unpooling": "zeros"}},
    "lr-half": {"d_learning_rate": 5e-4, "g_learning_rate": 5e-4},
    "lr-double": {"d_learning_rate": 2e-3, "g_learning_rate": 2e-3},
    "margin-0.2": {"margin": 0.2},
    "margin-0.4": {"margin": 0.4},
}.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--out", default="benchmarks/results/recipe_sweep")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, holdout = data.train_and_holdout(args.data, 64, num_holdout=args.num, progress=False)
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    done = {(r["variant"], r["seed"], r["epochs"]) for r in rows}
    for seed in args.seeds:  # seed-major: every variant gets its first seed before any gets a second
        for variant in args.variants:
            if (variant, seed, args.epochs) in done:
                continue
            run_dir = out / f"{variant}_seed{seed}"
            started = time.time()
            if (run_dir / runs.CHECKPOINT).exists():
                run = runs.Run.resume(run_dir, images=train)
            else:
                run = runs.Run({**VARIANTS[variant], "seed": seed}, run_dir, images=train)
            run.train(epochs=args.epochs, verbose=0)
            generated = sampling.generate(run.generator(), len(holdout), seed=seed)  # the averaged G, if any
            result = metrics.evaluate(generated, train, holdout, seed=0)
            rows.append({"variant": variant, "seed": seed, "epochs": run.epoch, "steps": len(run.steps),
                         "train_minutes": round(run.seconds / 60, 2), **result})
            print(f"{variant} seed {seed}: {len(run.steps)} steps in {(time.time() - started) / 60:.1f} min; "
                  f"SWD {result['swd']:.1f}, face rate {result['face_rate']:.3f}, "
                  f"diversity {result['diversity_ratio']:.2f}", flush=True)
            rows_path.write_text(json.dumps(rows, indent=1))
    seeds = sorted({r["seed"] for r in rows if r["epochs"] == args.epochs})
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {args.epochs} epochs per run "
             f"(seeds run: {', '.join(map(str, seeds))}); {args.num} generated vs {args.num} held-out faces; "
             f"real-vs-real SWD floor {rows[0]['swd_real_floor']:.1f}.", "",
             "| variant | runs | steps | SWD x1e3 mean (min-max) | face rate mean (min-max) | diversity mean |",
             "|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant and r["epochs"] == args.epochs]
        if not mine:
            continue
        swds, faces_ = [r["swd"] for r in mine], [r["face_rate"] for r in mine]
        lines.append(f"| {variant} | {len(mine)} | {statistics.mean(r['steps'] for r in mine):.0f} | "
                     f"{statistics.mean(swds):.1f} ({min(swds):.1f}-{max(swds):.1f}) | "
                     f"{statistics.mean(faces_):.3f} ({min(faces_):.3f}-{max(faces_):.3f}) | "
                     f"{statistics.mean(r['diversity_ratio'] for r in mine):.2f} |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
