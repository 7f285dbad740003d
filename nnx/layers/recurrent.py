"""SimpleRNN, LSTM and GRU over (batch, time, features), with PyTorch's weights and equations.

Params: `W_ih` (G*H, F), `W_hh` (G*H, H), `b_ih`, `b_hh` (G*H,), gate blocks in PyTorch's
order (LSTM i f g o, GRU r z n; G = 1, 4, 3). The initial state is zero. `W_hh` is
initialized block by block: each gate's (H, H) block is orthogonal on its own (the default
`recurrent_init`), as Keras's orthogonal recurrent kernel keeps each step's map from
shrinking or blowing up the state. `W_ih` uses fan_in=F, fan_out=G*H.

Variable lengths: pad every sequence to one length T. Without a mask the padded steps are
ordinary inputs; with `layer.mask` set to an (N, T) array (nonzero = real step, e.g. the
`output_mask` of an Embedding with `mask_zero=True`) a padded step carries the state over
unchanged, and its output is that carried state (Keras's behaviour).
"""

import math

import numpy as np

from nnx import activations, initializers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer, positive_int, snake_case
from nnx.registry import Registry

rnn = lazy("recurrent")
gated = lazy("gated")
threads = lazy("threads")

NO_MASK = np.zeros((0, 0), np.uint8)
MIN_PART = 16  # samples per thread at the least (a part's time loop is worth a hand-over)


class Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, params, layouts, masks, go_backwards.

    A subclass sets `gates` and implements `run_forward(x, p, mask) -> (hs, cache)` and
    `run_backward(x, p, mask, hs, cache, dhs, grads, dx)` over time-major arrays.
    """

    gates = 1
    own_hidden_bias = False
    takes_mask = True

    def __init__(self, units, return_sequences=False, go_backwards=False,
                 init="glorot_uniform", recurrent_init="orthogonal", bias_init="zeros",
                 use_bias=True, name=None):
        super().__init__(name)
        self.units = positive_int(snake_case(type(self).__name__), "units", units)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.init, self.recurrent_init, self.bias_init = init, recurrent_init, bias_init
        for spec in (init, recurrent_init, bias_init):
            initializers.get(spec)  # fail at construction, not build
        self.use_bias = bool(use_bias)
        self.needs_input_grad = True
        self.mask = None  # optional (N, T) padding mask for the next forward: see module doc
        self._buffers = {}

    # -- building ---------------------------------------------------------------------
    def output_shape_for(self, input_shape):
        if len(input_shape) != 2:
            raise NnxError(f"layer {self.name!r} expects sequences (time, features), got "
                           f"input shape {input_shape}")
        if input_shape[0] < 1:
            raise NnxError(f"layer {self.name!r} needs at least one time step, got input "
                           f"shape {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def param_shapes(self, input_shape):
        gates = self.gates * self.units
        return {"W_ih": (gates, input_shape[1]), "W_hh": (gates, self.units),
                **({"b_ih": (gates,), "b_hh": (gates,)} if self.use_bias else {})}

    def memory_for(self, input_shape, batch):
        steps, features = input_shape
        need = super().memory_for(input_shape, batch)
        # The time-major input and its gradient, up to four sequences of states (h, c,
        # tanh c, the output's gradient) and two of gate values (gates, GRU's recurrent
        # part), one entry per step; the gates' gradients are one step's, per part.
        need["the per-step states"] = batch * (steps + 1) * (
            2 * features + 4 * self.units + 2 * self.gates * self.units)
        return need

    def create_params(self, input_shape, rng):
        features, H = input_shape[1], self.units
        G = self.gates * H
        self.add_param("W_ih", (G, features), self.init, features, G, rng)
        block = initializers.get(self.recurrent_init)
        W_hh = np.concatenate([block((H, H), H, H, rng) for _ in range(self.gates)])
        self.params["W_hh"] = np.ascontiguousarray(W_hh, dtype=self.dtype)
        self.grads["W_hh"] = np.zeros_like(self.params["W_hh"])
        if self.use_bias:
            self.add_param("b_ih", (G,), self.bias_init, features, G, rng)
            self.add_param("b_hh", (G,), self.bias_init, H, G, rng)

    # -- computing --------------------------------------------------------------------
    def check_input(self, x):
        """Any length T >= 1 is accepted; the rank and the feature count must match."""
        if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] != self.input_shape[1]:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"{self.input_shape[1]}) with time >= 1, got {tuple(x.shape)}")

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        params = self._weights()
        work = self._workspace("train" if training else "infer", params[0].dtype)
        xt = self._time_major(x, work)
        mask = self._time_major_mask(x.shape)
        hs, cache = self.run_forward(xt, params, mask, work)
        if training:
            self._cache = (xt, mask, hs, cache)
        if self.return_sequences:
            return hs[1:].transpose(1, 0, 2).copy()
        return hs[-1].copy()

    def backward(self, dy):
        dy = self.take_gradient(dy)
        xt, mask, hs, cache = self._cache
        params = self._weights()
        work = self._workspace("train", params[0].dtype)
        dhs = dy.transpose(1, 0, 2) if self.return_sequences else dy[None]
        dhs = copy_into(work("dy", dhs.shape), dhs)
        dx = work("dx", xt.shape) if self.needs_input_grad else np.empty((0, 0, 0), xt.dtype)
        g = self.grads
        grads = (g["W_ih"], g["W_hh"], *((g["b_ih"], g["b_hh"]) if self.use_bias
                                         else (np.empty_like(params[2]), np.empty_like(params[3]))))
        self.run_backward(xt, params, mask, hs, cache, dhs, grads, dx, work)
        if not self.needs_input_grad:
            return None
        return (dx[::-1] if self.go_backwards else dx).transpose(1, 0, 2).copy()

    def run_forward(self, x, params, mask, work):
        """(hs, cache) for time-major x; `work(name, shape)` gives reusable arrays."""
        raise NotImplementedError

    def run_backward(self, x, params, mask, hs, cache, dhs, grads, dx, work):
        raise NotImplementedError

    @staticmethod
    def in_parts(n, run):
        """run(first, stop) over parts of the n samples, on threads (samples are independent
        through time)."""
        threads.run_parts(run, n, MIN_PART, marks_start=True)

    def backward_in_parts(self, x, grads, work, run):
        """run(first, stop, shares): the layer's backward loop over parts of the batch, each
        adding up its share of (dW_ih, dW_hh, db_ih, db_hh); grads gets their sums. db_hh is
        db_ih but where the hidden bias has a gradient of its own (`own_hidden_bias`). The
        first part writes its shares into grads, the others into buffers kept for the next
        call, added to grads in part order."""
        G, F = grads[0].shape
        n = x.shape[1]
        bounds = threads.part_bounds(n, threads.part_count(n, MIN_PART))
        shapes = ((G, F), grads[1].shape, (G,), (G if self.own_hidden_bias else 0,))
        shares = [(*grads[:3], grads[3] if self.own_hidden_bias else work("no db_hh", (0,)))]
        shares += [tuple(work(("share", i, k), shape) for k, shape in enumerate(shapes))
                   for i in range(1, len(bounds) - 1)]
        threads.run_over(lambda i, first, stop: run(first, stop, shares[i]), bounds,
                         marks_start=True)
        for share in shares[1:]:
            rnn.add_grads(shares[0], share)
        if not self.own_hidden_bias:
            grads[3][:] = grads[2]

    # -- helpers ----------------------------------------------------------------------
    def _weights(self):
        """(W_ih, W_hh, b_ih, b_hh) from the params dict, with zero biases when unused."""
        W_ih, W_hh = self.params["W_ih"], self.params["W_hh"]
        if self.use_bias:
            return W_ih, W_hh, self.params["b_ih"], self.params["b_hh"]
        zeros = np.zeros(W_hh.shape[0], W_hh.dtype)
        return W_ih, W_hh, zeros, zeros

    def _workspace(self, tag, dtype):
        """work(name, shape) -> an array kept across calls (one set for training, one for
        inference, so that a predict between forward and backward keeps the cache). The
        kernels write every element they read; a fresh multi-MB array each call would cost
        page faults (see nnx.kernels.recurrent)."""
        buffers = self._buffers

        def work(name, shape):
            buf = buffers.get((tag, name))
            if buf is None or buf.shape != shape or buf.dtype != dtype:
                buf = buffers[(tag, name)] = aligned_empty(shape, dtype)
            return buf
        return work

    def _time_major(self, x, work):
        """(N, T, F) -> contiguous (T, N, F) in processing order (reversed for go_backwards)."""
        xt = x.transpose(1, 0, 2)
        xt = xt[::-1] if self.go_backwards else xt
        return copy_into(work("x", xt.shape), xt)

    def _time_major_mask(self, shape):
        if self.mask is None:
            return NO_MASK
        mask = np.asarray(self.mask)
        if mask.shape != shape[:2]:
            raise NnxError(f"layer {self.name!r}: mask of shape {mask.shape} does not fit "
                           f"inputs of shape {tuple(shape)}; it must be (batch, time)")
        mt = (mask != 0).T
        return np.ascontiguousarray(mt[::-1] if self.go_backwards else mt, dtype=np.uint8)


def aligned_empty(shape, dtype):
    """np.empty(shape, dtype) starting on a 64-byte boundary, for the states that the step
    products read (nnx.kernels.recurrent.aligned_copy tells why): the benchmark LSTM's
    backward loop of 32 samples took 690-727 us on numpy's 16- or 32-byte alignment, 674 us
    on this one."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    line = 64 // dtype.itemsize
    buf = np.empty(size + line, dtype)
    start = (-buf.ctypes.data // dtype.itemsize) % line
    return buf[start:start + size].reshape(shape)


def copy_into(buffer, values):
    np.copyto(buffer, values)
    return buffer


class SimpleRNN(Recurrent):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu (PyTorch's nn.RNN)."""

    gates = 1

    def __init__(self, units, activation="tanh", return_sequences=False, go_backwards=False,
                 init="glorot_uniform", recurrent_init="orthogonal", bias_init="zeros",
                 use_bias=True, name=None):
        super().__init__(units, return_sequences, go_backwards, init, recurrent_init,
                         bias_init, use_bias, name)
        if activation not in ("tanh", "relu"):
            raise NnxError(f"simple_rnn: activation must be 'tanh' or 'relu', got {activation!r}")
        self.activation = activation
        self.code = activations.code(activation)

    def run_forward(self, x, params, mask, work):
        T, N, _ = x.shape
        hs = work("hs", (T + 1, N, self.units))
        self.in_parts(N, lambda first, stop: rnn.rnn_steps(params, self.code, mask, x, hs,
                                                           first, stop, threads.start_mark()))
        return hs, None

    def run_backward(self, x, params, mask, hs, cache, dhs, grads, dx, work):
        def run(first, stop, shares):
            rnn.rnn_steps_backward(params, self.code, mask, x, hs, dhs, shares, dx, first, stop,
                                   threads.start_mark())

        self.backward_in_parts(x, grads, work, run)


class LSTM(Recurrent):
    """i, f, g, o gates; c' = f c + i g; h' = o tanh(c') (PyTorch's nn.LSTM)."""

    gates = 4

    def run_forward(self, x, params, mask, work):
        T, N, _ = x.shape
        H = self.units
        hs, cs = work("hs", (T + 1, N, H)), work("cs", (T + 1, N, H))
        tanh_c, gates = work("tanh_c", (T, N, H)), work("gates", (T, N, 4 * H))
        self.in_parts(N, lambda first, stop: gated.lstm_steps(
            params, mask, x, hs, cs, tanh_c, gates, first, stop, threads.start_mark()))
        return hs, (cs, tanh_c, gates)

    def run_backward(self, x, params, mask, hs, cache, dhs, grads, dx, work):
        saved = (hs, *cache)

        def run(first, stop, shares):
            gated.lstm_steps_backward(params, mask, x, saved, dhs, shares, dx, first, stop,
                                      threads.start_mark())

        self.backward_in_parts(x, grads, work, run)


class GRU(Recurrent):
    """r, z, n gates; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h
    (PyTorch's nn.GRU)."""

    gates = 3
    own_hidden_bias = True

    def run_forward(self, x, params, mask, work):
        T, N, _ = x.shape
        H = self.units
        hs, hn = work("hs", (T + 1, N, H)), work("hn", (T, N, H))
        gates = work("gates", (T, N, 3 * H))
        self.in_parts(N, lambda first, stop: gated.gru_steps(
            params, mask, x, hs, gates, hn, first, stop, threads.start_mark()))
        return hs, (gates, hn)

    def run_backward(self, x, params, mask, hs, cache, dhs, grads, dx, work):
        saved = (hs, *cache)

        def run(first, stop, shares):
            gated.gru_steps_backward(params, mask, x, saved, dhs, shares, dx, first, stop,
                                     threads.start_mark())

        self.backward_in_parts(x, grads, work, run)


RECURRENT_LAYERS = Registry("recurrent layer type", {
    snake_case(cls.__name__): cls for cls in (SimpleRNN, LSTM, GRU)})
