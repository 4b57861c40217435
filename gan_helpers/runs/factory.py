"""The one model factory: the GAN, the WGAN or the WGAN-GP that a run's settings describe, compiled."""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402

from gan_helpers import balance, layers, models, optimizers, training, wgan  # noqa: E402
from gan_helpers.runs.settings import PRECISIONS, resolve_precision, resolved_rates  # noqa: E402


def build(config: dict):
    """The GAN (compiled) that ``config`` describes.

    The models are built under the dtype policy of ``config["precision"]``
    (:data:`PRECISIONS`), set only while they are built: Keras reads the
    global policy when a layer is created, so the previous policy is put
    back afterwards and nothing built later is affected. Under
    ``"mixed_bfloat16"`` Keras keeps every variable in float32 (layers cast
    their weights to bfloat16 when they compute), so the optimizers' state is
    float32 too; the outputs of G and D are cast back to float32 by a
    final float32 ``Activation("linear")`` (Keras' mixed-precision advice),
    so the losses and success rates of the training steps are float32.
    """
    previous = keras.config.dtype_policy()
    precision, _ = resolve_precision(config.get("precision", "float32"))  # a config not from default_config
    keras.config.set_dtype_policy(PRECISIONS[precision])
    try:
        return _build(config)
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_output(model):
    """``model`` with its output cast to float32 by one more layer (no variables: the checkpoint is unchanged)."""
    if model.layers[-1].compute_dtype == "float32":
        return model
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.output)
    return keras.Model(model.input, output, name=model.name)


def _builder_call(builder, setting: str, *args, **kwargs):
    """``builder(*args, **kwargs)``, with wrong arguments from a run's settings named in one line."""
    import inspect

    parameters = inspect.signature(builder).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(kwargs) - set(parameters))
        if unknown:
            raise ValueError(f"{setting} has no argument {', '.join(map(repr, unknown))}; "
                             f"{builder.__name__} takes "
                             f"{', '.join(p for p in parameters if p not in ('image_size', 'latent_dim'))}.")
    try:
        return builder(*args, **kwargs)
    except (TypeError, IndexError, KeyError) as error:
        raise ValueError(f"{setting} {kwargs} does not fit {builder.__name__} ({type(error).__name__}: "
                         f"{error}).") from None


def _build(config: dict):
    keras.utils.set_random_seed(config["seed"])
    size, latent = config["image_size"], config["latent_dim"]
    build_generator = models.GENERATORS[config["generator_architecture"]]
    generator = _builder_call(build_generator, "generator", latent_dim=latent, image_size=size, **config["generator"])
    if config.get("fused"):
        layers.fuse_unpooling(generator)  # same variables and saved form; the blocks as transposed convolutions
    generator = _float32_output(generator)
    rates = resolved_rates(config)
    d_lr, g_lr = rates["d_learning_rate"], rates["g_learning_rate"]
    if config["model"] in ("wgan", "wgan-gp"):
        critic_kwargs = dict(config["discriminator"])
        if config["critic"] == "dcgan":  # the reference: batch norm with clipping; WGAN-GP must not have it
            critic_kwargs.setdefault("batch_norm", config["model"] == "wgan")
        critic = _float32_output(_builder_call(models.build_critic, "discriminator", size,
                                               architecture=config["critic"], **critic_kwargs))
        return wgan.build_wgan(generator, critic, config["model"], seed=config["seed"],
                               d_learning_rate=d_lr, g_learning_rate=g_lr)
    discriminator = _float32_output(_builder_call(models.build_discriminator, "discriminator", image_size=size,
                                                  **config["discriminator"]))
    rule_kwargs = {"margin": config["margin"]} if config["balance"] == "margin" else {}
    gan = training.GAN(generator, discriminator, balance.get(config["balance"], **rule_kwargs),
                       seed=config["seed"], d_batch=config["d_batch"])
    gan.compile(optimizers.make("gan", d_lr), optimizers.make("gan", g_lr))
    return gan

