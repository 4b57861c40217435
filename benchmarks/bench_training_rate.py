"""Benchmark: steps a minute of the default GAN in training, float32 against bfloat16, beside its bare step.

    python benchmarks/bench_training_rate.py --data ../shared/datasets/lfw-deepfunneled [--rounds 3] [--steps 60]

For each precision, one run of the default settings (``runs.Run`` on the
faces at 64x64: margin rule, averaged generator, fused blocks) trains
``--steps`` more steps per round, rounds interleaving the precisions so that
the machine's noise hits both alike. A round's rate is its steps over the
training time ``Run`` counts (the Keras ``fit`` calls: the input pipeline,
the step and the callbacks; the epoch-end figures and checkpoints are not
counted). Beside it, the bare step: ``GAN.train_step`` of the same settings,
compiled with ``tf.function`` and called on one fixed batch (as
``bench_fused.py`` times it). Medians over the rounds; the first call of
each (tracing) is left out.

``--precisions float32`` times one precision only. A CPU without AVX-512 can be
stood in for by limiting oneDNN to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, printed
with the CPU): two processes started side by side, each with
``TF_NUM_INTRAOP_THREADS=1``, one with the limit and one without, share the
machine alike, so their ratio is the AVX2 proxy's cost.
"""

import argparse
import os
import statistics
import time

from bench_fused import cpu_name_and_flags  # this folder's

from gan_helpers import data, runs
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

PRECISIONS = ("float32", "bfloat16")


def bare_step_seconds(config, calls):
    """Median seconds of ``calls`` compiled ``train_step`` calls on one batch of the run's size."""
    gan = runs.build(config)
    step = tf.function(gan.train_step)
    real = tf.random.uniform((config["batch_size"], config["image_size"], config["image_size"], 3), -1, 1)
    float(step(real)["err_gen"])  # trace and warm up
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        float(step(real)["err_gen"])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60, help="training steps per precision per round")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    args = parser.parse_args()
    precisions = args.precisions
    images = data.load_faces(args.data, 64, progress=False)
    name, flags = cpu_name_and_flags()
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA")
    print(f"CPU: {name} ({', '.join(flags)}); {os.cpu_count()} cores; TensorFlow {tf.__version__}"
          f"{'; oneDNN limited to ' + limit if limit else ''}", flush=True)
    trained = {p: runs.Run(runs.default_config(precision=p), images=images) for p in precisions}
    for run in trained.values():
        run.train(steps=5, verbose=0)  # trace and warm up
    rates = {p: [] for p in precisions}
    bare = {p: [] for p in precisions}
    for round_ in range(args.rounds):
        for precision, run in trained.items():
            steps, seconds = len(run.steps), run.seconds
            run.train(steps=steps + args.steps, verbose=0)
            rates[precision].append((len(run.steps) - steps) / ((run.seconds - seconds) / 60))
            bare[precision].append(bare_step_seconds(run.config, 10))
            print(f"round {round_ + 1} {precision}: {rates[precision][-1]:.1f} steps a minute in training; "
                  f"bare step {bare[precision][-1]:.3f} s ({60 / bare[precision][-1]:.1f} a minute)", flush=True)
    print("\n| precision | steps a minute in training (median) | bare step s (median) | bare steps a minute |"
          "\n|---|---|---|---|")
    for precision in precisions:
        step = statistics.median(bare[precision])
        print(f"| {precision} | {statistics.median(rates[precision]):.1f} | {step:.3f} | {60 / step:.1f} |")
    if len(precisions) < 2:
        return
    ratio = statistics.median(rates["bfloat16"]) / statistics.median(rates["float32"])
    print(f"\nbfloat16 / float32 in training: {ratio:.2f}x; bare step: "
          f"{statistics.median(bare['float32']) / statistics.median(bare['bfloat16']):.2f}x")


if __name__ == "__main__":
    main()
