"""Benchmark: do the balance rules matter? Each setting trained with each rule, several seeds, equal steps.

    python benchmarks/bench_balance_rules.py --data ../shared/datasets/lfw-deepfunneled \\
        [--settings default g-lr-10x d-lr-10x d-wide-4x] [--rules always margin success]
        [--seeds 0 1 2] [--epochs 4] [--size 32] [--num 500] [--out benchmarks/results/balance_rules]

A setting is the blog's recipe (``runs.BLOG_RECIPE``, the default before
2026-11-30, which these were measured with) with one thing changed that gives
one network the upper hand (``runs.BALANCE_SETTINGS``). Every run of a setting trains the
same number of epochs (the same steps, so the result does not depend on how
busy the machine is) with the rules of thumb on or off, once per seed, and is
evaluated with ``runs.train_and_evaluate`` on ``--num`` samples against
held-out faces of other people: SWD x1e3, face rate, diversity ratio, and how
often each network's turn was skipped. The table gives the mean and the range
over seeds per (setting, rule). A finished run is reused when the script is
run again (rows.json), so an interrupted sweep carries on where it stopped.
Notebook 03 runs the same function on one setting.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

from gan_helpers import data, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--settings", nargs="+", default=list(runs.BALANCE_SETTINGS),
                        choices=list(runs.BALANCE_SETTINGS))
    parser.add_argument("--rules", nargs="+", default=["always", "margin", "success"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--num", type=int, default=500)
    parser.add_argument("--out", default="benchmarks/results/balance_rules")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, holdout = data.train_and_holdout(args.data, args.size, num_holdout=args.num, progress=False)
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    for seed in args.seeds:  # seed-major: every arm gets its first seed before any gets a second
        for setting in args.settings:
            started = time.time()
            result = runs.compare_balance_rules(setting, args.rules, [seed], train, holdout, epochs=args.epochs,
                                                image_size=args.size, run_root=out, num_eval=args.num,
                                                done=rows)
            rows.extend(result)
            if result:
                print(f"{setting} seed {seed}: {(time.time() - started) / 60:.1f} min", flush=True)
                rows_path.write_text(json.dumps(rows, indent=1))
    table = runs.balance_table([r for r in rows if r["epochs"] == args.epochs and r["image_size"] == args.size])
    header = (f"Machine: {platform.machine()}, {os.cpu_count()} cores; {args.size}x{args.size}, {args.epochs} epochs "
              f"per run; {args.num} generated vs {args.num} held-out faces; real-vs-real SWD floor "
              f"{rows[0]['swd_real_floor']:.1f}.\n\n")
    print(header + table)
    (out / "table.md").write_text(header + table + "\n")


if __name__ == "__main__":
    main()
