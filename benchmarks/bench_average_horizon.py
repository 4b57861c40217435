"""Benchmark: a longer generator average late in training, against the run's own, on one training trajectory.

    python benchmarks/bench_average_horizon.py RUN_DIR --out OUT --steps 6040 7250 \\
        [--decays 0.999 0.9995] [--data ../shared/datasets/lfw-deepfunneled] [--num 1000] [--eval-seed 0]

The averaged generator's decay warms up as ``(1 + t) / (10 + t)`` after ``t``
updates of G (:mod:`gan_helpers.averaging`), so a run with ``ema_decay`` 0.999
averages over about 530 updates at 4,830 steps and 800 at 7,250; it reaches
0.999 only after 8,990 updates. This script copies RUN_DIR (a run folder with a
checkpoint and an averaged generator; the copy is ``OUT/run``, RUN_DIR stays as
it is), resumes the copy to each of ``--steps`` at the run's own settings, and
keeps beside the run's average one more average per ``--decays`` value. Each
starts from the run's averaged weights at the resume and moves with that fixed
decay from then on (no warm-up). Every average follows the same raw G: the
training is the run's, so the averages differ only in how they average it, and
the comparison carries no seed-to-seed spread of training.

At each mark every average is saved with batch norm statistics computed as the
run computes its own (the same 4 x 64 noise vectors, seeded by the run's seed +
20,000) and scored like ``evaluate`` (``--num`` samples from the evaluation
seed's noise against ``--num`` held-out faces). Writes ``rows.json`` and
``table.md`` to OUT; a second call with the same OUT continues the copy to later
marks and scores only the new ones.
"""

import argparse
import json
import os
import platform
import shutil
from pathlib import Path

import keras

from gan_helpers import averaging, data, metrics, runs, sampling
from gan_helpers.runs import checkpoints


class ExtraAverages(keras.callbacks.Callback):
    """Move each fixed-decay average after every step that updated G, and save them all at each mark."""

    def __init__(self, run, averages: dict, marks, folder: Path):
        super().__init__()
        self.run, self.averages, self.folder = run, averages, folder
        self.pending = sorted(m for m in marks if m > len(run.steps))
        self.run_decay = {}  # the decay the run's own average had reached at each mark

    def on_train_batch_end(self, batch, logs=None):
        last_step = getattr(self.model, "last_step", {})
        if "g_updated" not in last_step or float(last_step["g_updated"].numpy()) > 0:
            for average in self.averages.values():
                average.update()
        while self.pending and len(self.run.steps) >= self.pending[0]:
            mark = self.pending.pop(0)
            self.run_decay[mark] = self.run.average.decay()
            for decay, average in self.averages.items():
                checkpoints.save_model(average.model, self.folder / f"generator_{decay:g}_{mark}steps.keras")


def fixed_averages(run, decays) -> dict:
    """One average per decay, starting from the run's averaged weights, its warm-up already passed."""
    made = {}
    for decay in decays:
        average = averaging.GeneratorAverage(run.gan.generator, decay, seed=run.config["seed"] + 20_000)
        for mine, theirs in zip(average.averaged.variables, run.average.averaged.variables):
            mine.assign(theirs)
        # warmup_decay(t) >= decay from t = (10 decay - 1) / (1 - decay) on: start there.
        average.updates.assign(int((10 * decay - 1) / (1 - decay)) + 1)
        made[decay] = average
    return made


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", help="a run folder with a checkpoint and an averaged generator (ema_decay)")
    parser.add_argument("--out", required=True, help="the copy of the run and the results go here")
    parser.add_argument("--steps", type=int, nargs="+", required=True, help="marks (total training steps)")
    parser.add_argument("--decays", type=float, nargs="+", default=[0.999, 0.9995],
                        help="fixed decays of the extra averages (default 0.999 0.9995)")
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--eval-seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    copy = out / "run"
    if not copy.exists():
        if not (Path(args.run_dir) / runs.CHECKPOINT).exists():
            parser.error(f"{args.run_dir} has no {runs.CHECKPOINT}: give a run folder that has trained an epoch.")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copytree(args.run_dir, copy, ignore=shutil.ignore_patterns(".lock", "snapshots", "samples"))
    config = json.loads((copy / "config.json").read_text())
    train, holdout = data.train_and_holdout(args.data, config["image_size"], num_holdout=args.num, progress=False)
    run = runs.Run.resume(copy, images=train)
    if run.average is None:
        parser.error(f"{args.run_dir} has no averaged generator (ema_decay {config.get('ema_decay')}).")
    resumed_at = len(run.steps)
    marks = sorted(m for m in args.steps if m > resumed_at)
    if not marks:
        parser.error(f"The copy is at {resumed_at} steps already: give --steps beyond that.")
    folder = copy / "snapshots"
    folder.mkdir(exist_ok=True)
    extra = ExtraAverages(run, fixed_averages(run, args.decays), marks, folder)
    print(f"{args.run_dir}: resumed at {resumed_at} steps, {int(run.average.updates.numpy())} updates of G "
          f"(the run's decay now {run.average.decay():.5f}); extra averages {args.decays}", flush=True)
    run.train(steps=max(marks), verbose=0, snapshot_steps=marks, callbacks=[extra])
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    speed = len(run.steps) / (run.seconds / 60) if run.seconds else None
    for mark in marks:
        own = f" ({extra.run_decay[mark]:.5f} at the mark)" if mark in extra.run_decay else ""
        versions = {f"the run's own, warming up{own}": folder / f"generator_{mark}steps.keras",
                    **{f"fixed {d:g} from {resumed_at}": folder / f"generator_{d:g}_{mark}steps.keras"
                       for d in args.decays}}
        for name, path in versions.items():
            generated = sampling.generate(sampling.load_generator(path), len(holdout), seed=args.eval_seed)
            result = metrics.evaluate(generated, train, holdout, seed=args.eval_seed)
            rows = [r for r in rows if (r["average"], r["steps"]) != (name, mark)]
            rows.append({"average": name, "steps": mark, "seed": run.config["seed"],
                         "precision": run.config["precision"], "steps_per_minute": speed, **result})
            print(json.dumps(rows[-1]), flush=True)
    rows.sort(key=lambda r: (r["steps"], r["average"]))
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; run {args.run_dir} (seed "
             f"{run.config['seed']}, {run.config['precision']}) resumed at {resumed_at} steps; evaluation seed "
             f"{args.eval_seed}; real-vs-real SWD floor {rows[0]['swd_real_floor']:.1f}.", "",
             "| steps | average | SWD x1e3 (lower is better) | face rate | diversity ratio | memorisation ratio |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['steps']} | {r['average']} | {r['swd']:.1f} | {r['face_rate']:.3f} | "
              f"{r['diversity_ratio']:.2f} | {r['memorisation_ratio']:.2f} |" for r in rows]
    table = "\n".join(lines)
    print(table)
    (out / "table.md").write_text(table + "\n")
    rows_path.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
