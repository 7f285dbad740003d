"""Conv1D and Conv2D, channels first, with PyTorch's weight layout: W (filters, C, *kernel).

Both are one class, `_Conv`, that sees every input as 2-D: a 1-D input (N, C, L) runs as
(N, C, 1, L) with a kernel of height 1, through the same im2col + GEMM kernels
(nnx/kernels/conv.py); 3x3 stride-1 layers take Winograd's (nnx/kernels/winograd.py) with
many channels and direct loops (nnx/kernels/direct_conv.py) with few. The window arithmetic
is nnx/layers/window.py, shared with the pooling layers.
"""

import math
import threading

import numpy as np

from nnx import activations, initializers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.kernels.geometry import ConvGeometry
from nnx.layers import window
from nnx.layers.base import Layer, elements, positive_int
from nnx.layers.window import as_2d, config_value, expects_rank, size_tuple, window_outputs

columns = lazy("columns")
conv = lazy("conv")
activation_kernels = lazy("activations")
direct = lazy("direct_conv")
threads = lazy("threads")
winograd = lazy("winograd")

INFERENCE_COLS = 1 << 21  # elements of the column matrix at inference (8 MB in float32)
# Tiles per Winograd chunk: at most WINOGRAD_TILES, few enough that the chunk's tiles and
# products (16 (C + F) values a tile) fit in WINOGRAD_CACHE elements (32 -> 64 channels on
# 16x16, batch 64: 128 tiles took 3.1 + 6.7 ms, 256 3.4 + 7.3), and the 16 products below
# SMALL_PRODUCT multiply-adds, which OpenBLAS runs on the calling thread (its small-matrix
# kernel): the threads that take parts of the batch do not contend for BLAS's own.
WINOGRAD_TILES, WINOGRAD_CACHE = 256, 200_000
SMALL_PRODUCT = 1_000_000
# im2col's columns and Winograd's input tiles of a batch up to this many elements stay from
# forward to backward, more are made again in backward: written whole they leave the caches
# (Winograd, 32 -> 64 channels on 16x16: forward 4.7 -> 3.2 ms, backward +0.6).
KEPT_ELEMENTS = 1 << 20
SMALL_LAYER = 4_000_000  # multiply-adds of a whole im2col layer that one GEMM takes


class _Conv(Layer):
    fuses_with_loss = True
    reports_fired_units = True
    rank = 2

    def __init__(self, filters, kernel_size, stride=1, padding=0, dilation=1, activation=None,
                 init="glorot_uniform", bias_init="zeros", use_bias=True, name=None):
        super().__init__(name)
        who = self.name
        self.filters = positive_int(who, "filters", filters)
        self._kernel = size_tuple(who, "kernel_size", kernel_size, self.rank)
        self._stride = size_tuple(who, "stride", stride, self.rank)
        self._dilation = size_tuple(who, "dilation", dilation, self.rank)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise NnxError(f"{who}: padding must be an integer, a list of {self.rank} "
                               f"integers, 'valid' or 'same', got {padding!r}")
            self._padding = padding
        else:
            self._padding = size_tuple(who, "padding", padding, self.rank, minimum=0)
        self.kernel_size, self.stride = config_value(kernel_size), config_value(stride)
        self.padding, self.dilation = config_value(padding), config_value(dilation)
        self.activation = activation
        self.code = activations.code(activation)
        if self.code == activations.SOFTMAX:
            raise NnxError(f"{who}: activation 'softmax' is not supported on a convolution "
                           "(it would act over the last spatial axis, not the channels); "
                           "put flatten and a dense softmax layer after it")
        self.init, self.bias_init = init, bias_init
        initializers.get(init), initializers.get(bias_init)  # fail at construction, not build
        self.use_bias = bool(use_bias)
        self.needs_input_grad = True
        # z = conv(x) + b is stored only where something reads it: the gelu gradient, or a
        # loss fused with this (output) layer's activation, which compile() flags here.
        # Otherwise a relu layer writes y alone (one 3 MB array less per step on 16x28x28).
        self.keeps_preactivation = False
        self.preactivation = None
        self._buffers = {}

    # -- building ---------------------------------------------------------------------
    def pads_for(self, input_shape):
        """(before, after) padding per spatial axis for this input shape."""
        if self._padding == "valid":
            return ((0, 0),) * self.rank
        if self._padding == "same":
            return tuple(window.same_padding(n, k, s, d) for n, k, s, d in zip(
                input_shape[1:], self._kernel, self._stride, self._dilation, strict=True))
        return tuple((p, p) for p in self._padding)

    def output_shape_for(self, input_shape):
        expects_rank(self, input_shape, self.rank)
        out = window_outputs(self, input_shape, self._kernel, self._stride, self._dilation,
                             self.pads_for(input_shape))
        return (self.filters,) + out

    def param_shapes(self, input_shape):
        return {"W": (self.filters, input_shape[0]) + self._kernel,
                **({"b": (self.filters,)} if self.use_bias else {})}

    def memory_for(self, input_shape, batch):
        # Per sample, the columns hold one row per tap for (at most) every position of the
        # padded input; training keeps them and their gradient, the padded planes too, and
        # z transposed with its gradient.
        channels = input_shape[0]
        positions = elements(tuple(n + before + after for n, (before, after) in zip(
            input_shape[1:], self.pads_for(input_shape), strict=True)))
        taps = channels * math.prod(self._kernel)
        return {**super().memory_for(input_shape, batch),
                "the im2col columns": 2 * batch * positions * (taps + channels + self.filters)}

    def create_params(self, input_shape, rng):
        channels, taps = input_shape[0], math.prod(self._kernel)
        fan_in, fan_out = channels * taps, self.filters * taps
        self.add_param("W", (self.filters, channels) + self._kernel, self.init, fan_in,
                       fan_out, rng)
        if self.use_bias:
            self.add_param("b", (self.filters,), self.bias_init, fan_in, fan_out, rng)
        pads = self.pads_for(input_shape)
        if self.rank == 1:  # the 2-D kernels with a height of 1
            geometry = ((1,) + self._kernel, (1,) + self._stride, (1,) + self._dilation,
                        (0, pads[0][0]), (1,) + self.output_shape[1:])
        else:
            geometry = (self._kernel, self._stride, self._dilation,
                        (pads[0][0], pads[1][0]), self.output_shape[1:])
        # The flat column layout (nnx/kernels/columns.py) needs stride 1; it pays where output
        # rows are short, so a 1-D convolution (one long row) keeps the gathered layout.
        flat = all(s == 1 for s in self._stride) and geometry[4][0] > 1
        self._geom = ConvGeometry(*(int(v) for pair in geometry for v in pair), flat)
        self._winograd = self.uses_winograd(channels)
        self._direct = self.uses_direct(channels)
        self._direct_grad = self._plain_3x3() and channels <= 3

    def _plain_3x3(self):
        return (self.rank == 2 and self._kernel == (3, 3) and self._stride == (1, 1)
                and self._dilation == (1, 1))

    def uses_direct(self, channels):
        """3x3, stride 1, undilated 2-D convolutions of one input channel (a first layer on
        grey images) go through direct loops (nnx/kernels/direct_conv.py): im2col's products
        have a depth of 9 there. On 1 -> 16 channels (28x28, batch 64, 2 threads) forward
        took 0.54 ms against 0.59 and backward 0.65 against 0.82; on 3 -> 32 (32x32) they
        only won backward (1.78 against 2.03; `_direct_grad`: forward stays on im2col)."""
        return self._plain_3x3() and channels == 1

    def uses_winograd(self, channels):
        """3x3, stride 1, undilated 2-D convolutions with many channels in and out go through
        Winograd's F(2x2, 3x3) (nnx/kernels/winograd.py): 2.25x smaller products, a few passes
        per tile and channel. A step of 32 -> 64 channels (16x16) took 22 ms against im2col's
        33; 16 -> 32 (14x14, batch 64, 2 threads) 1.29 + 1.78 ms against 1.54 + 2.23."""
        return self._plain_3x3() and min(channels, self.filters) >= 16

    # -- computing --------------------------------------------------------------------
    def _bias(self, dtype, table):
        return table["b"] if self.use_bias else np.empty(0, dtype=dtype)

    def _scratch(self, key, shape, dtype):
        """A work array kept between calls (a fresh 7 MB array per call costs ~0.5 ms of
        page faults); outputs are still allocated per call."""
        array = self._buffers.get(key)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._buffers[key] = np.empty(shape, dtype=dtype)
        return array

    def _thread_scratch(self, key, shape, dtype):
        """A work array of the calling thread (parts of a batch run on several threads)."""
        return self._scratch((key, threading.get_ident()), shape, dtype)

    def _stores_preactivation(self):
        return self.keeps_preactivation or self.code == activations.GELU

    def _padded_size(self, samples):
        """Elements of the padded planes of `samples` samples (the flat layout's and the
        direct loops'), with the slack that the last plane's wrapped-around columns read;
        0 in the gathered layout, which pads none."""
        g = self._geom
        if not (g.flat or self._direct or self._direct_grad):
            return 0
        hp, wp = columns.padded_shape(g)
        slack = (g.kernel_w - 1) * g.dilation_w
        return int(samples * self.input_shape[0] * hp * wp + slack)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        W = self.params["W"]
        n = x.shape[0]
        out2d = as_2d(self.output_shape, self.rank)
        x4 = x.reshape((n,) + as_2d(self.input_shape, self.rank))
        y = np.empty((n,) + out2d, dtype=W.dtype)
        z = y if self.code == activations.LINEAR else (
            np.empty_like(y) if self._stores_preactivation() else np.empty((0,) + out2d, W.dtype))
        mode = "" if training else "_infer"  # each keeps its own buffer sizes across epochs
        forward = (self._winograd_forward if self._winograd else
                   self._direct_forward if self._direct else self._im2col_forward)
        saved = forward(x4, W, z, y, training, mode)
        shape = (n,) + self.output_shape
        self.preactivation = z.reshape(shape) if z.shape[0] == n else None
        if training:
            # z for the activation gradient; y stands in where z is not stored (every
            # activation but gelu takes its gradient from y alone)
            self._saved, self._y = saved, y
            self._z = y if self.preactivation is None else self.preactivation
        return y.reshape(shape)

    def _im2col_chunk(self, n, training):
        """(samples per chunk, columns per sample) of the im2col path. A large layer goes
        a few samples at a time, each chunk's GEMM below SMALL_PRODUCT multiply-adds on the
        thread of its part of the batch (OpenBLAS keeps it there, and the columns stay in
        cache); a small one (SMALL_LAYER) in one GEMM, which OpenBLAS may thread itself.
        Inference also keeps the columns of a chunk to about INFERENCE_COLS elements."""
        taps = self.input_shape[0] * math.prod(self._kernel)
        span = self._geom.out_h * int(columns.pitch(self._geom))
        per_sample = self.filters * taps * span
        chunk = n if n * per_sample <= SMALL_LAYER else SMALL_PRODUCT // per_sample
        if not training:
            chunk = min(chunk, INFERENCE_COLS // (taps * span))
        return max(1, min(n, chunk)), span

    def _im2col_forward(self, x4, W, z, y, training, mode):
        """conv_forward over parts of the batch; returns (x, cols, samples and columns per
        chunk) for backward: the batch's columns (x empty) or input (cols None)."""
        n, taps = x4.shape[0], W[0].size
        chunk, span = self._im2col_chunk(n, training)
        blocks = -(-n // chunk)
        keep = training and n * taps * span <= KEPT_ELEMENTS and not self._direct_grad
        if keep:
            cols = self._scratch("cols", (blocks, taps, chunk * span), W.dtype)
        W2, b = W.reshape((self.filters,) + as_2d(W.shape[1:], self.rank)), \
            self._bias(W.dtype, self.params)

        def part(first, stop):
            scratch = (self._thread_scratch("xp" + mode, (self._padded_size(chunk),), W.dtype),
                       cols if keep else self._thread_scratch(
                           "cols_part" + mode, (1, taps, chunk * span), W.dtype),
                       self._thread_scratch("zT" + mode, (self.filters, chunk * span), W.dtype))
            conv.conv_forward(x4, W2, b, self._geom, self.code, scratch, z, y, first * chunk,
                              min(n, stop * chunk), threads.start_mark())

        threads.run_parts(part, blocks, marks_start=True)
        return (np.empty((0,) + x4.shape[1:], W.dtype) if keep else x4), (
            cols if keep else None), chunk, chunk * span

    def _direct_forward(self, x4, W, z, y, training, mode):
        """direct_forward over parts of the batch; returns (x,) for backward."""
        b = self._bias(W.dtype, self.params)

        def part(first, stop):
            xp = self._thread_scratch("xp" + mode, (self._padded_size(1),), W.dtype)
            direct.direct_forward(x4, W, b, self._geom, self.code, xp, z, y, first, stop,
                                  threads.start_mark())

        threads.run_parts(part, x4.shape[0], marks_start=True)
        return (x4,)

    def _winograd_tiles(self, n):
        """(tiles per sample, samples per chunk)."""
        th, tw = winograd.tiles(self._geom)
        f, c = self.filters, self.input_shape[0]
        most = min(WINOGRAD_TILES, WINOGRAD_CACHE // (16 * (c + f)), SMALL_PRODUCT // (f * c))
        return th * tw, max(1, min(n, most // (th * tw)))

    def _winograd_forward(self, x4, W, z, y, training, mode):
        """winograd_forward over parts of the batch; returns (x, U, V) for backward: U = the
        filters transformed, and the batch's tiles (x empty) or input (V None)."""
        n, channels = x4.shape[0], x4.shape[1]
        per_sample, chunk = self._winograd_tiles(n)
        U = self._scratch("U" + mode, (16, self.filters, channels), W.dtype)
        winograd.filter_transform(W, U)
        keep = training and 16 * channels * n * per_sample <= KEPT_ELEMENTS
        V = self._scratch("V", (16, channels, n * per_sample), W.dtype) if keep else None
        b = self._bias(W.dtype, self.params)

        def part(first, stop):
            tiles = (16, channels, chunk * per_sample)
            work = (V if keep else self._thread_scratch("V_part" + mode, tiles, W.dtype),
                    self._thread_scratch("M", (16, self.filters, chunk * per_sample), W.dtype))
            winograd.winograd_forward(x4, U, b, self._geom, self.code, work, z, y, first, stop,
                                      threads.start_mark())

        threads.run_parts(part, n, chunk, marks_start=True)
        return (np.empty((0,) + x4.shape[1:], W.dtype) if keep else x4), U, V

    def backward(self, dy):
        return self._backward(dy, self.code)

    def backward_preactivation(self, dz):
        """Backward from dL/dz, skipping the activation (a loss fused with it gives dz)."""
        return self._backward(dz, activations.LINEAR)

    def mark_fired_units(self, fired):
        return activation_kernels.mark_alive(self._y.reshape(self._y.shape[:2] + (-1,)), fired)

    def _backward(self, dy, code):
        dy = self.take_gradient(dy)
        W = self.params["W"]
        n = dy.shape[0]
        out2d = (n,) + as_2d(self.output_shape, self.rank)
        w2d = (self.filters,) + as_2d(W.shape[1:], self.rank)
        dy4 = dy.reshape(out2d)
        if self.needs_input_grad:
            dx = np.empty((n,) + as_2d(self.input_shape, self.rank), dtype=W.dtype)
        else:
            dx = np.empty((0, 0, 0, 0), dtype=W.dtype)
        outputs = (self._y.reshape(out2d), self._z.reshape(out2d))
        grads = (self.grads["W"].reshape(w2d), self._bias(W.dtype, self.grads), dx)
        if self._winograd:
            self._winograd_backward(code, outputs, dy4, grads)
        elif self._direct or self._direct_grad:
            self._direct_backward(W.reshape(w2d), code, outputs, dy4, grads)
        else:
            self._im2col_backward(W.reshape(w2d), code, outputs, dy4, grads)
        return dx.reshape((n,) + self.input_shape) if self.needs_input_grad else None

    def _im2col_backward(self, W, code, outputs, dy4, grads):
        """conv_backward over parts of the batch, chunk by chunk as forward ran."""
        x, cols, chunk, width = self._saved
        n, taps, padded = dy4.shape[0], W[0].size, (self._padded_size(chunk),)
        dW, db, dx = grads

        def part(first, stop, share):
            if self.needs_input_grad:
                dcols = self._thread_scratch("dcols", (taps, width), W.dtype)
                dxp = self._thread_scratch("dxp", padded, W.dtype)
            else:
                dcols, dxp = np.empty((0, 0), dtype=W.dtype), np.empty(0, dtype=W.dtype)
            dzT = self._thread_scratch("dzT", (self.filters, width), W.dtype)
            block, xp = (cols, np.empty(0, W.dtype)) if cols is not None else (
                self._thread_scratch("cols_part", (1, taps, width), W.dtype),
                self._thread_scratch("xp", padded, W.dtype))
            conv.conv_backward(W, self._geom, code, (x, block, *outputs), dy4, (*share, dx),
                               (dzT, dcols, dxp, xp), first * chunk, min(n, stop * chunk),
                               threads.start_mark())

        dWT, db[...] = threads.summed_shares(part, -(-n // chunk), 1,
                                             np.empty((taps, self.filters), W.dtype), db)
        dW.reshape(self.filters, taps)[...] = dWT.T

    def _direct_backward(self, W, code, outputs, dy4, grads):
        """direct_backward over parts of the batch."""
        dW, db, dx = grads
        size = self._padded_size(1)

        def part(first, stop, share):
            scratch = (self._thread_scratch("xp", (size,), W.dtype), self._thread_scratch(
                "dxp", (size,) if self.needs_input_grad else (0,), W.dtype))
            direct.direct_backward(W, self._geom, code, (self._saved[0], *outputs), dy4,
                                   (*share, dx), scratch, first, stop, threads.start_mark())

        dW[...], db[...] = threads.summed_shares(part, dy4.shape[0], 1, W, db)

    def _winograd_backward(self, code, outputs, dy4, grads):
        """winograd_backward over parts of the batch."""
        x, U, V = self._saved
        dW, db, dx = grads
        channels, dtype = U.shape[2], U.dtype
        per_sample, chunk = self._winograd_tiles(dy4.shape[0])

        def part(first, stop, share):
            tiles = chunk * per_sample
            scratch = (self._thread_scratch("dM", (16, self.filters, tiles), dtype),
                       self._thread_scratch("dV", (16, channels, tiles)
                                            if self.needs_input_grad else (0, 0, 0), dtype))
            tiles_of = V if V is not None else self._thread_scratch(
                "V_part", (16, channels, tiles), dtype)
            winograd.winograd_backward(self._geom, code, (x, U, tiles_of, *outputs), dy4,
                                       (*share, dx), scratch, first, stop, threads.start_mark())

        dU, db[...] = threads.summed_shares(part, dy4.shape[0], chunk, U, db)
        winograd.filter_gradient(dU, dW)


class Conv1D(_Conv):
    """1-D convolution: (N, C, L) -> (N, filters, L_out); W (filters, C, k)."""

    rank = 1


class Conv2D(_Conv):
    """2-D convolution: (N, C, H, W) -> (N, filters, H_out, W_out); W (filters, C, kh, kw)."""

    rank = 2
