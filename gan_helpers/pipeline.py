"""The ``tf.data`` pipeline of training batches: shuffled per epoch by a seed, optionally mirrored, in [-1, 1]."""

from __future__ import annotations

import numpy as np


class NotEnoughImagesError(ValueError):
    """Fewer usable images than the caller needs (for example one batch)."""


def make_dataset(images: np.ndarray, batch_size: int = 64, shuffle: bool = True, seed: int | None = None,
                 drop_remainder: bool = True, mirror: bool = False):
    """A ``tf.data`` pipeline of float32 batches in [-1, 1].

    The whole uint8 array lives in memory as one tensor; each batch is a
    gather of shuffled indices, so the pipeline costs a few microseconds per
    image and never starves training. One pass is one epoch; reshuffled
    every epoch.

    ``mirror=True`` flips each image left-right with probability 1/2
    (ProGAN's mirror augmentation: faces are nearly symmetric, so the flip
    of a face is another plausible face). The coin of each position in the
    epoch comes from a ``tf.data`` random stream seeded by ``seed`` (through
    a seed derived from it, so the coins are independent of the shuffle's
    draws): the same seed gives the same order and the same flips, which
    keeps a resumed run exact, and the order is the same as without
    ``mirror``. Like the order, the flips are drawn again on every pass
    over the dataset.
    """
    from gan_helpers._quiet import import_tensorflow

    tf = import_tensorflow()
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, S, S, 3). Received: {images.dtype} {images.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    if not isinstance(mirror, (bool, np.bool_)):
        raise ValueError(f"mirror must be True or False. Received: mirror={mirror!r}")
    if drop_remainder and len(images) < batch_size:
        raise NotEnoughImagesError(
            f"Only {len(images)} images, fewer than one batch of {batch_size}: "
            "use a smaller batch_size or a larger dataset."
        )
    table = tf.constant(images)
    indices = tf.data.Dataset.range(len(images))
    if shuffle:
        indices = indices.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)

    def scale(batch):
        return tf.cast(batch, tf.float32) / 127.5 - 1.0

    if not mirror:
        batches = indices.batch(batch_size, drop_remainder=drop_remainder)
        return batches.map(lambda index: scale(tf.gather(table, index)),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    coin_seed = None if seed is None else int(np.random.SeedSequence([seed, MIRROR_SEED_KEY]).generate_state(1)[0])
    coins = tf.data.Dataset.random(seed=coin_seed, rerandomize_each_iteration=True).map(lambda r: r % 2 == 1)
    batches = tf.data.Dataset.zip(indices, coins).batch(batch_size, drop_remainder=drop_remainder)

    def gather_flip_and_scale(index, flip):
        batch = tf.gather(table, index)
        # Axis 2 of (N, H, W, 3) is the width: a left-right mirror image.
        batch = tf.where(flip[:, None, None, None], tf.reverse(batch, axis=[2]), batch)
        return scale(batch)

    return batches.map(gather_flip_and_scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


#: Mixed with the epoch's seed into the seed of make_dataset's mirror coins.
MIRROR_SEED_KEY = 0x6D697272  # "mirr"


def worker_dataset(strategy, make, batch_size: int):
    """``make()``'s batches as a multi-worker ``strategy`` feeds them: this worker's part of each global batch.

    Every worker shuffles the same way (the same seed), cuts each global batch into as many equal parts as
    workers and keeps its own, then one part per local replica: a global batch holds each image at most
    once, and holds the images one device's batch would.
    """
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(f"batch_size {batch_size} must be a multiple of the {replicas} replicas.")

    def shard(context):
        workers, worker = context.num_input_pipelines, context.input_pipeline_id
        part = batch_size // workers
        dataset = make().map(lambda images: images[worker * part:(worker + 1) * part])
        return dataset.unbatch().batch(context.get_per_replica_batch_size(batch_size), drop_remainder=True)

    return strategy.distribute_datasets_from_function(shard)
