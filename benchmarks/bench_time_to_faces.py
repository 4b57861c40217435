"""Benchmark: face quality after 2, 5, 10, 20 and 40 minutes of training, recipe against recipe.

Recipes: ``default`` (the balanced GAN with today's defaults: half the blog's
learning rates and an averaged generator, since 2026-11-30), ``old-default``
(the default before that, the blog's lr 1e-3 without an averaged generator,
``runs.BLOG_RECIPE``: the rows called "default" in BENCHMARKS.md before that
date), ``blog`` (the blog's widths through the same code, at the blog's rates),
``wgan`` and ``wgan-gp`` (the WGAN port with the default generator and the
exercise's critic), ``wgan-dcgan`` and ``wgan-gp-dcgan`` (the port with the
reference's DCGAN_G and DCGAN_D at ngf = ndf = 32, half the reference's 64, so
that they run about 4x faster on a 2-core CPU), ``lr-half-ema`` and
``lr-half-ema-mirror`` (RMSProp 5e-4 for both networks and an averaged
generator, decay 0.999, without and with mirrored faces; the first is today's
default spelled out), ``default-float32`` (the default in float32 on every CPU),
``5x5-wider`` (today's default with 5x5 kernels and the wider networks of the
independent plain loop), ``5x5-wider-float32`` (that in float32), and ``ttur``
and ``ttur-float32`` (two time-scale rates: D's 1e-3, 4x G's 2.5e-4). Snapshots of a run with an
averaged generator are the averaged generator. The equal-minutes comparison of
GAN, WGAN and WGAN-GP was this script with ``--recipes default wgan wgan-gp``
when ``default`` was today's ``old-default``.

    python benchmarks/bench_time_to_faces.py --data ../shared/datasets/lfw-deepfunneled \\
        [--minutes 2 5 10 20 40] [--recipes default blog] [--num 1000] [--size 64]
        [--out benchmarks/results/time_to_faces] [--resume]

Each recipe trains alone on the machine (one after the other, same seed, same
code, margin rule), saving its generator as the run's training time passes
each mark; then every snapshot is evaluated (SWD x1e3 against held-out faces,
Haar face rate, diversity ratio). Prints a Markdown table and writes it, with
the JSON rows, to the output folder.

--steps N1 N2 ... takes the snapshots at those totals of training steps instead
of minutes, and trains to the largest: the marks for runs that share the
machine (e.g. two recipes or seeds started side by side, each with
TF_NUM_INTRAOP_THREADS=1), compared at equal steps; each row then also gives
the run's steps per minute as it ran, to convert steps into minutes with speeds
measured side by side. --seed picks the run's seed (weights, noise, batches);
the evaluation (the generated noise, the SWD's projections and patches) uses
--eval-seed, 0 unless given, so that runs of different seeds are measured
alike.

--lr-decay FIRST LAST gives every recipe's new run falling learning rates
(the setting ``lr_decay``: linear from step FIRST to 0 at step LAST, where the
run ends); a resumed run keeps the schedule its folder's config.json holds, so
a copy of a run folder with ``lr_decay`` written into its config.json branches
a decaying run from a constant-rate one at equal history (--resume with an
--lr-decay that differs from the folder's stops with that advice).

The same holds for ``batch_size``: a copy with a larger ``batch_size`` in its
config.json, resumed, branches a larger-batch run late in training (each row
records the run's batch size, the table shows one other than 64).

--resume continues a recipe's run from its checkpoint in the output folder
(after an interruption, or to reach later marks) up to the largest --minutes;
only the snapshots named by --minutes are evaluated, and their rows replace
or join the rows already in rows.json.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

from gan_helpers import data, metrics, models, plots, runs, sampling

#: The WGAN reference's networks at ngf = ndf = 32.
DCGAN_32 = {"generator_architecture": "dcgan", "critic": "dcgan", "generator": {"width": 32},
            "discriminator": {"width": 32}}

RECIPES = {
    "default": {},  # today's: half the blog's learning rates and an averaged generator (runs.MODEL_DEFAULTS["gan"])
    # The default computed in float32 wherever it runs (precision "auto" picks bfloat16 on CPUs with bfloat16 units).
    "default-float32": {"precision": "float32"},
    # The blog's learning rates without an averaged generator (runs.BLOG_RECIPE).
    "old-default": runs.BLOG_RECIPE,
    "blog": {"generator": models.BLOG_GENERATOR, "discriminator": models.BLOG_DISCRIMINATOR, **runs.BLOG_RECIPE},
    "wgan": {"model": "wgan"},
    "wgan-gp": {"model": "wgan-gp"},
    "wgan-dcgan": {"model": "wgan", **DCGAN_32},
    "wgan-gp-dcgan": {"model": "wgan-gp", **DCGAN_32},
    # Half the learning rates with an averaged generator (decay 0.999), and with mirroring.
    "lr-half-ema": {"d_learning_rate": 5e-4, "g_learning_rate": 5e-4, "ema_decay": 0.999},
    "lr-half-ema-mirror": {"d_learning_rate": 5e-4, "g_learning_rate": 5e-4, "ema_decay": 0.999, "mirror": True},
    # The default with the blog's 5x5 kernels and wider networks (G 128/96/64, D's dense layer 512).
    "5x5-wider": {"generator": {"widths": (128, 96, 64), "kernel_size": 5},
                  "discriminator": {"kernel_size": 5, "dense_units": (512,)}},
}
# The same in float32 wherever it runs (a separate, labelled option: the exercise's networks stay the default).
RECIPES["5x5-wider-float32"] = {**RECIPES["5x5-wider"], "precision": "float32"}
# Two time-scale rates: D learns 4x faster than G (1e-3 and 2.5e-4, the default's 5e-4 between them).
RECIPES["ttur"] = {"d_learning_rate": 1e-3, "g_learning_rate": 2.5e-4}
RECIPES["ttur-float32"] = {**RECIPES["ttur"], "precision": "float32"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 10, 20, 40])
    parser.add_argument("--steps", type=int, nargs="+",
                        help="snapshot at these totals of training steps instead of --minutes")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64, help="image side (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="the training run's seed")
    parser.add_argument("--eval-seed", type=int, default=0,
                        help="seed of the evaluation: the samples' noise and the metrics' draws (default 0)")
    parser.add_argument("--out", default="benchmarks/results/time_to_faces")
    parser.add_argument("--lr-decay", type=int, nargs=2, metavar=("FIRST", "LAST"),
                        help="both rates fall linearly to 0 from step FIRST to step LAST (setting lr_decay)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each recipe's run found in --out instead of starting over")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, holdout = data.train_and_holdout(args.data, args.size, num_holdout=args.num, progress=False)
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if args.resume and rows_path.exists() else []
    for recipe in args.recipes:
        run_dir = out / recipe
        started = time.time()
        if args.resume and (run_dir / runs.CHECKPOINT).exists():
            run = runs.Run.resume(run_dir, images=train)
            stored = run.config.get("lr_decay")
            if args.lr_decay and list(args.lr_decay) != (stored and list(stored)):
                raise SystemExit(
                    f"{run_dir} holds a run with lr_decay {stored}, "
                    f"not --lr-decay {' '.join(map(str, args.lr_decay))}: "
                    "a resumed run keeps its folder's schedule. To branch a decaying run, copy the folder and write "
                    f'"lr_decay": {list(args.lr_decay)} into its config.json, then resume it without --lr-decay.')
            print(f"{recipe}: resuming at {run.seconds / 60:.1f} min of training", flush=True)
        else:
            decay = {"lr_decay": args.lr_decay} if args.lr_decay else {}
            run = runs.Run({**RECIPES[recipe], **decay, "seed": args.seed, "image_size": args.size}, run_dir,
                           images=train)
        # Until the run's training time has passed the last mark, so that every snapshot exists
        # (stops early on Ctrl-C: then what exists is evaluated).
        if args.steps:
            if len(run.steps) < max(args.steps):
                run.train(steps=max(args.steps), verbose=0, snapshot_steps=args.steps)
        else:
            runs.train_until(run, max(args.minutes) + 0.05, verbose=0, snapshot_minutes=args.minutes)
        extra = (f", {run.history[-1]['gen_iterations']:.0f} generator iterations"
                 if run.history and "gen_iterations" in run.history[-1] else "")
        print(f"{recipe}: trained {run.epoch} epochs, {len(run.steps)} steps{extra} "
              f"({run.seconds / 60:.1f} min of training, {(time.time() - started) / 60:.1f} min wall)", flush=True)
        for mark in args.steps or args.minutes:
            name = f"{mark}steps" if args.steps else f"{mark:g}min"
            path = run_dir / "snapshots" / f"generator_{name}.keras"
            if not path.exists():
                continue
            generated = sampling.generate(sampling.load_generator(path), len(holdout), seed=args.eval_seed)
            result = metrics.evaluate(generated, train, holdout, seed=args.eval_seed)
            plots.save_grid(generated[:64], out / f"{recipe}_{name}.png", columns=8)
            if args.steps:
                rows = [r for r in rows if (r["recipe"], r.get("steps")) != (recipe, mark)]
                speed = len(run.steps) / (run.seconds / 60) if run.seconds else None
                rows.append({"recipe": recipe, "seed": args.seed, "lr_decay": run.config.get("lr_decay"),
                             "batch_size": run.config["batch_size"], "steps": mark, "minutes": None,
                             "steps_per_minute": speed, **result})
            else:
                rows = [r for r in rows if (r["recipe"], r["minutes"]) != (recipe, mark)]
                # Progress at the last epoch end before the mark (snapshots fall inside epochs).
                before = [h for h in run.history if h["minutes"] <= mark]
                progress = ({"steps_by_epoch_end": int(before[-1]["steps"]),
                             **({"gen_iterations_by_epoch_end": int(before[-1]["gen_iterations"])}
                                if "gen_iterations" in before[-1] else {})} if before else {})
                rows.append({"recipe": recipe, "minutes": mark, **result, **progress})
            print(json.dumps(rows[-1]), flush=True)
    rows.sort(key=lambda r: (list(RECIPES).index(r["recipe"]), r.get("steps") or 0, r["minutes"] or 0))
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; {args.size}x{args.size}; "
             f"{args.num} generated vs {args.num} held-out "
             f"faces; real-vs-real SWD floor {rows[0]['swd_real_floor']:.1f}, real face rate "
             f"{rows[0]['face_rate_real']:.3f}.", "",
             f"| recipe | {'seed | steps | steps/min' if args.steps else 'minutes'} | SWD x1e3 (lower is better) "
             "| face rate | diversity ratio | memorisation ratio |",
             "|---|---|---|---|---|---|" + ("---|---|" if args.steps else "")]
    for r in rows:
        mark = (f"{r.get('seed', '')} | {r['steps']} | {r['steps_per_minute']:.1f}" if r.get("steps")
                else f"{r['minutes']:g}")
        changes = f" (lr_decay {r['lr_decay'][0]}-{r['lr_decay'][1]})" if r.get("lr_decay") else ""
        changes += f" (batch {r['batch_size']})" if r.get("batch_size", 64) != 64 else ""
        lines.append(f"| {r['recipe']}{changes} | {mark} | {r['swd']:.1f} | {r['face_rate']:.3f} | "
                     f"{r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |")
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")
    rows_path.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
