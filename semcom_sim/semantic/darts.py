"""DARTS cells in Keras 3: the operation set, the mixed operation of the search, and the cells and
network that a genotype derives (RKD-SC's KDL-DARTS; ``docs/rkd_sc.md``).

A cell has two input nodes (the outputs of the two previous cells, each brought to ``C`` channels by a
1x1 convolution, or by a factorised reduction when the previous cell halved the image) and ``nodes``
intermediate nodes; node ``i`` sums one operation on each of its inputs (every earlier node). The cell's
output concatenates its intermediate nodes (``nodes * C`` channels). A reduction cell applies its
input-node operations with stride 2 and the network doubles ``C`` there. During the search every edge
carries every operation, weighted by ``softmax(alpha)`` of its cell type (:class:`MixedOp`); a genotype
keeps, per node, the two strongest incoming edges with their strongest operation other than ``none``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

__all__ = ["OPS", "Cell", "MixedOp", "Network", "SearchedBackbone", "depthwise_conv", "make_op", "max_pool",
           "num_edges", "use_window_views"]

#: The operation set: DARTS's, without the 5x5 convolutions (sized for the 2-core CPU).
OPS: tuple[str, ...] = ("none", "skip", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "dil_conv_3x3")


def _windows(x, kernel: int, stride: int, dilation: int, pad_value: float):
    """The ``kernel x kernel`` shifted views of ``x`` [batch, H, W, C] that a ``same``-padded window
    operation with ``stride`` and ``dilation`` combines, as TensorFlow places them (``pad_value`` outside).

    Window operations written as sums or maxima of these views compile to fused element-wise code:
    XLA on the CPU runs TensorFlow's depthwise convolution about 40x and max pooling's gradient about 18x
    slower than without XLA (``benchmarks/RESULTS.md``, "XLA and the DARTS operations").
    """
    height, width = int(x.shape[1]), int(x.shape[2])
    span = dilation * (kernel - 1) + 1
    pads, outs = [], []
    for size in (height, width):
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        pads.append((total // 2, total - total // 2))
        outs.append(out)
    padded = ops.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=pad_value)
    for i in range(kernel):
        for j in range(kernel):
            top, left = i * dilation, j * dilation
            yield (i, j), padded[:, top:top + (outs[0] - 1) * stride + 1:stride,
                                 left:left + (outs[1] - 1) * stride + 1:stride, :]


def depthwise_conv(x, depthwise_kernel, stride: int = 1, dilation: int = 1):
    """``same``-padded depthwise convolution of ``x`` [batch, H, W, C] with ``depthwise_kernel``
    [k, k, C, 1], as the sum of the kernel's taps times the shifted views (:func:`_windows`); equal to
    ``keras.layers.DepthwiseConv2D`` with those strides and dilation (up to float rounding).

    Output: [batch, ceil(H / stride), ceil(W / stride), C].
    """
    kernel = int(depthwise_kernel.shape[0])
    total = None
    for (i, j), view in _windows(x, kernel, stride, dilation, 0.0):
        term = view * depthwise_kernel[i, j, :, 0]
        total = term if total is None else total + term
    return total


def max_pool(x, size: int = 3, stride: int = 1):
    """``same``-padded ``size x size`` max pooling of ``x`` [batch, H, W, C] as the maximum of the shifted
    views (:func:`_windows`); equal to ``keras.layers.MaxPooling2D``. Output: [batch, ceil(H / stride),
    ceil(W / stride), C]."""
    out = None
    for _, view in _windows(x, size, stride, 1, float("-inf")):
        out = view if out is None else ops.maximum(out, view)
    return out


def use_window_views(layer: keras.layers.Layer, views: bool) -> keras.layers.Layer:
    """Makes every depthwise convolution and max pooling inside ``layer`` use the shifted views
    (``views=True``, the default of every operation: fast under XLA) or TensorFlow's own kernels
    (``False``: fast without XLA, as the search runs by default). The two give the same outputs; the
    choice is not part of a layer's config. Returns ``layer``."""
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        if isinstance(sub, (ReLUConvBN, Pool)):
            sub.window_views = bool(views)
    return layer


def num_edges(nodes: int) -> int:
    """Edges of a cell with ``nodes`` intermediate nodes: node ``i`` has ``2 + i`` inputs."""
    return sum(2 + i for i in range(nodes))


@keras.saving.register_keras_serializable(package="semcom_sim")
class Zero(keras.layers.Layer):
    """The ``none`` operation: zeros of the (strided) output shape."""

    def __init__(self, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, x):
        return ops.zeros_like(x[:, ::self.stride, ::self.stride, :])

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="semcom_sim")
class ReLUConvBN(keras.layers.Layer):
    """ReLU -> (depthwise ``kernel`` x ``kernel`` with ``dilation``, if ``kernel > 1``) -> 1x1 convolution to
    ``channels`` -> batch norm; ``stride`` 2 halves the image (after the dilated depthwise convolution,
    by keeping every second pixel, since TensorFlow does not stride dilated convolutions).

    Input: [batch, H, W, C_in] float32. Output: [batch, ceil(H / stride), ceil(W / stride), channels].
    """

    def __init__(self, channels: int, kernel: int = 1, stride: int = 1, dilation: int = 1, affine: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel, self.stride = int(channels), int(kernel), int(stride)
        self.dilation, self.affine = int(dilation), bool(affine)
        self.window_views = True  # see use_window_views
        self.depthwise = None
        if self.kernel > 1:
            native = self.stride if self.dilation == 1 else 1
            self.depthwise = keras.layers.DepthwiseConv2D(self.kernel, strides=native, padding="same",
                                                          dilation_rate=self.dilation, use_bias=False)
        pointwise_stride = self.stride if self.kernel == 1 else 1
        self.pointwise = keras.layers.Conv2D(self.channels, 1, strides=pointwise_stride, use_bias=False)
        self.norm = keras.layers.BatchNormalization(center=self.affine, scale=self.affine)

    def build(self, x_shape):
        shape = tuple(x_shape)
        if self.depthwise is not None:
            self.depthwise.build(shape)
            shape = self.depthwise.compute_output_shape(shape)
        self.pointwise.build(shape)
        self.norm.build(self.pointwise.compute_output_shape(shape))

    def call(self, x, training=False):
        h = ops.relu(x)
        if self.depthwise is not None:  # the layer holds the kernel
            native = self.stride if self.dilation == 1 else 1
            h = (depthwise_conv(h, self.depthwise.kernel, native, self.dilation) if self.window_views
                 else self.depthwise(h))
            if self.dilation > 1 and self.stride > 1:
                h = h[:, ::self.stride, ::self.stride, :]
        return self.norm(self.pointwise(h), training=training)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel": self.kernel, "stride": self.stride,
                "dilation": self.dilation, "affine": self.affine}


@keras.saving.register_keras_serializable(package="semcom_sim")
class FactorizedReduce(keras.layers.Layer):
    """Halves the image with two stride-2 1x1 convolutions (one shifted by a pixel), concatenated to
    ``channels`` (must be even), then batch norm: the ``skip`` of a reduction edge."""

    def __init__(self, channels: int, affine: bool = True, **kwargs):
        super().__init__(**kwargs)
        if int(channels) % 2:
            raise ValueError(f"FactorizedReduce: channels must be even, got {channels!r}")
        self.channels, self.affine = int(channels), bool(affine)
        self.conv_a = keras.layers.Conv2D(self.channels // 2, 1, strides=2, use_bias=False)
        self.conv_b = keras.layers.Conv2D(self.channels // 2, 1, strides=2, use_bias=False)
        self.norm = keras.layers.BatchNormalization(center=self.affine, scale=self.affine)

    def build(self, x_shape):
        self.conv_a.build(tuple(x_shape))
        self.conv_b.build(tuple(x_shape))
        out = self.conv_a.compute_output_shape(tuple(x_shape))
        self.norm.build(out[:-1] + (self.channels,))

    def call(self, x, training=False):
        h = ops.relu(x)
        a = self.conv_a(h)
        shifted = ops.pad(h[:, 1:, 1:, :], ((0, 0), (0, 1), (0, 1), (0, 0)))
        return self.norm(ops.concatenate([a, self.conv_b(shifted)], axis=-1), training=training)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "affine": self.affine}


@keras.saving.register_keras_serializable(package="semcom_sim")
class Pool(keras.layers.Layer):
    """3x3 max or average pooling (``same`` padding) with ``stride``."""

    def __init__(self, kind: str, stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.stride = kind, int(stride)
        self.window_views = True  # see use_window_views
        layer = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
        self.pool = layer(3, strides=self.stride, padding="same")

    def call(self, x):
        return max_pool(x, 3, self.stride) if self.kind == "max" and self.window_views else self.pool(x)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "stride": self.stride}


class Identity(keras.layers.Layer):
    def call(self, x):
        return x


def make_op(name: str, channels: int, stride: int, affine: bool = True) -> keras.layers.Layer:
    """The operation ``name`` of :data:`OPS` on ``channels`` channels with ``stride`` (1 or 2)."""
    if name == "none":
        return Zero(stride)
    if name == "skip":
        return Identity() if stride == 1 else FactorizedReduce(channels, affine)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        return Pool(name[:3], stride)
    if name == "sep_conv_3x3":
        return ReLUConvBN(channels, 3, stride, 1, affine)
    if name == "dil_conv_3x3":
        return ReLUConvBN(channels, 3, stride, 2, affine)
    raise ValueError(f"unknown operation {name!r}; known: {', '.join(OPS)}")


class MixedOp(keras.layers.Layer):
    """Every operation of ``op_names`` on one edge, summed with the weights of the edge:
    ``sum_k w_k op_k(x)`` (``none`` contributes nothing and is skipped).

    Input: ``x`` [batch, H, W, C] and ``weights`` [num_ops]. Output: [batch, H / stride, W / stride, C].
    """

    def __init__(self, op_names: Sequence[str], channels: int, stride: int, **kwargs):
        super().__init__(**kwargs)
        self.op_names = tuple(op_names)
        self.ops = [make_op(name, channels, stride, affine=False) for name in self.op_names]

    def build(self, x_shape):
        for op in self.ops:
            if hasattr(op, "build") and not op.built:
                op.build(tuple(x_shape))

    def call(self, x, weights, training=False):
        out = None
        for k, (name, op) in enumerate(zip(self.op_names, self.ops)):
            if name == "none":
                continue
            y = weights[k] * (op(x, training=training) if isinstance(op, (ReLUConvBN, FactorizedReduce)) else op(x))
            out = y if out is None else out + y
        return out

    def op_parameters(self) -> list[int]:
        """Parameters of each operation (trainable and not), in the order of ``op_names``."""
        return [int(sum(math.prod(w.shape) for w in op.weights)) for op in self.ops]


def _apply(op, x, training):
    return op(x, training=training) if isinstance(op, (ReLUConvBN, FactorizedReduce)) else op(x)


class Cell(keras.layers.Layer):
    """A DARTS cell. With ``genotype=None`` a search cell (every edge a :class:`MixedOp`, called with
    the weights [num_edges, num_ops] of its type); else the derived cell of ``genotype``: a list of
    ``(operation, input)`` pairs, two per intermediate node (inputs: 0, 1 the input nodes, ``2 + j``
    intermediate node ``j``).

    Input: ``s0``, ``s1`` [batch, H, W, C_prev_prev / C_prev] (``s0`` twice the size of ``s1`` when the
    previous cell reduced) and, for a search cell, ``weights``. Output: [batch, H', W', nodes * channels].
    """

    def __init__(self, nodes: int, channels: int, reduction: bool, reduction_prev: bool,
                 op_names: Sequence[str] = OPS, genotype: Sequence[Sequence] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.nodes, self.channels = int(nodes), int(channels)
        self.reduction, self.reduction_prev = bool(reduction), bool(reduction_prev)
        self.op_names = tuple(op_names)
        self.genotype = None if genotype is None else [(str(op), int(j)) for op, j in genotype]
        affine = self.genotype is not None
        self.pre0 = FactorizedReduce(channels, affine) if reduction_prev else ReLUConvBN(channels, affine=affine)
        self.pre1 = ReLUConvBN(channels, affine=affine)
        self.edges = []
        if self.genotype is None:
            for i in range(self.nodes):
                for j in range(2 + i):
                    stride = 2 if reduction and j < 2 else 1
                    self.edges.append(MixedOp(self.op_names, channels, stride, name=f"edge_{i}_{j}"))
        else:
            if len(self.genotype) != 2 * self.nodes:
                raise ValueError(f"Cell: a genotype of {self.nodes} nodes has {2 * self.nodes} (op, input) pairs, "
                                 f"got {len(self.genotype)}")
            for k, (op, j) in enumerate(self.genotype):
                if not 0 <= j < 2 + k // 2 or op == "none":
                    raise ValueError(f"Cell: pair {k} ({op!r}, {j}) is not an operation on an earlier node")
                stride = 2 if reduction and j < 2 else 1
                self.edges.append(make_op(op, channels, stride, affine=True))

    def build(self, s0_shape, s1_shape, weights_shape=None):
        self.pre0.build(tuple(s0_shape))
        self.pre1.build(tuple(s1_shape))
        shape = tuple(s1_shape[:-1]) + (self.channels,)
        reduced = (shape[0], (shape[1] + 1) // 2, (shape[2] + 1) // 2, self.channels)
        inputs = [j for i in range(self.nodes) for j in range(2 + i)] if self.genotype is None else \
            [j for _, j in self.genotype]
        for edge, j in zip(self.edges, inputs):
            in_shape = shape if (j < 2 or not self.reduction) else reduced
            if not edge.built:
                edge.build(in_shape)

    def call(self, s0, s1, weights=None, training=False):
        states = [self.pre0(s0, training=training), self.pre1(s1, training=training)]
        if self.genotype is None:
            k = 0
            for i in range(self.nodes):
                total = None
                for j in range(2 + i):
                    y = self.edges[k](states[j], weights[k], training=training)
                    total = y if total is None else total + y
                    k += 1
                states.append(total)
        else:
            for i in range(self.nodes):
                (_, a), (_, b) = self.genotype[2 * i], self.genotype[2 * i + 1]
                states.append(_apply(self.edges[2 * i], states[a], training)
                              + _apply(self.edges[2 * i + 1], states[b], training))
        return ops.concatenate(states[2:], axis=-1)


@keras.saving.register_keras_serializable(package="semcom_sim")
class Network(keras.layers.Layer):
    """Stem (3x3 convolution to ``channels`` with ``stem_stride``, batch norm), ``cells`` cells (reduction cells at
    ``cells // 3`` and ``2 cells // 3``, or at the middle for two cells; ``C`` doubles there), global
    average pooling.

    With ``genotype=None`` a supernet: call it with ``alphas`` = (normal [E, K], reduce [E, K]) logits.
    With ``genotype={"normal": [[op, input], ...], "reduce": [...]}`` the derived network.

    Input: images [batch, H, W, channels] float32. Output: features [batch, nodes * C_last] float32.

    :param channels: ``C`` of the first cells.
    :param cells: number of cells.
    :param nodes: intermediate nodes per cell.
    :param op_names: the operation set of the search (:data:`OPS` or a subset with ``none``).
    :param genotype: the derived cells, or ``None``.
    :param stem_stride: 2 halves the image in the stem (what fits a CPU search on 28x28 images).
    """

    def __init__(self, channels: int = 16, cells: int = 3, nodes: int = 3, op_names: Sequence[str] = OPS,
                 genotype: dict | None = None, stem_stride: int = 1, **kwargs):
        super().__init__(**kwargs)
        if min(int(channels), int(cells), int(nodes)) < 1 or int(channels) % 2:
            raise ValueError(f"Network: channels (even), cells and nodes must be >= 1, got {channels!r}, {cells!r}, "
                             f"{nodes!r}")
        self.channels, self.num_cells, self.nodes = int(channels), int(cells), int(nodes)
        self.op_names = tuple(op_names)
        self.genotype = None if genotype is None else {"normal": [list(p) for p in genotype["normal"]],
                                                       "reduce": [list(p) for p in genotype["reduce"]]}
        self.stem_stride = int(stem_stride)
        self.stem = keras.layers.Conv2D(self.channels, 3, strides=self.stem_stride, padding="same", use_bias=False)
        self.stem_norm = keras.layers.BatchNormalization()
        self.cells = []
        c, reduction_prev = self.channels, False
        for i in range(self.num_cells):
            reduction = i in self.reduction_indices
            if reduction:
                c *= 2
            kind = "reduce" if reduction else "normal"
            geno = None if self.genotype is None else self.genotype[kind]
            self.cells.append(Cell(self.nodes, c, reduction, reduction_prev, self.op_names, geno, name=f"cell_{i}"))
            reduction_prev = reduction
        self.out_channels = c * self.nodes

    @property
    def reduction_indices(self) -> tuple[int, ...]:
        if self.num_cells == 1:
            return ()
        if self.num_cells == 2:
            return (1,)
        return tuple(sorted({self.num_cells // 3, 2 * self.num_cells // 3}))

    def build(self, images_shape):
        shape = tuple(images_shape)
        self.stem.build(shape)
        shape = self.stem.compute_output_shape(shape)
        self.stem_norm.build(shape)
        s0 = s1 = shape
        for cell in self.cells:
            cell.build(s0, s1)
            h, w = s1[1], s1[2]
            if cell.reduction:
                h, w = (None if h is None else (h + 1) // 2), (None if w is None else (w + 1) // 2)
            s0, s1 = s1, (s1[0], h, w, cell.channels * self.nodes)

    def call(self, images, alphas=None, training=False):
        s = self.stem_norm(self.stem(images), training=training)
        s0 = s1 = s
        if self.genotype is None:
            normal, reduce = (ops.softmax(a, axis=-1) for a in alphas)
        for cell in self.cells:
            weights = None if self.genotype is not None else (reduce if cell.reduction else normal)
            s0, s1 = s1, cell(s0, s1, weights, training=training)
        return ops.mean(s1, axis=(1, 2))

    def compute_output_shape(self, images_shape):
        return (images_shape[0], self.out_channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "cells": self.num_cells, "nodes": self.nodes,
                "op_names": list(self.op_names), "genotype": self.genotype, "stem_stride": self.stem_stride}


@keras.saving.register_keras_serializable(package="semcom_sim")
class SearchedBackbone(Network):
    """The derived network of a genotype as an encoder backbone (``model.backbone =
    "semcom_sim>SearchedBackbone"``, ``model.backbone_config`` from
    :func:`semcom_sim.search.backbone_config`). Input: images; output: [batch, nodes * C_last]."""

    def __init__(self, genotype: dict, channels: int = 16, cells: int = 3, nodes: int = 3, stem_stride: int = 1,
                 **kwargs):
        kwargs.pop("op_names", None)
        super().__init__(channels, cells, nodes, OPS, genotype, stem_stride, **kwargs)
