"""The cost of MirroredStrategy on 2 logical CPU devices against one device, side by side.

    python benchmarks/bench_distribute.py [--size 32] [--batch 64] [--rounds 5] [--steps 10]

Both models (the balanced GAN with the run's default networks, RMSProp, the "margin" rule) live in
this one process, whose CPU is split into two logical devices before TensorFlow starts. Each round
times ``--steps`` training steps of the one-device model, then as many of the mirrored one (same
global batch), alternating, so that a busy machine slows both alike; the first round (tracing)
is dropped. It prints the median seconds per step of each and their ratio (mirrored / one device):
above 1, the replicas cost more than they gain. Logical CPU devices share the same cores and thread
pools, so this measures the overhead of the two-phase distributed step and of the replicas'
synchronisation, not a speed-up: a speed-up needs devices of their own (GPUs, or workers).
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402  (the CPU must be split before anything starts the runtime)

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from gan_helpers import data, runs  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (args.batch * args.steps, args.size, args.size, 3), np.uint8)
    dataset = data.make_dataset(images, args.batch, seed=0)
    config = runs.default_config(image_size=args.size, batch_size=args.batch)
    models = {}
    for name, strategy in (("one device", tf.distribute.get_strategy()),
                           ("mirrored x2", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
        with strategy.scope():
            models[name] = runs.build(config)
    times = {name: [] for name in models}
    for round_ in range(args.rounds + 1):
        for name, gan in models.items():
            started = time.perf_counter()
            gan.fit(dataset, epochs=1, verbose=0)
            if round_:  # round 0 traces the functions
                times[name].append((time.perf_counter() - started) / args.steps)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {"size": args.size, "global_batch": args.batch, "rounds": args.rounds, "steps_per_round": args.steps,
              "seconds_per_step": medians, "ratio_mirrored_to_one_device": medians["mirrored x2"] / medians["one device"],
              "cpus": os.cpu_count()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
