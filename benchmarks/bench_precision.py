"""Benchmark: float32 against bfloat16 mixed precision, in speed per step and in faces at equal steps.

    # Speed: one training step of the default recipe (batch 64), float32 and bfloat16 interleaved.
    python benchmarks/bench_precision.py speed [--sizes 64 32] [--repeats 7] [--steps 3] [--batch 64]

    # Quality at equal steps: every seed trains N epochs in each precision, evaluated on held-out faces.
    python benchmarks/bench_precision.py quality --data ../shared/datasets/lfw-deepfunneled \\
        [--seeds 0 1 2] [--epochs 2] [--size 64] [--num 1000] [--out benchmarks/results/precision]

Speed: the models of the default recipe (``runs.default_config``, the
balanced GAN) are built once per precision with ``runs.build``, warmed up
(the first steps trace and compile the step), then timed in turn: float32,
bfloat16, float32, bfloat16, ... ``--repeats`` times, ``--steps`` steps each,
so a machine whose load changes during the measurement slows both alike.
The balance rule is ``always`` here (``--balance`` to change it), so every
step does the full work of both networks' updates whatever the losses are
(the margin rule skips updates depending on the weights, which would make
the two precisions do different work). It prints the median seconds per
step of each precision and their ratio (bfloat16 / float32; below 1 means
bfloat16 is faster). bfloat16 pays off only on hardware with bfloat16
units (recent GPUs, TPUs, CPUs with AMX or AVX512-BF16); elsewhere the
casts cost time and nothing is gained.

Quality: the same number of epochs (the same steps) in each precision, once
per seed, evaluated with :func:`gan_helpers.metrics.evaluate` on ``--num``
generated faces against as many held-out faces
(:func:`gan_helpers.data.train_and_holdout`); a Markdown table of each
precision's mean and spread (min-max) over the seeds. A finished run is
reused when the script is run again, so an interrupted comparison carries on.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from gan_helpers import data, metrics, runs

PRECISIONS = ("float32", "bfloat16")


def machine() -> str:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    import tensorflow as tf

    return (f"{platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}; "
            f"load average (1/5/15 min) {load}")


def speed(args) -> None:
    print(f"Machine: {machine()}")
    lines = ["| size | batch | float32 s/step (median) | bfloat16 s/step (median) | bfloat16 / float32 |",
             "|---|---|---|---|---|"]
    for size in args.sizes:
        rng = np.random.default_rng(0)
        batch = rng.uniform(-1, 1, size=(args.batch, size, size, 3)).astype(np.float32)
        models = {}
        for precision in PRECISIONS:
            config = runs.default_config(image_size=size, batch_size=args.batch, balance=args.balance,
                                         precision=precision)
            models[precision] = runs.build(config)
            for _ in range(args.warmup):  # the first step traces and compiles
                models[precision].train_on_batch(batch)
        times = {precision: [] for precision in PRECISIONS}
        for repeat in range(args.repeats):
            for precision in PRECISIONS:  # interleaved: A, B, A, B, ...
                started = time.perf_counter()
                for _ in range(args.steps):
                    logs = models[precision].train_on_batch(batch, return_dict=True)
                float(next(iter(logs.values())))  # the step's results are ready
                times[precision].append((time.perf_counter() - started) / args.steps)
            print(f"{size}x{size} repeat {repeat + 1}/{args.repeats}: "
                  + ", ".join(f"{p} {times[p][-1]:.3f} s/step" for p in PRECISIONS), flush=True)
        medians = {p: statistics.median(times[p]) for p in PRECISIONS}
        lines.append(f"| {size}x{size} | {args.batch} | {medians['float32']:.3f} | {medians['bfloat16']:.3f} | "
                     f"{medians['bfloat16'] / medians['float32']:.2f} |")
    print(f"\nAfter: {machine()}\n")
    print("\n".join(lines))


def quality(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, holdout = data.train_and_holdout(args.data, args.size, num_holdout=args.num, progress=False)
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    done = {(r["precision"], r["seed"], r["epochs"]) for r in rows}
    extra = json.loads(args.config) if args.config else {}
    for seed in args.seeds:  # seed-major: both precisions get a seed before either gets the next
        for precision in PRECISIONS:
            if (precision, seed, args.epochs) in done:
                continue
            run_dir = out / f"{precision}_seed{seed}"
            started = time.time()
            if (run_dir / runs.CHECKPOINT).exists():
                run = runs.Run.resume(run_dir, images=train)
            else:
                run = runs.Run({**extra, "image_size": args.size, "precision": precision, "seed": seed}, run_dir,
                               images=train)
            run.train(epochs=args.epochs, verbose=0)
            noise = np.random.default_rng(1).normal(size=(len(holdout), run.config["latent_dim"]))
            result = metrics.evaluate(run.sample(noise), train, holdout, seed=0)
            rows.append({"precision": precision, "seed": seed, "epochs": run.epoch, "steps": len(run.steps),
                         "train_minutes": round(run.seconds / 60, 2), **result})
            print(f"{precision} seed {seed}: {len(run.steps)} steps in {(time.time() - started) / 60:.1f} min; "
                  f"SWD {result['swd']:.1f}, face rate {result['face_rate']:.3f}, "
                  f"diversity {result['diversity_ratio']:.2f}", flush=True)
            rows_path.write_text(json.dumps(rows, indent=1))
    mine = [r for r in rows if r["epochs"] == args.epochs]
    lines = [f"Machine: {machine()}; {args.epochs} epochs per run at {args.size}x{args.size}; "
             f"{args.num} generated vs {args.num} held-out faces; real-vs-real SWD floor "
             f"{mine[0]['swd_real_floor']:.1f}.", "",
             "| precision | runs | steps | train minutes mean | SWD x1e3 mean (min-max) | "
             "face rate mean (min-max) | diversity mean | memorisation mean |",
             "|---|---|---|---|---|---|---|---|"]
    for precision in PRECISIONS:
        these = [r for r in mine if r["precision"] == precision]
        if not these:
            continue
        swds, faces = [r["swd"] for r in these], [r["face_rate"] for r in these]
        lines.append(f"| {precision} | {len(these)} | {statistics.mean(r['steps'] for r in these):.0f} | "
                     f"{statistics.mean(r['train_minutes'] for r in these):.1f} | "
                     f"{statistics.mean(swds):.1f} ({min(swds):.1f}-{max(swds):.1f}) | "
                     f"{statistics.mean(faces):.3f} ({min(faces):.3f}-{max(faces):.3f}) | "
                     f"{statistics.mean(r['diversity_ratio'] for r in these):.2f} | "
                     f"{statistics.mean(r['memorisation_ratio'] for r in these):.2f} |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    p = modes.add_parser("speed", help="seconds per training step, float32 and bfloat16 interleaved")
    p.add_argument("--sizes", type=int, nargs="+", default=[64], help="image sizes (default: 64; e.g. 64 32)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per precision (default 7)")
    p.add_argument("--steps", type=int, default=3, help="steps per timed round (default 3)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--balance", default="always", choices=["always", "margin", "success"])
    p.set_defaults(run=speed)
    p = modes.add_parser("quality", help="metrics at equal steps, several seeds per precision")
    p.add_argument("--data", default=os.environ.get("LFW_DIR"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--num", type=int, default=1000)
    p.add_argument("--config", help="JSON of further run settings for both precisions, e.g. '{\"mirror\": true}'")
    p.add_argument("--out", default="benchmarks/results/precision")
    p.set_defaults(run=quality)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
