"""WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017), ported to Keras.

The port follows martinarjovsky/WassersteinGAN (main.py) step by step:

========================================  ========================================
reference (PyTorch)                       here
========================================  ========================================
``Diters = 100 if gen_iterations < 25     :meth:`WGAN.critic_iterations`
or gen_iterations % 500 == 0 else 5``
``p.data.clamp_(-0.01, 0.01)``            ``clip_weights`` after every critic update
``fake = Variable(netG(noisev).data)``    the critic step's fakes are made outside
                                          its tape (``tf.stop_gradient``): no
                                          backward pass through G
``errD_real.backward(one)``,              the critic minimises
``errD_fake.backward(mone)``              ``Loss_D = D(real) - D(fake)``
``noise.normal_(0, 1)`` before the        the generator step draws FRESH noise
generator step                            (:meth:`WGAN.generator_step`)
``errG = netD(fake); backward(one)``      G minimises ``Loss_G = D(fake)``
``RMSprop(lr=5e-5)`` for both             :func:`reference_rmsprop` (PyTorch's
                                          alpha 0.99 and eps 1e-8; Keras'
                                          defaults differ, see there)
``DCGAN_G``, ``DCGAN_D`` (and             :func:`gan_helpers.models.build_dcgan_generator`,
``_nobn``) in ``models/dcgan.py``         :func:`gan_helpers.models.build_dcgan_critic`
                                          (``batch_norm=False``)
========================================  ========================================

A Keras training step here is one *critic* step on one batch of real
images, as a reference critic iteration consumes one batch; after
``critic_iterations()`` of them the same step also updates the generator.
The choice is made in Python before each step, between two compiled
functions, exactly as the reference's Python loop does (an optimizer
update inside ``tf.cond`` cannot synchronise replicas under
``tf.distribute``); no optimizer state moves in steps without an update.
``-Loss_D`` is the Wasserstein estimate the paper plots against generator
iterations.

WGAN-GP replaces clipping by the gradient penalty
``lambda * (||grad D(x_hat)|| - 1)**2`` at random points ``x_hat`` between
real and fake samples (one uniform weight per sample), with Adam(1e-4,
beta1=0, beta2=0.9), 5 critic steps and no batch norm in the critic (build
the critic with ``batch_norm=False``: the penalty is per sample, and batch
norm makes a sample's score depend on the rest of the batch). The norm is
``sqrt(sum(g**2) + 1e-12)`` over all of a sample's axes, so its gradient is
finite even where ``g`` is zero, and samples of any rank work (images, or
the 2-D points of :mod:`gan_helpers.toy`).

Determinism for tests: ``train_step`` takes a batch of real samples, or a
tuple ``(real, noise, alpha, generator_noise)`` whose later elements may be
left out: the critic step's noise, the penalty's interpolation weights
(shape ``(batch, 1, ...)``) and the generator step's noise. Whatever is not
given is drawn from the model's seed generator, fresh for each use.

Losses are written by hand, so under ``tf.distribute`` each replica's mean
is divided by the number of replicas: the optimizer sums the replicas'
gradients, and the sum of the scaled means is the mean over the global
batch.
"""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from gan_helpers import optimizers  # noqa: E402
from gan_helpers.devices import replica_noise  # noqa: E402
from gan_helpers.optimizers import TorchRMSprop  # noqa: E402, F401  (gan_helpers.wgan.TorchRMSprop, as before)

WGAN_METRICS = ("loss_d", "loss_g", "loss_d_real", "loss_d_fake", "wasserstein", "gradient_penalty",
                "g_updated")


# %% exported: critic_iterations (notebooks/04_wgan.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def critic_iterations(self, gen_iterations):
    """Critic steps before generator iteration ``gen_iterations`` (works on ints and tensors).

    The reference's schedule: ``Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0
    else 5``, read from the settings: ``self.warmup_critic`` (100) steps while
    ``gen_iterations < self.warmup_iterations`` (25) or, when ``self.warmup_every`` (500) is not 0,
    at every multiple of it; ``self.n_critic`` (5) otherwise. WGAN-GP turns the warm-up off with
    ``warmup_iterations = warmup_every = 0``.

    Returns:
        a Python int for an int ``gen_iterations``; an int64 tensor for a tensor (the compiled
        training step passes one).

    Hint: ``tf.where(condition, a, b)`` chooses between tensors; ``isinstance(x, bool)`` tells a
    Python comparison's result from a tensor's.
    """
    warm = gen_iterations < self.warmup_iterations
    if self.warmup_every:
        warm = warm | (gen_iterations % self.warmup_every == 0)
    if isinstance(warm, bool):
        return self.warmup_critic if warm else self.n_critic
    return tf.where(warm, tf.constant(self.warmup_critic, tf.int64), tf.constant(self.n_critic, tf.int64))
# %% end of exported code


# %% exported: clip_weights, penalty (notebooks/04_wgan.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def clip_weights(self):
    """WGAN: clip every critic weight to [-c, c] (the reference's ``p.data.clamp_(-0.01, 0.01)``).

    c is ``self.clip_value``; with ``None`` (WGAN-GP) do nothing. Clip, in place, every variable
    of ``self.critic.trainable_variables`` (kernels, biases, batch norm's gamma and beta); batch
    norm's moving statistics are not parameters and stay as they are. Values inside [-c, c] do
    not change. Returns nothing.

    Hint: ``variable.assign(tf.clip_by_value(variable, -c, c))``.
    """
    if self.clip_value is None:
        return
    for variable in self.critic.trainable_variables:
        variable.assign(tf.clip_by_value(variable, -self.clip_value, self.clip_value))


def penalty(self, real, fake, alpha=None):
    """WGAN-GP's penalty, mean over this replica's batch (not yet divided by replicas).

    At ``x_hat = real + alpha * (fake - real)``, one point per image: the mean over the batch of
    ``(||grad self.critic(x_hat)|| - 1) ** 2``, the norm taken per image over all its pixels and
    channels, the critic called with ``training=True``.

    Args:
        real, fake: image batches of the same shape ``(n, S, S, 3)``.
        alpha: one interpolation weight per example, with as many axes as ``real``:
            ``(n,) + (1,) * (len(real.shape) - 1)``, so ``(n, 1, 1, 1)`` for images and
            ``(n, 1)`` for the 2-D points of section 3b; when ``None``, drawn uniformly in
            [0, 1) with ``keras.random.uniform(shape, seed=self.noise_seed)``.

    Returns:
        a scalar float tensor.

    Hints: a ``tf.GradientTape`` that ``watch``es ``x_hat`` gives ``tape.gradient(scores, x_hat)``;
    reshape the gradients to ``(n, -1)`` before the norm; add a tiny 1e-12 under the square root so
    that its own gradient stays finite at 0.
    """
    batch = tf.shape(real)[0]
    if alpha is None:
        alpha = keras.random.uniform((batch,) + (1,) * (len(real.shape) - 1), seed=self.noise_seed)
    between = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(between)
        scores = self.critic(between, training=True)
    gradients = tf.reshape(tape.gradient(scores, between), (batch, -1))
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))
# %% end of exported code


# %% exported: critic_step, generator_step (notebooks/04_wgan.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def critic_step(self, real, noise, alpha=None, scale=1.0):
    """One critic update on ``real`` against ``generator(noise)``; returns the loss terms.

    1. the fakes: ``self.generator(noise, training=True)`` behind ``tf.stop_gradient`` (the
       reference detaches them, ``Variable(netG(noisev).data)``), made outside the tape, so no
       gradient flows into G and the step runs no backward pass through it;
    2. in a ``tf.GradientTape``: ``loss_d_real`` and ``loss_d_fake``, the mean critic scores
       (``training=True``) of the real images and of the fakes; ``loss_d = loss_d_real -
       loss_d_fake``; ``penalty = self.penalty(real, fake, alpha)`` when
       ``self.gradient_penalty`` (lambda) is not 0, else ``tf.constant(0.0)``; the objective is
       ``scale * (loss_d + self.gradient_penalty * penalty)``;
    3. apply its gradient with respect to ``self.critic.trainable_variables`` with
       ``self.d_optimizer``;
    4. ``self.clip_weights()`` (it does nothing for WGAN-GP);
    5. ``self.critic_steps.assign_add(1)``.

    ``scale`` is 1 on one device (1 / replicas under ``--distribute``).

    Returns:
        ``(loss_d, loss_d_real, loss_d_fake, penalty)``, scalar tensors, all measured before the
        update.
    """
    fake = tf.stop_gradient(self.generator(noise, training=True))
    with tf.GradientTape() as tape:
        loss_d_real = tf.reduce_mean(self.critic(real, training=True))
        loss_d_fake = tf.reduce_mean(self.critic(fake, training=True))
        loss_d = loss_d_real - loss_d_fake
        penalty = self.penalty(real, fake, alpha) if self.gradient_penalty else tf.constant(0.0)
        critic_objective = scale * (loss_d + self.gradient_penalty * penalty)
    grads = tape.gradient(critic_objective, self.critic.trainable_variables)
    self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))
    self.clip_weights()
    self.critic_steps.assign_add(1)
    return loss_d, loss_d_real, loss_d_fake, penalty


def generator_step(self, noise, scale=1.0):
    """One generator update on ``noise`` (the caller draws it fresh); returns ``Loss_G``.

    In a ``tf.GradientTape``: ``loss_g``, the mean critic score of ``self.generator(noise,
    training=True)`` (critic with ``training=True``); the objective is ``scale * loss_g``: G
    minimises it (the reference's ``errG.backward(one)``). Apply its gradient with respect to
    ``self.generator.trainable_variables`` with ``self.g_optimizer``; then count the iteration,
    ``self.gen_iterations.assign_add(1)``, and start the next one's critic steps:
    ``self.critic_steps.assign(0)``.

    Returns:
        ``loss_g``, a scalar tensor measured before the update.
    """
    with tf.GradientTape() as g_tape:
        loss_g = tf.reduce_mean(self.critic(self.generator(noise, training=True), training=True))
        objective = scale * loss_g
    g_grads = g_tape.gradient(objective, self.generator.trainable_variables)
    self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
    self.gen_iterations.assign_add(1)
    self.critic_steps.assign(0)
    return loss_g
# %% end of exported code


@keras.saving.register_keras_serializable(package="gan_helpers")
class WGAN(keras.Model):
    """A generator and a critic trained as in the WGAN reference code (or WGAN-GP).

    Args:
        generator, critic: Keras models (the critic outputs one unbounded score).
        clip_value: weight clipping range ``[-c, c]`` (WGAN); ``None`` with a penalty.
        gradient_penalty: lambda of WGAN-GP (0 for plain WGAN).
        n_critic: critic steps per generator step.
        warmup_critic, warmup_iterations, warmup_every: 100 critic steps for the
            first 25 generator iterations and every 500th (the reference's schedule);
            ``warmup_iterations=0, warmup_every=0`` turns the warm-up off (WGAN-GP).
    """

    def __init__(self, generator, critic, clip_value=0.01, gradient_penalty=0.0, n_critic=5,
                 warmup_critic=100, warmup_iterations=25, warmup_every=500, seed=None, **kwargs):
        super().__init__(**kwargs)
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive or None. Received: clip_value={clip_value}")
        if gradient_penalty < 0:
            raise ValueError(f"gradient_penalty must be >= 0. Received: gradient_penalty={gradient_penalty}")
        self.generator, self.critic = generator, critic
        self.latent_dim = int(generator.input_shape[-1])
        self.clip_value, self.gradient_penalty = clip_value, float(gradient_penalty)
        self.n_critic, self.warmup_critic = int(n_critic), int(warmup_critic)
        self.warmup_iterations, self.warmup_every = int(warmup_iterations), int(warmup_every)
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed, name="wgan_noise_seed")
        self.gen_iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="gen_iterations")
        self.critic_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="critic_steps_since_g")
        self.generator_turn = False
        self.trackers = {name: keras.metrics.Mean(name=name) for name in WGAN_METRICS}
        self.last_step = {name: tf.Variable(0.0, trainable=False, name=f"last_{name}") for name in WGAN_METRICS}

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        super().compile(**kwargs)
        default = reference_adam if self.gradient_penalty else reference_rmsprop
        self.d_optimizer = d_optimizer or default()
        self.g_optimizer = g_optimizer or default()
        self.d_optimizer.build(self.critic.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.clip_weights()
        # Both sub-models are built; fit() must not try to build this model by calling it on images.
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def state_variables(self):
        return [self.gen_iterations, self.critic_steps, self.noise_seed.state]

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    critic_iterations = critic_iterations

    def generator_turn_next(self) -> bool:
        """Whether the next critic step completes this generator iteration's critic steps."""
        done = int(self.critic_steps.numpy()) + 1
        return done >= self.critic_iterations(int(self.gen_iterations.numpy()))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: ``compile`` built both networks and both optimizers. A private Keras method,
        overridden for want of a public way (see ``gan_helpers.training.GAN._maybe_symbolic_build``)."""

    def make_train_function(self, force=False):
        """Two compiled steps (critic only; critic then generator), chosen in Python step by step."""
        if self.train_function is not None and not force:
            return self.train_function
        functions = {}
        for turn in (False, True):
            super().make_train_function(force=True)  # sets self.train_function
            functions[turn] = self.train_function

        def train_function(iterator):
            turn = self.generator_turn_next()
            self.generator_turn = turn  # read while the chosen function is first traced
            return functions[turn](iterator)

        self.train_function = train_function
        return train_function

    clip_weights = clip_weights

    penalty = penalty

    def draw_noise(self, batch):
        """A fresh batch of N(0, 1) noise from the model's seed generator (under ``tf.distribute``, this
        replica's slice of the global batch's noise: :func:`gan_helpers.devices.replica_noise`). The
        gradient penalty's interpolation weights are still drawn per replica."""
        return replica_noise(batch, self.latent_dim, self.noise_seed)

    critic_step = critic_step

    generator_step = generator_step

    def train_step(self, data):
        noise = alpha = g_noise = None
        if isinstance(data, (tuple, list)):
            real = data[0]
            noise = data[1] if len(data) > 1 else None
            alpha = data[2] if len(data) > 2 else None
            g_noise = data[3] if len(data) > 3 else None
        else:
            real = data
        batch = tf.shape(real)[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        scale = 1.0 / replicas
        if noise is None:
            noise = self.draw_noise(batch)

        # One critic step, on this batch.
        loss_d, loss_d_real, loss_d_fake, penalty = self.critic_step(real, noise, alpha, scale)

        # A generator step once the critic has had its iterations, on fresh noise (the reference's
        # noise.normal_(0, 1) before netG(noise)). Which kind of step this is was decided in Python
        # before the step (see make_train_function): an optimizer update inside tf.cond cannot
        # synchronise replicas under tf.distribute.
        do_g = tf.constant(self.generator_turn)
        if self.generator_turn:
            loss_g = self.generator_step(self.draw_noise(batch) if g_noise is None else g_noise, scale)
        else:
            loss_g = tf.constant(float("nan"))
        values = {"loss_d": loss_d, "loss_d_real": loss_d_real, "loss_d_fake": loss_d_fake,
                  "wasserstein": -loss_d, "gradient_penalty": penalty, "g_updated": tf.cast(do_g, tf.float32)}
        for name, value in values.items():
            self.trackers[name].update_state(value)
            self.last_step[name].assign(value)
        self.last_step["loss_g"].assign(loss_g)
        # Loss_G exists only on steps with a generator update: weight 0 elsewhere.
        self.trackers["loss_g"].update_state(tf.where(do_g, loss_g, 0.0), sample_weight=tf.cast(do_g, tf.float32))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "critic": keras.saving.serialize_keras_object(self.critic),
                "clip_value": self.clip_value, "gradient_penalty": self.gradient_penalty,
                "n_critic": self.n_critic, "warmup_critic": self.warmup_critic,
                "warmup_iterations": self.warmup_iterations, "warmup_every": self.warmup_every, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        critic = keras.saving.deserialize_keras_object(config.pop("critic"))
        return cls(generator, critic, **config)


def reference_rmsprop(learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The clipped WGAN's optimizer as the reference runs it: PyTorch's ``optim.RMSprop(lr=5e-5)``
    (``alpha=0.99``, ``eps=1e-8`` added to the root; see :class:`TorchRMSprop`); None: that rate
    (:data:`gan_helpers.optimizers.RECIPES`).

    With Keras' default RMSprop instead, a clipped critic learns many times slower than the
    reference's (tests/test_wgan.py compares both with the PyTorch formula written in numpy).
    """
    return optimizers.make("wgan", learning_rate)


def reference_adam(learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """WGAN-GP's optimizer (improved_wgan_training): Adam(1e-4, beta1=0, beta2=0.9); None: that rate.

    The reference is TensorFlow 1's ``AdamOptimizer``, whose epsilon (1e-8) is
    added to the root as in Keras; Keras' default epsilon is 1e-7, so it is set
    to 1e-8 here.
    """
    return optimizers.make("wgan-gp", learning_rate)


def build_wgan(generator, critic, variant: str = "wgan", seed=None, d_learning_rate=None, g_learning_rate=None,
               **kwargs) -> WGAN:
    """A compiled WGAN (``"wgan"``: clipping, RMSProp 5e-5) or WGAN-GP (``"wgan-gp"``: lambda 10, Adam 1e-4).

    The one WGAN factory (a run's, :func:`gan_helpers.runs.build`, calls it too). A learning rate of
    None is the variant's reference; ``kwargs`` go to :class:`WGAN`.
    """
    if variant == "wgan":
        model = WGAN(generator, critic, clip_value=0.01, gradient_penalty=0.0, seed=seed, **kwargs)
        optimizer = reference_rmsprop
    elif variant == "wgan-gp":
        kwargs = {"warmup_iterations": 0, "warmup_every": 0, **kwargs}
        model = WGAN(generator, critic, clip_value=None, gradient_penalty=10.0, seed=seed, **kwargs)
        optimizer = reference_adam
    else:
        raise ValueError(f"variant must be 'wgan' or 'wgan-gp'. Received: variant={variant!r}")
    model.compile(optimizer(d_learning_rate), optimizer(g_learning_rate))
    return model
