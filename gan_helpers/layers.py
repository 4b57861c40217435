"""The exercise's two layers with "no obvious inverse": unpooling and deconvolution.

``Unpooling2D`` enlarges a feature map by an integer factor. In ``"zeros"``
mode each value goes to the top-left corner of a ``size x size`` block of
zeros, as in the unpooling of Dosovitskiy et al. ("Learning to Generate
Chairs", 2015); in ``"nearest"`` mode each value is repeated over its block.

``FullConv2D`` is the exercise's "deconvolution": a plain convolution with
*full* padding (``kernel_size - 1`` zeros on every side), so the output is
``kernel_size - 1`` pixels larger than the input, where a 'valid'
convolution would make it that much smaller.

Together they are a transposed convolution: zeros-unpooling by 2 followed by
a full convolution with kernel ``w`` computes exactly what
``Conv2DTranspose(strides=2, padding="valid", output_padding=1)`` computes
with the spatially flipped kernel (see ``transposed_kernel`` and the test).

Both follow the Keras 3 layer contract: registered for serialisation,
``compute_output_shape`` that keeps unknown sizes, ``get_config`` with every
constructor argument, ``call`` written with ``keras.ops`` only.
"""

from __future__ import annotations

from gan_helpers._quiet import import_tensorflow

import_tensorflow()

import keras  # noqa: E402
from keras import ops  # noqa: E402

UNPOOLING_MODES = ("zeros", "nearest")


def _positive_int_pair(value, name):
    """An int or a pair of ints, each >= 1, as a tuple of two ints."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ValueError(f"`{name}` must be a positive integer or a pair of positive integers. Received: {name}={value!r}")
    return pair


@keras.saving.register_keras_serializable(package="gan_helpers")
class Unpooling2D(keras.layers.Layer):
    """Enlarge ``(batch, height, width, channels)`` maps by ``size``.

    Args:
        size: int or pair ``(rows, cols)``: the enlargement factor.
        mode: ``"zeros"`` puts each value in the top-left corner of a block of
            zeros; ``"nearest"`` repeats it over the block.
    """

    def __init__(self, size=2, mode="zeros", **kwargs):
        super().__init__(**kwargs)
        self.size = _positive_int_pair(size, "size")
        if mode not in UNPOOLING_MODES:
            raise ValueError(f"`mode` must be one of {UNPOOLING_MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, cols = self.size
        return (batch, None if height is None else height * rows, None if width is None else width * cols, channels)

    #: Set by :func:`fuse_unpooling`: the next FullConv2D unpools as it convolves, so this passes through.
    fused = False

    def call(self, inputs):
        if self.fused:
            return inputs
        rows, cols = self.size
        if self.mode == "nearest":
            return ops.repeat(ops.repeat(inputs, rows, axis=1), cols, axis=2)
        shape = ops.shape(inputs)
        height, width, channels = shape[1], shape[2], shape[3]
        # (B, H, W, C) -> (B, H, 1, W, 1, C), pad the two new axes with zeros after the value,
        # then fold them back: each value lands in the top-left corner of its block.
        expanded = ops.expand_dims(ops.expand_dims(inputs, 2), 4)
        padded = ops.pad(expanded, [[0, 0], [0, 0], [0, rows - 1], [0, 0], [0, cols - 1], [0, 0]])
        return ops.reshape(padded, (-1, height * rows, width * cols, channels))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "mode": self.mode}


@keras.saving.register_keras_serializable(package="gan_helpers")
class FullConv2D(keras.layers.Layer):
    """Convolution with 'full' padding: the output grows by ``kernel_size - 1``.

    Args:
        filters: number of output channels.
        kernel_size: int or pair.
        strides: int or pair (the output size is then
            ``floor((n + kernel - 2) / stride) + 1``).
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, kernel_constraint,
        bias_constraint: as in ``keras.layers.Conv2D``.
    """

    def __init__(self, filters, kernel_size, strides=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"`filters` must be a positive integer. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = _positive_int_pair(kernel_size, "kernel_size")
        self.strides = _positive_int_pair(strides, "strides")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs must be known. Received: input_shape={input_shape}")
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, channels, self.filters), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def _output_length(self, length, kernel, stride):
        if length is None:
            return None
        return (length + kernel - 2) // stride + 1

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (batch, self._output_length(height, kh, sh), self._output_length(width, kw, sw), self.filters)

    #: Set by :func:`fuse_unpooling`: the unpooling mode (``"zeros"``, ``"nearest"``) of the Unpooling2D by 2
    #: before this layer, which this layer then computes too, as one stride-2 transposed convolution.
    fused_unpooling = None

    def call(self, inputs):
        kh, kw = self.kernel_size
        if self.fused_unpooling is not None:
            outputs = unpool_and_convolve(inputs, self.kernel, self.fused_unpooling)
        else:
            padded = ops.pad(inputs, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])
            outputs = ops.conv(padded, self.kernel, strides=self.strides, padding="valid")
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        }


def transposed_kernel(kernel):
    """The ``Conv2DTranspose`` kernel equal to zeros-unpooling + ``FullConv2D(kernel)``.

    A ``Conv2D``/``FullConv2D`` kernel is ``(kh, kw, in, out)``; a
    ``Conv2DTranspose`` kernel is ``(kh, kw, out, in)`` and is applied
    flipped, so the same computation needs the kernel flipped in both
    spatial axes and its channel axes swapped.
    """
    return ops.transpose(ops.flip(ops.flip(kernel, 0), 1), (0, 1, 3, 2))


def _unpool_matrix(k: int, mode: str):
    """Per axis, how the ``k`` taps of a full convolution after unpooling by 2 add up to the ``k + 1`` (nearest)
    or ``k`` (zeros) taps of the equal stride-2 transposed convolution: ``K[t] = sum_j A[t, j] w[j]``.

    With ``u[2i] = u[2i + 1] = x[i]`` (nearest), ``y[n] = sum_j w[j] u[n + j - k + 1]`` receives ``x[i]``
    through ``w[k - 1 - t]`` and ``w[k - t]``, ``t = n - 2i``; with zeros (``u[2i + 1] = 0``) through
    ``w[k - 1 - t]`` alone.
    """
    import numpy as np

    taps = k + 1 if mode == "nearest" else k
    matrix = np.zeros((taps, k), np.float32)
    for t in range(taps):
        for j in ((k - 1 - t, k - t) if mode == "nearest" else (k - 1 - t,)):
            if 0 <= j < k:
                matrix[t, j] = 1.0
    return matrix


def unpool_and_convolve(inputs, kernel, mode: str = "nearest"):
    """Unpooling by 2 (``mode``) then a full convolution with ``kernel``, computed as one transposed convolution.

    Equal to ``FullConv2D`` (without bias) applied to ``Unpooling2D(2, mode)(inputs)``, with about a quarter
    of the multiply-adds for a 3x3 kernel in nearest mode: the zeros or repeated values the unpooling
    inserts are never multiplied. The kernel of the transposed convolution is computed from ``kernel``
    (``(kh, kw, in, out)``) in every call, so ``kernel`` stays the variable that trains and is saved.
    """
    import tensorflow as tf

    kh, kw = int(kernel.shape[0]), int(kernel.shape[1])
    kernel = ops.cast(kernel, inputs.dtype)
    rows = ops.convert_to_tensor(_unpool_matrix(kh, mode), dtype=inputs.dtype)
    cols = ops.convert_to_tensor(_unpool_matrix(kw, mode), dtype=inputs.dtype)
    # K[t, u, in, out] = sum_ij rows[t, i] cols[u, j] w[i, j, in, out]; conv2d_transpose wants (t, u, out, in).
    fused = ops.einsum("ti,uj,ijab->tuba", rows, cols, kernel)
    shape = ops.shape(inputs)
    output_shape = ops.stack([shape[0], 2 * shape[1] + kh - 1, 2 * shape[2] + kw - 1, int(kernel.shape[-1])])
    return tf.nn.conv2d_transpose(inputs, fused, output_shape, strides=2, padding="VALID")


def fuse_unpooling(model, enable: bool = True) -> int:
    """Compute each ``Unpooling2D(2)`` directly followed by a ``FullConv2D`` (stride 1) as one transposed convolution.

    The model keeps its layers, variables and saved form (the exercise's architecture): the unpooling layer
    passes its input through, and the convolution computes both (:func:`unpool_and_convolve`). Nothing
    changes but the speed and the float rounding. ``enable=False`` undoes it. Returns how many pairs are
    fused. Set it before the model is traced (before training starts).
    """
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += fuse_unpooling(layer, enable)
    chain = model.layers
    for before, after in zip(chain, chain[1:]):
        if not (isinstance(before, Unpooling2D) and isinstance(after, FullConv2D)):
            continue
        if before.size != (2, 2) or after.strides != (1, 1) or _consumers(model, before) != [after]:
            continue
        before.fused = enable
        after.fused_unpooling = before.mode if enable else None
        count += 1
    return count


def _consumers(model, layer):
    """The layers of ``model`` that take ``layer``'s output as input."""
    found = []
    for other in model.layers:
        try:
            inputs = other.input
        except (AttributeError, ValueError):
            continue
        if any(tensor is layer.output for tensor in (inputs if isinstance(inputs, (list, tuple)) else [inputs])):
            found.append(other)
    return found
