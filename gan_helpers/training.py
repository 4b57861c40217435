"""The balanced GAN as a ``keras.Model``: ``compile``, ``train_step``, ``fit``.

One training step, on a batch of real images:

1. draw noise, make fakes with G (``training=True``: G's dropout and batch
   norm in training mode);
2. score the real and the fake halves with D (``training=True``: D's
   dropout active), as two batches (``d_batch="separate"``, the default) or
   as one batch of both kinds (``d_batch="mixed"``, the blog's "mixed batch");
   the two are the same computation unless D has batch norm, whose batch
   statistics then pool real faces and fakes;
3. measure D's binary cross-entropies ``err_real``, ``err_fake`` and G's
   ``err_gen`` (the blog's three curves) and the success rates (the
   exercise's three curves);
4. ask the balance rule which networks train this step;
5. apply each network's gradients only if it trains: a skipped turn leaves
   that network's weights *and* its optimizer's state (moments, step count)
   untouched (``tf.cond``, not a zeroed update, which would still move
   RMSProp/Adam state).

Success rates: D's success on real images is the fraction it calls real
(logit > 0); D's success on fakes is the fraction it calls fake; G's success
is the fraction of fakes D calls real, so ``g_success = 1 - d_fake_success``
on the same batch.
"""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from gan_helpers import balance, optimizers  # noqa: E402
from gan_helpers.devices import replica_noise  # noqa: E402

#: How D sees a step's real faces and fakes: two batches, or one batch of both kinds.
D_BATCH_MODES = ("separate", "mixed")

#: What every step reports (running means over the epoch in ``fit``'s logs).
METRIC_NAMES = ("d_real_success", "d_fake_success", "g_success", "err_real", "err_fake", "err_gen",
                "d_updated", "g_updated")


# %% exported: score_batch, train_step (notebooks/03_training.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def score_batch(self, real_images, noise):
    """D's verdict on one batch: G makes fakes from ``noise``, D scores them and the real images.

    Args:
        self: the GAN (``self.generator``, ``self.discriminator``, ``self.d_batch``).
        real_images: a batch of real images in [-1, 1], shape ``(n, S, S, 3)``.
        noise: G's input for this batch, shape ``(n, latent_dim)``.

    Returns:
        a dict of scalar float32 tensors:
        ``err_real`` (D's binary cross-entropy on the real images, label 1), ``err_fake`` (on the
        fakes, label 0), ``err_gen`` (G's loss: D's cross-entropy on the fakes with label 1),
        ``d_real_success`` (the fraction of real images with logit > 0) and ``d_fake_success``
        (the fraction of fakes with logit < 0).

    Both networks run in training mode (``training=True``). With ``self.d_batch == "mixed"`` D
    judges the real images and the fakes as one batch (``tf.concat``) and the logits are split
    after; with ``"separate"`` it judges them in two calls. Called inside the step's
    GradientTapes, on one device and on each replica of a ``--distribute`` run alike.

    Hints: D outputs logits, so use ``keras.losses.binary_crossentropy(labels, logits,
    from_logits=True)`` and average it with ``tf.reduce_mean``; a fraction is the mean of a
    boolean cast to float (``tf.cast(logits > 0, tf.float32)``). In the compiled step the batch
    size is a tensor, ``tf.shape(real_images)[0]`` (``real_images.shape[0]`` can be None);
    slicing with it works as with an int. D's logits are float32 in a bfloat16 run too (the run
    ends D with a float32 layer), so the losses and fractions need no casts.
    """
    batch_size = tf.shape(real_images)[0]
    bce = keras.losses.binary_crossentropy
    fakes = self.generator(noise, training=True)
    if self.d_batch == "mixed":
        logits = self.discriminator(tf.concat([real_images, fakes], axis=0), training=True)
        real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
    else:
        real_logits = self.discriminator(real_images, training=True)
        fake_logits = self.discriminator(fakes, training=True)
    ones, zeros = tf.ones_like(real_logits), tf.zeros_like(fake_logits)
    return {
        "err_real": tf.reduce_mean(bce(ones, real_logits, from_logits=True)),
        "err_fake": tf.reduce_mean(bce(zeros, fake_logits, from_logits=True)),
        "err_gen": tf.reduce_mean(bce(ones, fake_logits, from_logits=True)),
        "d_real_success": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
        "d_fake_success": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
    }


def train_step(self, real_images):
    """One step of the balanced GAN on a batch of real images; returns what the monitor plots.

    In order:

    1. draw the noise: ``keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)``
       with ``batch_size = tf.shape(real_images)[0]`` (the seed generator's state is
       checkpointed, so a resumed run draws the same noise);
    2. inside two ``tf.GradientTape``s (one per network), ``score = self.score_batch(real_images,
       noise)``; D's loss is ``err_real + err_fake``, G's is ``err_gen``;
    3. ``train_d, train_g = self.balance_rule.decide(err_real, err_fake, d_real_success,
       d_fake_success)``;
    4. take both gradients (each network's of its own loss), then apply D's with
       ``self.d_optimizer`` only if ``train_d``, and G's with ``self.g_optimizer`` only if
       ``train_g``: with ``tf.cond``, so that a skipped network's weights *and* its optimizer's
       state stay exactly as they were (a zero gradient would still move RMSProp's average and
       step counter). Taking the gradients before the ``tf.cond``, not inside it, makes the
       compiled step about 1.4x faster on a CPU (BENCHMARKS.md);
    5. count the skipped turns in ``self.d_skips`` / ``self.g_skips`` (int64 variables);
    6. ``return self.record(values)``, ``values`` being the score plus ``g_success``
       (1 - ``d_fake_success``: measured on the fakes D just judged) and ``d_updated`` /
       ``g_updated`` (1.0 when the network trained, 0.0 when it skipped).

    ``real_images`` may arrive as a tuple ``(images,)`` from ``fit``: take its first element.
    The GAN makes ``self.d_optimizer``, ``self.g_optimizer``, ``self.d_skips`` and
    ``self.g_skips`` before the first step: the step uses them and creates nothing.

    Hints: ``tf.cond(pred, true_fn, false_fn)`` needs both branches to return the same kind of
    value (e.g. ``tf.constant(True)`` and ``tf.constant(False)``); ``tape.gradient(loss, variables)``
    then, in the branch, ``optimizer.apply_gradients(zip(gradients, variables))``.
    """
    if isinstance(real_images, tuple):
        real_images = real_images[0]
    noise = keras.random.normal((tf.shape(real_images)[0], self.latent_dim), seed=self.noise_seed)
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
        score = self.score_batch(real_images, noise)
        d_loss = score["err_real"] + score["err_fake"]
    train_d, train_g = self.balance_rule.decide(score["err_real"], score["err_fake"],
                                                score["d_real_success"], score["d_fake_success"])

    d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
    d_grads, g_grads = d_tape.gradient(d_loss, d_vars), g_tape.gradient(score["err_gen"], g_vars)

    def update(optimizer, gradients, variables):
        def apply():
            optimizer.apply_gradients(zip(gradients, variables))
            return tf.constant(True)
        return apply

    tf.cond(train_d, update(self.d_optimizer, d_grads, d_vars), lambda: tf.constant(False))
    tf.cond(train_g, update(self.g_optimizer, g_grads, g_vars), lambda: tf.constant(False))
    self.d_skips.assign_add(tf.cast(tf.logical_not(train_d), tf.int64))
    self.g_skips.assign_add(tf.cast(tf.logical_not(train_g), tf.int64))

    # What the monitor plots. G's success is measured on the same fakes D just judged.
    values = {**score, "g_success": 1.0 - score["d_fake_success"],
              "d_updated": tf.cast(train_d, tf.float32), "g_updated": tf.cast(train_g, tf.float32)}
    return self.record(values)
# %% end of exported code


@keras.saving.register_keras_serializable(package="gan_helpers")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other, with a balance rule.

    Args:
        generator: noise ``(latent_dim,)`` -> images in [-1, 1].
        discriminator: images -> one logit (real > 0).
        balance: a rule name (``"margin"``, ``"success"``, ``"always"``) or a
            :class:`gan_helpers.balance.BalanceRule`.
        d_batch: ``"separate"`` (D scores the real batch and the fake batch
            in two calls) or ``"mixed"`` (one call on both, as the blog's
            Torch code); differs only for a D with batch norm.
    """

    def __init__(self, generator, discriminator, balance_rule="margin", seed=None, d_batch="separate",
                 **kwargs):
        super().__init__(**kwargs)
        if d_batch not in D_BATCH_MODES:
            raise ValueError(f"d_batch must be one of {', '.join(map(repr, D_BATCH_MODES))}. "
                             f"Received: d_batch={d_batch!r}")
        self.d_batch = d_batch
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.input_shape[-1])
        self.balance_rule = balance.get(balance_rule)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}
        # The last step's raw values, for monitors that plot every step.
        self.last_step = {name: tf.Variable(0.0, trainable=False, name=f"last_{name}") for name in METRIC_NAMES}
        self.d_skips = tf.Variable(0, dtype=tf.int64, trainable=False, name="d_skips")
        self.g_skips = tf.Variable(0, dtype=tf.int64, trainable=False, name="g_skips")
        # The noise of every step comes from this generator, whose state a checkpoint stores.
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed, name="noise_seed")

    def state_variables(self):
        """Variables besides the models' and optimizers' that a checkpoint must keep."""
        return [self.d_skips, self.g_skips, self.noise_seed.state]

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers; defaults are the blog's RMSProp (lr 1e-3, decay 0.9: ``optimizers.RECIPES["gan"]``)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or optimizers.make("gan")
        self.g_optimizer = g_optimizer or optimizers.make("gan")
        # Build the optimizers' state now, outside the conditional branches of the step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        # Both sub-models are built; fit() must not try to build this model by calling it on images.
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size, seed=None):
        return keras.random.normal((batch_size, self.latent_dim), seed=seed)

    # The scoring and the training step are written in notebook 03 (the module-level functions above).
    score_batch = score_batch
    train_step = train_step

    # -- more than one replica (tf.distribute) ----------------------------------
    #
    # ``train_step`` applies each optimizer inside ``tf.cond``, which Keras cannot synchronise across
    # replicas. With more than one replica in sync the step runs in two phases instead, as the WGAN
    # does (gan_helpers.wgan): a compiled ``judge_step`` per replica computes the losses (with the same
    # exported ``score_batch`` as ``train_step``), the gradients
    # (scaled by 1/replicas: the optimizer sums the replicas' gradients) and the balance rule's decision
    # on the GLOBAL batch's numbers (all-reduced means, the same on every replica); Python reads the
    # decision and calls one of up to three compiled ``apply`` variants, which apply only the decided
    # networks' gradients (no update at all for a skipped turn) and record the global values.
    # One replica (no strategy, or OneDeviceStrategy) keeps ``train_step`` exactly as it is.

    def judge_step(self, real_images):
        """Phase 1 on one replica: the exported ``score_batch``, scaled gradients and the global decision."""
        # %% not in the handout: it would show the training step of core exercise 03.5
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        noise = replica_noise(tf.shape(real_images)[0], self.latent_dim, self.noise_seed)
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            score = self.score_batch(real_images, noise)
            # Each replica's mean over its part, divided by the replicas: their sum is the global mean.
            d_loss = (score["err_real"] + score["err_fake"]) / replicas
            g_loss = score["err_gen"] / replicas
        d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        # The global batch's numbers (equal parts per replica: the mean of the means).
        names = ("err_real", "err_fake", "err_gen", "d_real_success", "d_fake_success")
        values = dict(zip(names, context.all_reduce(tf.distribute.ReduceOp.MEAN, [score[n] for n in names])))
        train_d, train_g = self.balance_rule.decide(values["err_real"], values["err_fake"],
                                                    values["d_real_success"], values["d_fake_success"])
        values["g_success"] = 1.0 - values["d_fake_success"]
        return {"d_grads": d_grads, "g_grads": g_grads, "values": values,
                "train_d": tf.convert_to_tensor(train_d), "train_g": tf.convert_to_tensor(train_g)}
        # %% end of what is not in the handout

    def apply_step(self, d_grads, g_grads, train_d: bool, train_g: bool):
        """Phase 2 on one replica: the decided networks' updates (Python booleans: nothing else runs)."""
        # Placed on this replica's device (a worker's gradients arrive as plain function inputs, which
        # have none, and the all-reduce needs one).
        d_grads, g_grads = [tf.identity(g) for g in d_grads], [tf.identity(g) for g in g_grads]
        if train_d:
            self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        if train_g:
            self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        return tf.constant(0)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: ``compile`` built both networks and both optimizers.

        This overrides a private method of Keras' TensorFlow trainer, because there is no public way:
        under any ``tf.distribute`` strategy, ``fit`` calls it at the start of every call and it reads one
        batch of the dataset (even when everything is already built), an extra pass over a reshuffled
        dataset that would make every epoch's order differ from one device's (read in Keras 3.15's
        ``keras/src/backend/tensorflow/trainer.py``).
        """

    def make_train_function(self, force=False):
        """One replica: Keras' own (``train_step``). Several: the two-phase step described above."""
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy
        if strategy.num_replicas_in_sync == 1:
            return super().make_train_function(force=True)

        def first(value):  # a global value is the same on every replica: take the first's
            return strategy.experimental_local_results(value)[0]

        @tf.function
        def judge(data):
            return strategy.run(self.judge_step, args=(data,))

        def make_apply(train_d, train_g):
            @tf.function
            def apply(outputs):
                strategy.run(self.apply_step, args=(outputs["d_grads"], outputs["g_grads"], train_d, train_g))
                self.d_skips.assign_add(0 if train_d else 1)
                self.g_skips.assign_add(0 if train_g else 1)
                values = {name: first(value) for name, value in outputs["values"].items()}
                values["d_updated"] = tf.constant(float(train_d))
                values["g_updated"] = tf.constant(float(train_g))
                return self.record(values)
            return apply

        applies = {}

        def train_function(iterator):
            outputs = judge(next(iterator))
            decision = (bool(first(outputs["train_d"])), bool(first(outputs["train_g"])))
            if decision not in applies:
                applies[decision] = make_apply(*decision)
            return applies[decision](outputs)

        self.train_function = train_function
        return train_function

    def record(self, values):
        """Update the trackers and the last step's values; what ``train_step`` returns."""
        for name, value in values.items():
            self.trackers[name].update_state(value)
            self.last_step[name].assign(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "balance_rule": self.balance_rule.get_config(),
            "seed": self.seed,
            "d_batch": self.d_batch,
        }

    @classmethod
    def from_config(cls, config):
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)


def fit_discriminator(discriminator, train, validation, epochs: int = 10, batch_size: int = 64,
                      learning_rate: float | None = None, verbose: int = 0) -> dict:
    """Train a discriminator alone as a real/fake classifier; returns the history dict.

    ``train`` and ``validation`` are ``(images in [-1, 1], labels)`` pairs.
    Accuracy is measured on logits (threshold 0). ``learning_rate``: None is the blog's.
    """
    discriminator.compile(
        optimizer=optimizers.make("gan", learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
    )
    history = discriminator.fit(*train, validation_data=validation, epochs=epochs, batch_size=batch_size,
                                verbose=verbose, shuffle=True)
    return history.history
