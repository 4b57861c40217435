"""An averaged generator: an exponential moving average of G's weights (Karras et al. 2018; Yazici et al. 2019).

A GAN's generator oscillates around the faces it is learning; the average
of its recent weights sits nearer the middle of that oscillation and draws
smoother, more stable faces than any single iterate. ProGAN and StyleGAN
sample, measure and ship this average, not the raw generator.

After every update of G's weights the average moves towards them::

    decay_t = min(max_decay, (1 + t) / (10 + t))
    v_avg   = decay_t * v_avg + (1 - decay_t) * v      (every trainable variable)

where ``t`` counts the updates averaged so far (0 for the first). The
warm-up of the decay (as ``tf.train.ExponentialMovingAverage`` with
``num_updates``) lets the average forget the random initial weights
quickly: ``decay_0 = 0.1``, ``decay_90 = 0.91``, and ``max_decay`` (e.g.
0.999, an average over about the last 1,000 updates) from
``t = (10 * max_decay - 1) / (1 - max_decay)`` on.

What "an update of G" is: the average follows G's optimizer steps, not
Keras' training steps. A balanced GAN's step may skip G's turn, and a WGAN
makes 5 (or 100) critic steps per generator step; averaging the unchanged
weights again at such steps would only make the horizon depend on the
balance rule or the critic schedule. :class:`UpdateAverage` therefore
updates the average after every step whose ``last_step["g_updated"]`` is
set (both :class:`gan_helpers.training.GAN` and
:class:`gan_helpers.wgan.WGAN` report it), and after every step for a
model that does not report it.

Batch norm: the moving statistics of the raw G describe the activations of
the raw weights, not of the averaged ones, so copying them (what ProGAN
does with its non-trainable variables; its generator has no batch norm)
would normalise the averaged G with statistics that do not fit it. They
are copied at every update (so they are never unset), and recomputed for
the averaged weights before the averaged G is used: BigGAN's "standing
statistics" (Brock et al. 2019), also ``torch.optim.swa_utils.update_bn``.
The averaged G runs in training mode on a fixed set of noise batches and
each batch norm layer's moving mean and variance become the means, over
those batches, of its batch means and batch variances: the same kind of
statistics training gives the raw G (dropout active, as in training), for
the averaged weights. The noise is fixed and every other state the pass
touches (dropout seeds) is put back, so the statistics are a function of
the averaged weights alone and exact resume holds.
"""

from __future__ import annotations

import numpy as np

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

#: The noise batches the standing statistics of batch norm are computed on: 256 samples, so each
#: channel's moments are over 256 x H x W positions. At 64x64 the refresh (four forward passes of G)
#: took about 3 s of a busy 2-core CPU; it runs once per epoch, when the fixed batch is drawn.
STATISTICS_BATCHES = 4
STATISTICS_BATCH_SIZE = 64


def warmup_decay(step, max_decay: float) -> float:
    """The decay of update number ``step`` (0 for the first): ``min(max_decay, (1 + step) / (10 + step))``."""
    return min(float(max_decay), (1.0 + step) / (10.0 + step))


def check_max_decay(max_decay) -> None:
    """A decay must be a number in (0, 1); 0 and None mean "no averaging" and are checked by the caller."""
    if isinstance(max_decay, bool) or not isinstance(max_decay, (int, float, np.floating)) \
            or not 0 < max_decay < 1:
        raise ValueError(f"max_decay must be a number in (0, 1), e.g. 0.999. Received: max_decay={max_decay!r}")


def batch_norm_layers(model) -> list:
    """Every BatchNormalization layer of ``model``, nested models included, in order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(batch_norm_layers(layer))
    return found


class GeneratorAverage:
    """An exponential moving average of ``generator``'s weights, held in a clone of it.

    Args:
        generator: the raw generator (a built Keras model); it is never modified.
        max_decay: the decay after the warm-up, in (0, 1), e.g. 0.999.
        seed: seed of the fixed noise on which batch norm's statistics are recomputed.
        statistics_batches, statistics_batch_size: how much noise that is.

    ``model`` is the averaged generator, ready to sample (its batch norm
    statistics recomputed if the weights changed since); ``averaged`` is the
    same model without that refresh; :meth:`state_variables` are what a
    checkpoint must keep.
    """

    def __init__(self, generator, max_decay: float = 0.999, seed: int = 0,
                 statistics_batches: int = STATISTICS_BATCHES, statistics_batch_size: int = STATISTICS_BATCH_SIZE):
        check_max_decay(max_decay)
        if statistics_batches < 1 or statistics_batch_size < 2:
            raise ValueError("The standing statistics need at least one batch of at least 2 samples. Received: "
                             f"statistics_batches={statistics_batches}, "
                             f"statistics_batch_size={statistics_batch_size}")
        self.generator = generator
        self.max_decay = float(max_decay)
        # clone_model rebuilds every layer from its config (dtype policy included, so a mixed-precision
        # generator gets a mixed-precision average); the weights are then copied.
        self.averaged = keras.models.clone_model(generator)
        self.averaged.set_weights(generator.get_weights())
        self._pairs = list(zip(self.averaged.variables, generator.variables))
        if len(self.averaged.variables) != len(generator.variables) or any(
                tuple(a.shape) != tuple(v.shape) or a.trainable != v.trainable for a, v in self._pairs):
            raise ValueError(f"The clone of {generator.name} does not have the generator's variables; "
                             "averaging needs a model that keras.models.clone_model can rebuild.")
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="average_updates")
        self.latent_dim = int(generator.input_shape[-1])
        noise = np.random.default_rng(seed).normal(size=(statistics_batches, statistics_batch_size,
                                                         self.latent_dim))
        self.statistics_noise = noise.astype(np.float32)
        self.statistics_stale = True
        self._update_function = None

    # -- averaging ------------------------------------------------------------

    def decay(self, step=None) -> float:
        """The decay the next update uses (or update number ``step``'s)."""
        return warmup_decay(int(self.updates.numpy()) if step is None else step, self.max_decay)

    def update(self):
        """Move the average one update towards the generator's current weights."""
        if self._update_function is None:
            self._update_function = tf.function(self._update, autograph=False)
        self._update_function()
        self.statistics_stale = True

    def _update(self):
        t = tf.cast(self.updates, tf.float32)
        decay = tf.minimum(tf.constant(self.max_decay, tf.float32), (1.0 + t) / (10.0 + t))
        for average, variable in self._pairs:
            value = tf.convert_to_tensor(variable)
            if average.trainable:
                average.assign(decay * tf.convert_to_tensor(average) + (1.0 - decay) * value)
            else:  # batch norm's moving statistics (recomputed before use) and dropout's seed states
                average.assign(value)
        self.updates.assign_add(1)

    def state_variables(self) -> list:
        """What a checkpoint keeps: every variable of the averaged model, then the update count."""
        return [*self.averaged.variables, self.updates]

    # -- using the average ----------------------------------------------------

    @property
    def model(self):
        """The averaged generator, with batch norm statistics that fit its weights."""
        if self.statistics_stale:
            self.refresh_statistics()
        return self.averaged

    def refresh_statistics(self):
        """Recompute every batch norm layer's moving statistics for the averaged weights (see the module doc).

        :func:`standing_statistics` on the fixed noise; every other non-trainable variable the
        training-mode pass touches (dropout's seed states) is restored afterwards.
        """
        layers = batch_norm_layers(self.averaged)
        statistics = {id(v) for layer in layers for v in (layer.moving_mean, layer.moving_variance)}
        others = [v for v in self.averaged.non_trainable_variables if id(v) not in statistics]
        kept = [v.numpy() for v in others]
        try:
            standing_statistics(self.averaged, self.statistics_noise)
        finally:
            for variable, value in zip(others, kept):
                variable.assign(value)
        self.statistics_stale = False


def standing_statistics(model, noise_batches) -> None:
    """Set every batch norm layer of ``model`` to standing statistics over ``noise_batches``.

    ``noise_batches`` has shape (batches, batch size, latent dim). Batch ``k`` (from 0) runs
    through ``model`` in training mode (dropout on) with each layer's momentum set to
    ``k / (k + 1)``, so after the last batch the moving mean is the mean of the batch means and
    the moving variance the mean of the batch variances. The momenta are put back; the pass
    advances dropout's seed states, which the caller restores if it needs them.
    """
    layers = batch_norm_layers(model)
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for k, noise in enumerate(np.asarray(noise_batches, dtype=np.float32)):
            for layer in layers:
                layer.momentum = k / (k + 1.0)
            model(noise, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


class UpdateAverage(keras.callbacks.Callback):
    """Update ``average`` after every training step that updated the generator (see the module doc)."""

    def __init__(self, average: GeneratorAverage):
        super().__init__()
        self.average = average

    def on_train_batch_end(self, batch, logs=None):
        last_step = getattr(self.model, "last_step", {})
        if "g_updated" not in last_step or float(last_step["g_updated"].numpy()) > 0:
            self.average.update()
