"""Benchmark: where one default training step spends its time, part by part.

    python benchmarks/bench_step_profile.py [--rounds 7] [--precision auto|float32|bfloat16]

The default GAN (``runs.default_config(balance="always")``: every step updates
both networks; fused generator blocks; ``--precision``, default the run
default ``auto``), batch 64 at 64x64. Each part is its own compiled function,
run on the same inputs; rounds interleave the parts, and the medians are
reported with each part's share of the whole step:

- ``step``: ``GAN.train_step`` as training runs it (without the averaged G's update, which
  ``fit`` runs after each step, measured separately);
- ``G forward``: G on the batch's noise (training mode);
- ``G forward + backward``: the same with the gradient of a loss through G;
- ``D forward + backward``: D on the real batch and on the fakes (two calls), with gradients;
- ``D and G, forward + backward``: both, as in the step (G's gradient through D);
- ``optimizers``: both RMSProp updates with fixed gradients;
- ``averaged G update``: the moving average of G's weights (``averaging.GeneratorAverage``);
- ``input batch``: one batch from the ``tf.data`` pipeline of the training images.

The parts overlap (the step contains the others), so their shares do not add
up to 100%; what the step spends beyond "D and G, forward + backward" plus
"optimizers" is the balance rule, the metrics and the step's bookkeeping.
"""

import argparse
import platform
import statistics
import time

from bench_fused import cpu_name_and_flags  # this folder's: the CPU's name and flags

from gan_helpers import averaging, data, runs
from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

BATCH = 64


def first(gradients):
    """One number from a list of gradients (so the compiled function returns something to wait for)."""
    return tf.cast(tf.reshape(gradients[0], [-1])[0], tf.float32)


def parts(precision: str) -> dict:
    gan = runs.build(runs.default_config(balance="always", precision=precision))
    generator, discriminator = gan.generator, gan.discriminator
    real = tf.random.uniform((BATCH, 64, 64, 3), -1, 1)
    noise = tf.random.normal((BATCH, gan.latent_dim))
    fakes = generator(noise, training=True)
    bce = keras.losses.binary_crossentropy
    g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables

    @tf.function
    def g_forward():
        return tf.reduce_mean(tf.cast(generator(noise, training=True), tf.float32))

    @tf.function
    def g_backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(generator(noise, training=True), tf.float32))
        return first(tape.gradient(loss, g_vars))

    @tf.function
    def d_backward():
        with tf.GradientTape() as tape:
            r = tf.cast(discriminator(real, training=True), tf.float32)
            f = tf.cast(discriminator(fakes, training=True), tf.float32)
            loss = tf.reduce_mean(bce(tf.ones_like(r), r, from_logits=True) + bce(tf.zeros_like(f), f, from_logits=True))
        return first(tape.gradient(loss, d_vars))

    @tf.function
    def both_backward():
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            score = gan.score_batch(real, noise)
            d_loss = score["err_real"] + score["err_fake"]
        return first(d_tape.gradient(d_loss, d_vars)) + first(g_tape.gradient(score["err_gen"], g_vars))

    d_grads = [tf.zeros_like(v) for v in d_vars]
    g_grads = [tf.zeros_like(v) for v in g_vars]

    @tf.function
    def optimizers():
        gan.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        gan.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        return tf.constant(0.0)

    average = averaging.GeneratorAverage(generator, 0.999)
    step = tf.function(gan.train_step)
    images = (tf.random.uniform((BATCH * 8, 64, 64, 3), 0, 255)).numpy().astype("uint8")
    batches = iter(data.make_dataset(images, batch_size=BATCH, seed=0).repeat())
    return {
        "step": lambda: float(step(real)["err_gen"]),
        "G forward": lambda: float(g_forward()),
        "G forward + backward": lambda: float(g_backward()),
        "D forward + backward": lambda: float(d_backward()),
        "D and G, forward + backward": lambda: float(both_backward()),
        "optimizers": lambda: float(optimizers()),
        "averaged G update": lambda: (average.update(), float(average.updates.numpy()))[1],
        "input batch": lambda: float(next(batches)[0, 0, 0, 0]),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="calls of each part per round")
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    args = parser.parse_args()
    functions = parts(args.precision)
    for fn in functions.values():  # trace and warm up
        fn(), fn()
    times = {name: [] for name in functions}
    for _ in range(args.rounds):
        for name, fn in functions.items():
            for _ in range(args.steps):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    name, flags = cpu_name_and_flags()
    print(f"Machine: {platform.machine()}, {name}; flags: {flags}; TensorFlow {tf.__version__}; "
          f"precision {args.precision}; batch {BATCH} at 64x64; {args.rounds} rounds of {args.steps} calls, medians.\n")
    print("| part | ms | share of the step |\n|---|---|---|")
    for part, value in medians.items():
        print(f"| {part} | {value * 1e3:.1f} | {value / medians['step']:.0%} |")


if __name__ == "__main__":
    main()
