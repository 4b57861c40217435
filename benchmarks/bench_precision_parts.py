"""Benchmark: where bfloat16 changes the default GAN's gradients, one part at a time, and its sampling.

    python benchmarks/bench_precision_parts.py --run RUN_DIR --data ../shared/datasets/lfw-deepfunneled \\
        [--snapshots SNAPSHOT.keras ...]

Loads one checkpoint of a run (``RUN_DIR/checkpoint.npz``: G, D, the
averaged G) into the run's networks built in float32 and in bfloat16
(Keras' "mixed_bfloat16": float32 weights, bfloat16 compute), turns dropout
off, and takes G's and D's loss gradients on one fixed batch (64 real faces,
64 noise vectors). Each line is a form's relative error against float32
(``|g - g_float32| / |g_float32|`` over all of a network's weights): all in
bfloat16 (the blocks fused, as the runs train, and as written); D in float32
with G in bfloat16, and the reverse; all in bfloat16 but one of G's layers.
The last line is float32 on another batch: the minibatch noise the
optimiser sees at every step, the scale to read the others against.

``--snapshots`` also measures bfloat16-trained generators sampled as saved
(bfloat16) and in float32 with the same weights (SWD, face rate, diversity,
memorisation on 1,000 samples, evaluation seed 0), to tell the precision of
training from the precision of sampling.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from gan_helpers import averaging, data, metrics, runs, sampling
from gan_helpers._quiet import import_tensorflow
from gan_helpers.runs import checkpoints

tf = import_tensorflow()

import keras  # noqa: E402

G_LAYERS = ("project", "block1_deconv", "block2_deconv", "block3_deconv", "to_rgb")


def networks(config, run_dir, precision, fused=True):
    """The run's G and D at its checkpoint, built in ``precision``, with dropout off."""
    gan = runs.build({**config, "precision": precision, "precision_reason": "given", "fused": fused})
    average = averaging.GeneratorAverage(gan.generator, config["ema_decay"]) if config.get("ema_decay") else None
    networks.progress = checkpoints.load_checkpoint(gan, run_dir, average=average)
    for model in (gan.generator, gan.discriminator):
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    return gan.generator, gan.discriminator


def gradients(generator, discriminator, real, noise):
    """G's and D's loss gradients (the GAN's losses: G's non-saturating, D's on reals and fakes), float32."""
    def bce(logits, label):
        logits = tf.cast(logits, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), label), logits))

    with tf.GradientTape(persistent=True) as tape:
        fake = generator(noise, training=True)
        g_loss = bce(discriminator(fake, training=True), 1.0)
        d_loss = bce(discriminator(real, training=True), 1.0) + bce(discriminator(fake, training=True), 0.0)
    return [np.concatenate([tf.cast(g, tf.float32).numpy().ravel()
                            for g in tape.gradient(loss, model.trainable_variables)])
            for loss, model in ((g_loss, generator), (d_loss, discriminator))]


def relative(x, reference):
    return float(np.linalg.norm(x - reference) / np.linalg.norm(reference))


def as_float32(config):
    """A saved model's config with every dtype policy float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: as_float32(value) for key, value in config.items()}
    return [as_float32(value) for value in config] if isinstance(config, list) else config


def batch(images, seed, size):
    rng = np.random.default_rng(seed)
    real = images[rng.choice(len(images), size, replace=False)].astype("float32") / 127.5 - 1
    return tf.constant(real), tf.constant(rng.normal(size=(size, 100)).astype("float32"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="a run folder with a checkpoint (its config.json is read)")
    parser.add_argument("--data", default=os.environ.get("LFW_DIR"))
    parser.add_argument("--snapshots", nargs="*", default=[])
    args = parser.parse_args()
    run_dir = Path(args.run)
    config = runs.upgrade_config(checkpoints.read_config(run_dir))
    config.pop("lr_decay", None)
    images = data.load_faces(args.data, config["image_size"], progress=False)
    real, noise = batch(images, 0, config["batch_size"])
    g32, d32 = networks(config, run_dir, "float32")
    g16, d16 = networks(config, run_dir, "bfloat16")
    reference = gradients(g32, d32, real, noise)
    print(f"{run_dir}: checkpoint at step {networks.progress.get('steps')}, precision of the run "
          f"{config['precision']}\n")
    print("| form | G's gradient: relative error | D's gradient: relative error |\n|---|---|---|")

    def line(label, generator, discriminator, real=real, noise=noise):
        g, d = gradients(generator, discriminator, real, noise)
        print(f"| {label} | {relative(g, reference[0]):.3f} | {relative(d, reference[1]):.3f} |", flush=True)

    line("all bfloat16 (fused blocks)", g16, d16)
    line("all bfloat16 (blocks as written)", *networks(config, run_dir, "bfloat16", fused=False))
    line("G bfloat16, D float32", g16, d32)
    line("G float32, D bfloat16", g32, d16)
    for name in G_LAYERS:
        layer = g16.get_layer(name)
        kept, layer.dtype_policy = layer.dtype_policy, "float32"
        line(f"all bfloat16 but G's {name}", g16, d16)
        layer.dtype_policy = kept
    line("float32 on another batch (minibatch noise)", g32, d32, *batch(images, 1, config["batch_size"]))
    if not args.snapshots:
        return
    train, holdout = data.train_and_holdout(args.data, config["image_size"], num_holdout=1000, progress=False)
    print("\n| snapshot | sampled in | SWD x1e3 | face rate | diversity | memorisation |\n|---|---|---|---|---|---|")
    for path in args.snapshots:
        saved = sampling.load_generator(path)
        float32 = saved.__class__.from_config(as_float32(saved.get_config()))
        float32.set_weights(saved.get_weights())
        for label, model in ((saved.layers[-2].compute_dtype, saved), ("float32", float32)):
            result = metrics.evaluate(sampling.generate(model, len(holdout), seed=0), train, holdout, seed=0)
            print(f"| {Path(path).name} | {label} | {result['swd']:.1f} | {result['face_rate']:.3f} | "
                  f"{result['diversity_ratio']:.2f} | {result['memorisation_ratio']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
