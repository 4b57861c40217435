"""Eight Gaussians on a ring: GAN, WGAN and WGAN-GP on a 2-D toy that trains in seconds.

The data is the WGAN-GP paper's toy, as ``inf_train_gen`` in
igul222/improved_wgan_training (``gan_toy.py``, ``DATASET = '8gaussians'``)
defines it: eight centres at radius 2 (angles 0, 45, ..., 315 degrees), a
point is a centre chosen uniformly plus N(0, 0.02**2) noise per coordinate,
and everything is divided by 1.414. So the centres lie at radius
2 / 1.414 = 1.414 and each mode's standard deviation is 0.02 / 1.414 = 0.014;
neighbouring centres are 1.08 apart.

The networks follow the same file: multi-layer perceptrons with three hidden
ReLU layers (He initialisation), G: 2-D N(0, 1) noise -> 2-D point, D/critic:
2-D point -> one score. ``gan_toy.py`` uses 512 units, batch 256, five
critic steps, lambda 0.1 and Adam(1e-4, beta1 0.5, beta2 0.9) for WGAN-GP,
RMSProp(5e-5) and clipping at 0.01 for WGAN, for 100,000 generator
iterations. Here the same models are trained through the workbook's own
classes (:class:`gan_helpers.training.GAN` with balance ``"always"``,
:class:`gan_helpers.wgan.WGAN`, no warm-up schedule as in ``gan_toy.py``),
smaller (64 units, batch 128) and faster (:data:`TOY_SETTINGS`: learning
rates 3e-3 for WGAN-GP and 1e-3 for the others, falling linearly to a tenth
over the run) for 1,000 generator iterations, so that each model trains in
seconds on a CPU. WGAN-GP keeps ``gan_toy.py``'s lambda 0.1, five critic
steps and Adam betas. Measured on a shared 2-core CPU: WGAN-GP covers 8 of 8
modes for each of the seeds 0-6, after 600 or 1,000 iterations (about 10 and
15 seconds); the learning-rate decay matters (without it, 4 to 8 modes,
depending on the seed, at 1,000 iterations).

Mode coverage (:func:`mode_report`): a sample is *high quality* when it lies
within ``radius`` (default 0.1, about 7 of a mode's standard deviations and
under a tenth of the distance between neighbouring centres) of a centre; a
mode is *covered* when at least ``min_fraction`` (default 2.5%, a fifth of
its fair share of 12.5%) of the samples are high-quality samples of that
mode. With the defaults, samples smeared evenly along the ring (2.25% of them
near each centre) cover no mode, and a generator stuck on one mode covers
one.
"""

from __future__ import annotations

import time

import numpy as np

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402
from keras import layers  # noqa: E402

#: The variants this module trains, in plotting order.
VARIANTS = ("gan", "wgan", "wgan-gp")
TITLES = {"gan": "GAN (balance 'always')", "wgan": "WGAN (clipping)", "wgan-gp": "WGAN-GP"}

#: gan_toy.py's constants: centres at radius 2, noise std 0.02, all divided by 1.414.
RING_RADIUS, MODE_STD, NORMALISER = 2.0, 0.02, 1.414

#: Per-variant training settings (see the module docstring for gan_toy.py's own values).
#: ``n_critic``: critic steps per generator iteration (the GAN updates both nets every step);
#: ``final_lr``: both learning rates fall linearly to this fraction of ``learning_rate``.
TOY_SETTINGS = {
    "gan": {"learning_rate": 1e-3, "beta_1": 0.5, "n_critic": 1, "final_lr": 0.1},
    "wgan": {"learning_rate": 1e-3, "clip_value": 0.01, "n_critic": 5, "final_lr": 0.1},
    "wgan-gp": {"learning_rate": 3e-3, "beta_1": 0.5, "gradient_penalty": 0.1, "n_critic": 5, "final_lr": 0.1},
}


def mode_centres() -> np.ndarray:
    """The eight centres, ``(8, 2)``, in gan_toy.py's order, after its division by 1.414."""
    s = 1.0 / np.sqrt(2.0)
    unit = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)])
    return (RING_RADIUS * unit / NORMALISER).astype("float32")


def eight_gaussians(n: int, seed=None) -> np.ndarray:
    """``n`` points ``(n, 2)`` float32 of the eight-Gaussians mixture (each centre equally likely)."""
    if n < 0:
        raise ValueError(f"n must be >= 0. Received: n={n}")
    rng = np.random.default_rng(seed)
    centres = mode_centres() * NORMALISER  # gan_toy.py adds the noise before dividing
    points = centres[rng.integers(0, 8, size=n)] + MODE_STD * rng.standard_normal((n, 2))
    return (points / NORMALISER).astype("float32")


def _mlp(inputs_dim, outputs_dim, width, depth, name):
    inputs = keras.Input((inputs_dim,), name="noise" if name == "generator" else "point")
    x = inputs
    for i in range(1, depth + 1):
        x = layers.Dense(width, activation="relu", kernel_initializer="he_normal", name=f"dense{i}")(x)
    out = layers.Dense(outputs_dim, name="point" if name == "generator" else "score")(x)
    return keras.Model(inputs, out, name=name)


def build_toy_models(variant: str = "wgan-gp", seed: int = 0, width: int = 64, depth: int = 3):
    """``(generator, critic)``: MLPs with ``depth`` hidden ReLU layers of ``width`` units.

    G maps 2-D noise to a 2-D point; the critic (the GAN's discriminator, a
    logit) maps a point to one score. The same networks serve every variant
    (no batch norm, no dropout); ``variant`` only names the critic.
    """
    _check_variant(variant)
    keras.utils.set_random_seed(seed)
    generator = _mlp(2, 2, width, depth, "generator")
    critic = _mlp(2, 1, width, depth, "discriminator" if variant == "gan" else "critic")
    return generator, critic


def build_toy_model(variant: str = "wgan-gp", seed: int = 0, width: int = 64, depth: int = 3, steps=None,
                    **settings):
    """A compiled toy model: :class:`~gan_helpers.training.GAN` or :class:`~gan_helpers.wgan.WGAN`.

    ``settings`` override :data:`TOY_SETTINGS` (``learning_rate``, ``beta_1``,
    ``clip_value``, ``gradient_penalty``, ``n_critic``, ``final_lr``).
    ``steps``: the generator iterations planned; with ``final_lr < 1`` both
    learning rates fall linearly to ``final_lr * learning_rate`` over them.
    """
    from gan_helpers import training, wgan

    _check_variant(variant)
    settings = {**TOY_SETTINGS[variant], **settings}
    unknown = set(settings) - {"learning_rate", "beta_1", "clip_value", "gradient_penalty", "n_critic", "final_lr"}
    if unknown:
        raise ValueError(f"Unknown toy settings: {', '.join(sorted(unknown))}")
    generator, critic = build_toy_models(variant, seed=seed, width=width, depth=depth)
    final_lr = settings.get("final_lr", 1.0)

    def optimizer(updates):
        lr = settings["learning_rate"]
        if steps and final_lr < 1:
            lr = keras.optimizers.schedules.PolynomialDecay(lr, updates, end_learning_rate=final_lr * lr)
        if variant == "wgan":  # the clipped WGAN's RMSProp, as the reference's PyTorch runs it
            return wgan.reference_rmsprop(lr)
        return keras.optimizers.Adam(lr, beta_1=settings["beta_1"], beta_2=0.9)

    if variant == "gan":
        model = training.GAN(generator, critic, "always", seed=seed)
    else:
        # gan_toy.py has no warm-up schedule (100 critic steps for 25 iterations): turn it off.
        model = wgan.WGAN(generator, critic, clip_value=settings.get("clip_value"),
                          gradient_penalty=settings.get("gradient_penalty", 0.0), n_critic=settings["n_critic"],
                          warmup_iterations=0, warmup_every=0, seed=seed)
    model.compile(optimizer((steps or 1) * settings["n_critic"]), optimizer(steps or 1))
    model.toy_variant = variant
    return model


def train_toy(variant: str = "wgan-gp", steps: int = 1000, seed: int = 0, batch_size: int = 128,
              width: int = 64, depth: int = 3, **settings):
    """Build a toy model and train it for ``steps`` generator iterations; returns the model.

    A WGAN's Keras step is one critic step, so it sees ``steps * n_critic``
    batches; the GAN updates D and G on every batch and sees ``steps``.
    The real points come from :func:`eight_gaussians` with ``seed``, fresh
    for every batch. ``model.toy_seconds`` holds the training time.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1. Received: steps={steps}")
    model = build_toy_model(variant, seed=seed, width=width, depth=depth, steps=steps, **settings)
    n_critic = 1 if variant == "gan" else model.n_critic
    points = eight_gaussians(steps * n_critic * batch_size, seed=seed)
    start = time.perf_counter()
    model.fit(tf.data.Dataset.from_tensor_slices(points).batch(batch_size), epochs=1, verbose=0, shuffle=False)
    model.toy_seconds = time.perf_counter() - start
    return model


def sample_toy(model, n: int = 1000, seed: int = 1) -> np.ndarray:
    """``n`` generated points ``(n, 2)`` from a fixed noise batch (``seed``), in inference mode."""
    noise = np.random.default_rng(seed).standard_normal((n, int(model.generator.input_shape[-1])))
    return np.asarray(model.generator(noise.astype("float32"), training=False))


def mode_report(samples, radius: float = 0.1, min_fraction: float = 0.025) -> dict:
    """Mode coverage of 2-D ``samples`` (see the module docstring for the criterion).

    Returns ``counts`` (high-quality samples per mode, in :func:`mode_centres`'
    order), ``covered`` (modes with at least ``min_fraction`` of all samples
    within ``radius`` of their centre) and ``high_quality`` (the fraction of
    samples within ``radius`` of some centre).
    """
    samples = np.asarray(samples, dtype="float64")
    if samples.ndim != 2 or samples.shape[1] != 2 or not len(samples):
        raise ValueError(f"samples must be a non-empty (n, 2) array. Received: shape={samples.shape}")
    if radius <= 0 or not 0 < min_fraction <= 1:
        raise ValueError(f"radius must be > 0 and min_fraction in (0, 1]. "
                         f"Received: radius={radius}, min_fraction={min_fraction}")
    distances = np.linalg.norm(samples[:, None, :] - mode_centres()[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    close = distances[np.arange(len(samples)), nearest] <= radius
    counts = np.bincount(nearest[close], minlength=8)
    return {"counts": counts.tolist(), "covered": int((counts >= min_fraction * len(samples)).sum()),
            "high_quality": float(close.mean())}


def modes_covered(samples, radius: float = 0.1, min_fraction: float = 0.025) -> int:
    """How many of the eight modes ``samples`` cover (:func:`mode_report`'s criterion)."""
    return mode_report(samples, radius, min_fraction)["covered"]


def critic_surface(model, grid: int = 128, extent: float = 2.5):
    """The critic's (or the GAN discriminator's logit) values over a square grid.

    Returns ``(x, y, values)`` with ``x``, ``y`` of length ``grid`` spanning
    ``[-extent, extent]`` and ``values[i, j]`` the score at ``(x[j], y[i])``,
    ready for ``plt.contour(x, y, values)``. Signs: the GAN's discriminator
    gives real points high logits; a WGAN critic, which minimises the
    reference's ``Loss_D = D(real) - D(fake)``, gives them LOW scores.
    """
    critic = model.critic if hasattr(model, "critic") else model.discriminator
    x = y = np.linspace(-extent, extent, grid, dtype="float32")
    xx, yy = np.meshgrid(x, y)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    values = np.asarray(critic(points, training=False)).reshape(grid, grid)
    return x, y, values


def plot_toy(results, num_samples: int = 1000, seed: int = 1, extent: float = 2.5):
    """One panel per trained model: the critic's contours, real points and generated points.

    ``results``: a dict ``{variant or title: model}`` (as returned by
    :func:`train_toy`). Each title gives the modes covered and the
    high-quality fraction (:func:`mode_report`).
    """
    import matplotlib.pyplot as plt

    items = list(results.items())
    fig, axes = plt.subplots(1, len(items), figsize=(4.2 * len(items), 4.4), squeeze=False)
    real = eight_gaussians(num_samples, seed=seed)
    for ax, (name, model) in zip(axes[0], items):
        x, y, values = critic_surface(model, extent=extent)
        contour = ax.contour(x, y, values, levels=12, cmap="viridis", linewidths=0.8)
        fig.colorbar(contour, ax=ax, fraction=0.046, pad=0.04)
        fake = sample_toy(model, num_samples, seed=seed)
        ax.scatter(fake[:, 0], fake[:, 1], s=6, c="tab:green", marker="+", label="generated")
        ax.scatter(real[:, 0], real[:, 1], s=6, c="tab:orange", marker="+", label="real", zorder=3)
        report = mode_report(fake)
        title = TITLES.get(name, name)
        ax.set_title(f"{title}\n{report['covered']}/8 modes, {report['high_quality']:.0%} high quality",
                     fontsize=10)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def _check_variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(map(repr, VARIANTS))}. Received: variant={variant!r}")
