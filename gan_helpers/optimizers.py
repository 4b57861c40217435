"""One home for the optimisers and learning rates: a recipe per model that everything reads.

``GAN.compile``, the WGAN's reference optimisers, the run factory and the run settings' defaults
(:data:`gan_helpers.runs.MODEL_DEFAULTS`, :data:`~gan_helpers.runs.REFERENCE_RATES`,
:data:`~gan_helpers.runs.BLOG_RECIPE`) take their optimiser and rates from :data:`RECIPES`, so each
rate is written once (tests/test_run_settings.py finds a rate literal written anywhere else).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from gan_helpers._quiet import import_tensorflow

import_tensorflow()

import keras  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A model's optimiser (a function of the learning rate) and its rates.

    ``reference_rate``: the rate of the model's source (the blog's for the GAN, the papers' for the
    WGANs), the rate of a learning rate given as None. ``default_rate``: the workbook's own default,
    where it differs (None: the reference rate).
    """

    optimizer: Callable[[float], keras.optimizers.Optimizer]
    reference_rate: float
    default_rate: float | None = None


@keras.saving.register_keras_serializable(package="gan_helpers")
class TorchRMSprop(keras.optimizers.RMSprop):
    """PyTorch's ``optim.RMSprop`` (no momentum, not centred) in Keras: ``eps`` is added to the root.

    PyTorch updates ``w -= lr * g / (sqrt(v) + eps)`` with ``alpha=0.99, eps=1e-8``;
    Keras' RMSprop adds its epsilon (default 1e-7) *inside* the root, ``w -= lr * g /
    sqrt(v + eps)``, with ``rho=0.9``. The two differ wherever the running RMS of a
    gradient is below about 3e-4 (Keras' steps are then smaller), which is where a
    clipped critic's gradients are: its weights are at most 0.01.
    """

    def __init__(self, learning_rate=None, rho=0.99, epsilon=1e-8, **kwargs):
        learning_rate = RECIPES["wgan"].reference_rate if learning_rate is None else learning_rate
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, **kwargs)
        if self.momentum or self.centered:
            raise ValueError("TorchRMSprop has no momentum and is not centred (the reference uses neither).")

    def update_step(self, gradient, variable, learning_rate):
        lr = keras.ops.cast(learning_rate, variable.dtype)
        gradient = keras.ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, self.rho * velocity + (1 - self.rho) * keras.ops.square(gradient))
        self.assign_sub(variable, lr * gradient / (keras.ops.sqrt(velocity) + self.epsilon))


def _blog_rmsprop(learning_rate: float) -> keras.optimizers.Optimizer:
    """The blog's optimiser: Keras' RMSprop with decay 0.9."""
    return keras.optimizers.RMSprop(learning_rate, rho=0.9)


def _reference_adam(learning_rate: float) -> keras.optimizers.Optimizer:
    """WGAN-GP's Adam (beta1 0, beta2 0.9); TensorFlow 1's epsilon 1e-8 (Keras' default is 1e-7)."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.9, epsilon=1e-8)


#: Each model's optimiser and rates: the GAN trains at half the blog's rate by default (BENCHMARKS.md,
#: "Recipes"); the WGANs keep their papers' (RMSProp 5e-5 as PyTorch computes it; Adam 1e-4).
RECIPES = {
    "gan": Recipe(_blog_rmsprop, reference_rate=1e-3, default_rate=5e-4),
    "wgan": Recipe(TorchRMSprop, reference_rate=5e-5),
    "wgan-gp": Recipe(_reference_adam, reference_rate=1e-4),
}


def make(model: str, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """``model``'s optimiser at ``learning_rate`` (None: the model's reference rate)."""
    recipe = RECIPES[model]
    return recipe.optimizer(recipe.reference_rate if learning_rate is None else learning_rate)
