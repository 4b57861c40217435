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

    def call(self, inputs):
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

    def call(self, inputs):
        kh, kw = self.kernel_size
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
