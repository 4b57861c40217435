"""The exercise's networks: the discriminator, the generator, the WGAN critics.

Discriminator (as the exercise asks, after the blog's D): three blocks of
Conv2D -> MaxPooling2D -> ReLU -> Dropout, then flatten, dense layers with
dropout, and one logit out (no sigmoid: the losses work on logits, which is
numerically safer). Heavy dropout, no batch norm (an option adds it, for the
failure demo in notebook 03).

Generator: noise -> Dense -> Reshape to a small image, then blocks of
Unpooling2D -> FullConv2D -> ReLU -> Dropout -> BatchNormalization, in
exactly this order, then an output FullConv2D with tanh.

Size arithmetic of the generator. A block doubles the side and the full
convolution adds ``kernel - 1``: ``h -> 2h + (k - 1)``. After ``n`` blocks
from a start side ``h0`` and a last full convolution with the same kernel,
the side is ``2**n * (h0 + k - 1)``. So for an output side ``S`` the start
side is ``h0 = S / 2**n - (k - 1)``: with the default 3x3 kernels and three
blocks, ``64 = 8 * (6 + 2)``: 6 -> 14 -> 30 -> 62 -> 64; with the blog's 5x5
kernels, ``64 = 8 * (4 + 4)``: 4 -> 12 -> 28 -> 60 -> 64. No cropping is
needed; sizes that do not fit raise a ``ValueError`` that says which do.

WGAN critics (:func:`build_critic`): the exercise's discriminator without
dropout, or the WGAN reference code's DCGAN_D (:func:`build_dcgan_critic`).
The reference's DCGAN_G is :func:`build_dcgan_generator`, with the same
input and output as :func:`build_generator`.

Defaults. The blog's widths (G 256/256/128, D 32/64/96, 5x5 kernels) cost
about 10 GFLOPs per generated image here, which a 2-core CPU trains at about
6 images/s. The defaults (G 128/64/32 and D 32/64/96 with 3x3 kernels,
nearest-neighbour unpooling as the blog's upsampling) are several times
cheaper; BENCHMARKS.md has the measured ratio, and notebook 03 the faces.
"""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

import_tensorflow()

import keras  # noqa: E402
from keras import layers  # noqa: E402

from gan_helpers.layers import FullConv2D, Unpooling2D  # noqa: E402

#: The blog's widths and kernels (D 32/64/96 with 5x5; G 256/256/128 with 5x5).
BLOG_DISCRIMINATOR = {"widths": (32, 64, 96), "kernel_size": 5, "dense_units": (1024,)}
BLOG_GENERATOR = {"widths": (256, 256, 128), "kernel_size": 5, "unpooling": "nearest"}


# %% exported: build_discriminator (notebooks/01_discriminator.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def build_discriminator(image_size: int = 64, widths=(32, 64, 96), kernel_size: int = 3,
                        dense_units=(256,), conv_dropout: float = 0.2, dense_dropout: float = 0.5,
                        batch_norm: bool = False, name: str = "discriminator") -> keras.Model:
    """The exercise's discriminator: images in [-1, 1] -> one real/fake logit.

    The layers, in this order:

    - ``keras.Input((image_size, image_size, 3), name="image")``;
    - one block per entry of ``widths``, block i (from 1) being
      ``Conv2D(width, kernel_size, padding="same")`` -> [``BatchNormalization()``, only when
      ``batch_norm``] -> ``MaxPooling2D(2)`` -> ``ReLU()`` -> ``SpatialDropout2D(conv_dropout)``,
      named ``block{i}_conv``, ``block{i}_batchnorm``, ``block{i}_pool``, ``block{i}_relu``,
      ``block{i}_dropout`` (section 2 reads the maps of ``block1_dropout`` ... ``block3_dropout``);
    - ``Flatten()``;
    - for each entry of ``dense_units``: ``Dense(units)`` -> ``ReLU()`` -> ``Dropout(dense_dropout)``;
    - ``Dense(1, name="logit")`` with no activation: one logit per image, real if > 0.

    Args:
        image_size: side of the square RGB input.
        widths: filters of the conv blocks (three for the exercise).
        kernel_size: side of every conv kernel.
        dense_units: widths of the dense layers before the logit.
        conv_dropout: spatial dropout rate after each conv block (whole feature maps are dropped,
            as in the blog).
        dense_dropout: dropout rate after each dense layer.
        batch_norm: add BatchNormalization after each convolution (for the exercises; the
            exercise's D has none).

    Returns:
        ``keras.Model(inputs, logit, name=name)``: input ``(None, S, S, 3)``, output ``(None, 1)``.

    Raises:
        ValueError: a dropout rate outside [0, 1) (``check_rate(conv_dropout, "conv_dropout")``
            does it), or an ``image_size`` that ``2 ** len(widths)`` does not divide (one max-pool
            per block), with a message that says which sizes work.

    Hints:
        - Keras' functional API: ``x = layers.Conv2D(...)(x)``, one layer after the other, then
          ``keras.Model(inputs, outputs)``.
        - 'same' padding keeps the size, so only the max-pools halve it: 64 -> 32 -> 16 -> 8.
        - With the default arguments the model has 1,648,161 parameters; ``model.summary()`` shows
          where they are.
    """
    check_rate(conv_dropout, "conv_dropout")
    check_rate(dense_dropout, "dense_dropout")
    if image_size % (2 ** len(widths)):
        raise ValueError(f"image_size must be divisible by 2**len(widths)={2 ** len(widths)} "
                         f"(one max-pool per block). Received: image_size={image_size}")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = inputs
    for i, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, kernel_size, padding="same", name=f"block{i}_conv")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"block{i}_batchnorm")(x)
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.SpatialDropout2D(conv_dropout, name=f"block{i}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.ReLU(name=f"dense{i}_relu")(x)
        x = layers.Dropout(dense_dropout, name=f"dense{i}_dropout")(x)
    logit = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, logit, name=name)
# %% end of exported code


def generator_start_size(image_size: int, num_blocks: int, kernel_size: int) -> int:
    """The side of the first small image so that the output is exactly ``image_size``."""
    scale = 2 ** num_blocks
    start = image_size / scale - (kernel_size - 1)
    if start != int(start) or start < 1:
        raise ValueError(
            f"image_size={image_size} cannot be reached with {num_blocks} blocks of 5x5-style full convolutions "
            f"of kernel_size={kernel_size}: the output side is 2**blocks * (start + kernel_size - 1), so "
            f"image_size must be a multiple of {scale} larger than {scale * (kernel_size - 1)}.")
    return int(start)


# %% exported: build_generator (notebooks/02_generator.ipynb) -- edit it there, then run
#    python -m gan_helpers.export
def build_generator(latent_dim: int = 100, image_size: int = 64, widths=(128, 64, 32), kernel_size: int = 3,
                    unpooling: str = "nearest", dropout: float = 0.1, start_channels: int | None = None,
                    batch_norm: bool = True, batch_norm_momentum: float = 0.9,
                    name: str = "generator") -> keras.Model:
    """The exercise's generator: noise ``(latent_dim,)`` -> image ``(S, S, 3)`` in [-1, 1].

    The layers, in this order:

    - ``keras.Input((latent_dim,), name="noise")``;
    - the small image: ``Dense(h0 * h0 * c0, name="project")`` -> ``ReLU(name="project_relu")`` ->
      [``BatchNormalization(momentum=batch_norm_momentum, name="project_batchnorm")``, when
      ``batch_norm``] -> ``Reshape((h0, h0, c0), name="small_image")``, where
      ``h0 = generator_start_size(image_size, len(widths), kernel_size)`` and ``c0`` is
      ``start_channels`` (default ``2 * widths[0]``);
    - one block per entry of ``widths``, block i (from 1) being
      ``Unpooling2D(2, mode=unpooling)`` -> ``FullConv2D(width, kernel_size)`` -> ``ReLU()`` ->
      ``Dropout(dropout)`` -> [``BatchNormalization(momentum=batch_norm_momentum)``, when
      ``batch_norm``], named ``block{i}_unpool``, ``block{i}_deconv``, ``block{i}_relu``,
      ``block{i}_dropout``, ``block{i}_batchnorm``;
    - ``FullConv2D(3, kernel_size, activation="tanh", name="to_rgb")``: the image, in [-1, 1].

    Args:
        latent_dim: length of the noise vector.
        image_size: output side (32, 64, 128 with the defaults).
        widths: filters of the unpool/deconvolution blocks (one block each).
        kernel_size: side of every full-convolution kernel.
        unpooling: ``"zeros"`` or ``"nearest"`` (see ``Unpooling2D``).
        dropout: dropout rate in each block.
        start_channels: channels of the first small image (default: twice the first width).
        batch_norm: end each block with BatchNormalization (the exercise's design); ``False``
            only for the comparison of section 6.
        batch_norm_momentum: how slowly the moving statistics (used when sampling) follow the
            batches: 0.9, as Torch's default in the blog, not Keras' 0.99, so that a generator
            sampled after a few hundred steps already uses fitting statistics.

    Returns:
        ``keras.Model(noise, image, name=name)``: input ``(None, latent_dim)``, output
        ``(None, image_size, image_size, 3)``.

    Raises:
        ValueError: a dropout rate outside [0, 1) (``check_rate(dropout, "dropout")``), a
            ``latent_dim`` below 1, or an ``image_size`` no start size reaches
            (``generator_start_size`` raises it for you).

    Hints:
        - A block maps a side h to 2h + (k - 1); with the defaults: 6 -> 14 -> 30 -> 62 -> 64.
        - Print ``model.summary()``: every block's output side should follow that arithmetic.
        - With the default arguments the dense and full-convolution layers hold 1,318,979
          weights (the project layer 930,816 of them).
    """
    check_rate(dropout, "dropout")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1. Received: latent_dim={latent_dim}")
    start = generator_start_size(image_size, len(widths), kernel_size)
    start_channels = start_channels or 2 * widths[0]
    noise = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(start * start * start_channels, name="project")(noise)
    x = layers.ReLU(name="project_relu")(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=batch_norm_momentum, name="project_batchnorm")(x)
    x = layers.Reshape((start, start, start_channels), name="small_image")(x)
    for i, width in enumerate(widths, start=1):
        x = Unpooling2D(2, mode=unpooling, name=f"block{i}_unpool")(x)
        x = FullConv2D(width, kernel_size, name=f"block{i}_deconv")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.Dropout(dropout, name=f"block{i}_dropout")(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"block{i}_batchnorm")(x)
    image = FullConv2D(3, kernel_size, activation="tanh", name="to_rgb")(x)
    return keras.Model(noise, image, name=name)
# %% end of exported code


def build_critic(image_size: int = 64, architecture: str = "exercise", **kwargs) -> keras.Model:
    """A WGAN critic: a real-valued score, no squashing.

    Args:
        image_size: side of the square RGB input.
        architecture: ``"exercise"``: the exercise's discriminator (its
            output is already an unsquashed logit), *without dropout* unless
            ``conv_dropout``/``dense_dropout`` are given: dropout makes the
            critic's estimate of the Wasserstein distance noisy, and the
            reference critics have none. ``"dcgan"``: the WGAN reference
            code's DCGAN_D (:func:`build_dcgan_critic`).
        **kwargs: the chosen builder's arguments: :func:`build_discriminator`'s
            (``widths``, ``kernel_size``, ``dense_units``, ``batch_norm`` (off),
            ...) or :func:`build_dcgan_critic`'s (``width``, the reference's
            ndf, and ``batch_norm``).

    Batch norm: the reference trains the *clipped* WGAN with batch norm in
    DCGAN_D (``batch_norm=True``, the default of ``"dcgan"``); WGAN-GP must
    not have it (``batch_norm=False``): the gradient penalty is taken per
    sample, and batch norm makes each score depend on the whole batch. The
    caller chooses; :func:`gan_helpers.wgan.build_wgan` does not change it.
    """
    kwargs.setdefault("name", "critic")
    if architecture == "exercise":
        kwargs = {"conv_dropout": 0.0, "dense_dropout": 0.0, **kwargs}
        return build_discriminator(image_size, **kwargs)
    if architecture == "dcgan":
        return build_dcgan_critic(image_size, **kwargs)
    raise ValueError(f"architecture must be one of {', '.join(map(repr, CRITICS))}. "
                     f"Received: architecture={architecture!r}")


def _dcgan_weights():
    """The reference's ``weights_init``: conv weights N(0, 0.02)."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def _dcgan_batch_norm(name):
    """BatchNorm as PyTorch's ``BatchNorm2d`` defaults and ``weights_init``: gamma N(1, 0.02), beta 0.

    PyTorch's momentum 0.1 (weight of the new batch) is Keras' 0.9; its epsilon is 1e-5.
    """
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                     gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
                                     beta_initializer="zeros", name=name)


def _check_dcgan_size(image_size, width):
    if image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of 2, at least 16 (the reference asserts a multiple of 16, "
                         f"and its layers halve or double the side down to or up from 4). "
                         f"Received: image_size={image_size}")
    if width < 1:
        raise ValueError(f"width must be >= 1. Received: width={width}")


def build_dcgan_critic(image_size: int = 64, width: int = 64, batch_norm: bool = True,
                       name: str = "critic") -> keras.Model:
    """The WGAN reference code's DCGAN_D (``models/dcgan.py``): images -> one score.

    Conv 4x4 stride 2 pad 1 (``width`` = ndf channels) -> LeakyReLU 0.2, then
    [Conv 4x4 stride 2 pad 1 (channels double) -> BatchNorm -> LeakyReLU 0.2]
    down to 4x4, then Conv 4x4 valid to one channel: 64 -> 32 -> 16 -> 8 -> 4
    -> 1. No biases; weights N(0, 0.02), batch-norm gammas N(1, 0.02).
    Keras' ``padding="same"`` with a 4x4 kernel and stride 2 pads one pixel on
    each side, as the reference's ``padding=1``. The reference averages the
    scores over the batch inside the network; here the network returns one
    score per image, ``(batch, 1)``, and the losses take the mean.

    Args:
        image_size: side of the square RGB input: 16, 32, 64, 128, ...
        width: channels of the first convolution (the reference's ndf).
        batch_norm: batch norm after every convolution but the first and the
            last (the reference's DCGAN_D, for clipped WGAN); ``False`` is
            its ``DCGAN_D_nobn``, the choice for WGAN-GP.
    """
    _check_dcgan_size(image_size, width)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Conv2D(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_dcgan_weights(),
                      name="initial_conv")(inputs)
    x = layers.LeakyReLU(0.2, name="initial_relu")(x)
    size, channels, i = image_size // 2, width, 1
    while size > 4:
        channels *= 2
        x = layers.Conv2D(channels, 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=_dcgan_weights(), name=f"pyramid{i}_conv")(x)
        if batch_norm:
            x = _dcgan_batch_norm(f"pyramid{i}_batchnorm")(x)
        x = layers.LeakyReLU(0.2, name=f"pyramid{i}_relu")(x)
        size, i = size // 2, i + 1
    x = layers.Conv2D(1, 4, padding="valid", use_bias=False, kernel_initializer=_dcgan_weights(),
                      name="final_conv")(x)
    score = layers.Flatten(name="score")(x)
    return keras.Model(inputs, score, name=name)


#: The old private name of :func:`build_dcgan_critic`.
_dcgan_critic = build_dcgan_critic


def build_dcgan_generator(latent_dim: int = 100, image_size: int = 64, width: int = 64, batch_norm: bool = True,
                          name: str = "generator") -> keras.Model:
    """The WGAN reference code's DCGAN_G (``models/dcgan.py``): noise ``(latent_dim,)`` -> ``(S, S, 3)`` in [-1, 1].

    The noise vector is reshaped to a 1x1 image of ``latent_dim`` channels,
    then: ConvTranspose 4x4 stride 1 to 4x4 x (``width`` * S/8) -> BatchNorm
    -> ReLU; [ConvTranspose 4x4 stride 2 pad 1 (channels halve) -> BatchNorm
    -> ReLU] until S/2; ConvTranspose 4x4 stride 2 pad 1 to 3 channels ->
    tanh. No biases; weights N(0, 0.02), batch-norm gammas N(1, 0.02) (the
    reference's ``weights_init``). Keras' ``Conv2DTranspose`` with
    ``padding="same"``, kernel 4 and stride 2 is PyTorch's ``padding=1``
    (output side exactly doubles). Its input and output are those of
    :func:`build_generator`, so either generator fits every model here.

    Args:
        latent_dim: length of the noise vector (the reference's nz, 100).
        image_size: output side S: 16, 32, 64, 128, ... (the reference's isize).
        width: channels before the last layer (the reference's ngf); the
            first layer has ``width * S / 8``.
        batch_norm: ``False`` is the reference's ``DCGAN_G_nobn``.
    """
    _check_dcgan_size(image_size, width)
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1. Received: latent_dim={latent_dim}")
    channels = width * image_size // 8
    noise = keras.Input((latent_dim,), name="noise")
    x = layers.Reshape((1, 1, latent_dim), name="noise_image")(noise)
    x = layers.Conv2DTranspose(channels, 4, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=_dcgan_weights(), name="initial_convt")(x)
    if batch_norm:
        x = _dcgan_batch_norm("initial_batchnorm")(x)
    x = layers.ReLU(name="initial_relu")(x)
    size, i = 4, 1
    while size < image_size // 2:
        channels //= 2
        x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_dcgan_weights(), name=f"pyramid{i}_convt")(x)
        if batch_norm:
            x = _dcgan_batch_norm(f"pyramid{i}_batchnorm")(x)
        x = layers.ReLU(name=f"pyramid{i}_relu")(x)
        size, i = size * 2, i + 1
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_dcgan_weights(),
                               name="final_convt")(x)
    image = layers.Activation("tanh", name="final_tanh")(x)
    return keras.Model(noise, image, name=name)


#: Generators by architecture name (the run setting ``generator_architecture``): each takes
#: ``latent_dim`` and ``image_size`` plus its own keyword arguments, and maps ``(latent_dim,)`` noise
#: to an ``(S, S, 3)`` image in [-1, 1].
GENERATORS = {"exercise": build_generator, "dcgan": build_dcgan_generator}
#: Critic architectures of :func:`build_critic`.
CRITICS = ("exercise", "dcgan")


def feature_model(model: keras.Model, layer_names) -> keras.Model:
    """A model with the same input whose outputs are the named layers' outputs."""
    return keras.Model(model.input, [model.get_layer(name).output for name in layer_names])


def check_rate(rate, name):
    """A dropout rate must be in [0, 1): a clear error otherwise (used by the builders)."""
    if not 0 <= rate < 1:
        raise ValueError(f"{name} must be in [0, 1). Received: {name}={rate}")


def layer_costs(model: keras.Model) -> list[dict]:
    """Parameters and forward FLOPs per image for every layer (a multiply-add counts as 2).

    Convolutions (``Conv2D``, ``FullConv2D``, ``Conv2DTranspose``) and dense
    layers are counted exactly (bias adds included); element-wise layers
    (activations, dropout, batch norm, pooling, unpooling) are counted as one
    FLOP per output value, which is small next to the convolutions.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        out_shape = layer.output.shape
        outputs = 1
        for dim in out_shape[1:]:
            outputs *= dim
        in_channels = layer.input.shape[-1]
        if isinstance(layer, (keras.layers.Conv2D, FullConv2D, keras.layers.Conv2DTranspose)):
            kh, kw = layer.kernel_size
            if isinstance(layer, keras.layers.Conv2DTranspose):
                # Every input value is multiplied by the whole kernel.
                h, w = layer.input.shape[1:3]
                macs = h * w * kh * kw * in_channels * layer.filters
            else:
                macs = outputs * kh * kw * in_channels
            flops = 2 * macs + (outputs if layer.use_bias else 0)
        elif isinstance(layer, keras.layers.Dense):
            flops = 2 * in_channels * layer.units + layer.units
        elif isinstance(layer, (keras.layers.Reshape, keras.layers.Flatten)):
            flops = 0
        else:
            flops = outputs
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output": tuple(out_shape[1:]),
                     "params": layer.count_params(), "flops": int(flops)})
    return rows


def cost_table(model: keras.Model) -> str:
    """``layer_costs`` as aligned text, with totals."""
    rows = layer_costs(model)
    lines = [f"{'layer':<20} {'type':<20} {'output':<16} {'params':>10} {'MFLOPs':>9}"]
    for r in rows:
        lines.append(f"{r['layer']:<20} {r['type']:<20} {str(r['output']):<16} {r['params']:>10,} "
                     f"{r['flops'] / 1e6:>9.2f}")
    total_params = sum(r["params"] for r in rows)
    total = sum(r["flops"] for r in rows)
    lines.append(f"{'total':<58} {total_params:>10,} {total / 1e6:>9.2f}")
    return "\n".join(lines)


def total_flops(model: keras.Model) -> int:
    """Forward FLOPs per image of the whole model."""
    return sum(r["flops"] for r in layer_costs(model))
