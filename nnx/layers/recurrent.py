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

import numpy as np

from nnx import activations, initializers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer, positive_int, snake_case
from nnx.registry import Registry

rnn = lazy("recurrent")

NO_MASK = np.zeros((0, 0), np.uint8)


class Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, params, layouts, masks, go_backwards.

    A subclass sets `gates` and implements `run_forward(x, p, mask) -> (hs, cache)` and
    `run_backward(x, p, mask, hs, cache, dhs, grads, dx)` over time-major arrays.
    """

    gates = 1

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

    # -- building ---------------------------------------------------------------------
    def output_shape_for(self, input_shape):
        if len(input_shape) != 2:
            raise NnxError(f"layer {self.name!r} expects sequences (time, features), got "
                           f"input shape {input_shape}")
        if input_shape[0] < 1:
            raise NnxError(f"layer {self.name!r} needs at least one time step, got input "
                           f"shape {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

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
        self.check_input(x)
        p = self._weights()
        xt = self._time_major(x, p["W_ih"].dtype)
        mask = self._time_major_mask(x.shape)
        hs, cache = self.run_forward(xt, p, mask)
        if training:
            self._cache = (xt, mask, hs, cache)
        if self.return_sequences:
            return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
        return hs[-1].copy()

    def backward(self, dy):
        xt, mask, hs, cache = self._cache
        p = self._weights()
        dt = p["W_ih"].dtype
        dhs = dy.transpose(1, 0, 2) if self.return_sequences else dy[None]
        dhs = np.ascontiguousarray(dhs, dtype=dt)
        dx = np.empty_like(xt) if self.needs_input_grad else np.empty((0, 0, 0), dt)
        grads = [self.grads["W_ih"], self.grads["W_hh"]]
        grads += ([self.grads["b_ih"], self.grads["b_hh"]] if self.use_bias
                  else [np.empty_like(p["b_ih"]), np.empty_like(p["b_hh"])])
        self.run_backward(xt, p, mask, hs, cache, dhs, grads, dx)
        if not self.needs_input_grad:
            return None
        dx = dx[::-1] if self.go_backwards else dx
        return np.ascontiguousarray(dx.transpose(1, 0, 2))

    def run_forward(self, x, p, mask):
        raise NotImplementedError

    def run_backward(self, x, p, mask, hs, cache, dhs, grads, dx):
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------
    def _weights(self):
        p = dict(self.params)
        if not self.use_bias:
            zeros = np.zeros(p["W_hh"].shape[0], p["W_hh"].dtype)
            p["b_ih"] = p["b_hh"] = zeros
        return p

    def _time_major(self, x, dtype):
        """(N, T, F) -> contiguous (T, N, F) in processing order (reversed for go_backwards)."""
        xt = x.transpose(1, 0, 2)
        return np.ascontiguousarray(xt[::-1] if self.go_backwards else xt, dtype=dtype)

    def _time_major_mask(self, shape):
        if self.mask is None:
            return NO_MASK
        mask = np.asarray(self.mask)
        if mask.shape != shape[:2]:
            raise NnxError(f"layer {self.name!r}: mask of shape {mask.shape} does not fit "
                           f"inputs of shape {tuple(shape)}; it must be (batch, time)")
        mt = (mask != 0).T
        return np.ascontiguousarray(mt[::-1] if self.go_backwards else mt, dtype=np.uint8)

    def _state(self, x):
        T, N, _ = x.shape
        return np.empty((T + 1, N, self.units), x.dtype)


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

    def run_forward(self, x, p, mask):
        hs = self._state(x)
        rnn.rnn_forward(x, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"], self.code, mask, hs)
        return hs, None

    def run_backward(self, x, p, mask, hs, cache, dhs, grads, dx):
        rnn.rnn_backward(x, p["W_ih"], p["W_hh"], self.code, mask, hs, dhs, *grads, dx)


class LSTM(Recurrent):
    """i, f, g, o gates; c' = f c + i g; h' = o tanh(c') (PyTorch's nn.LSTM)."""

    gates = 4

    def run_forward(self, x, p, mask):
        T, N, _ = x.shape
        hs, cs = self._state(x), self._state(x)
        tanh_c = np.empty((T, N, self.units), x.dtype)
        gates = np.empty((T, N, 4 * self.units), x.dtype)
        rnn.lstm_forward(x, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"], mask, hs, cs, tanh_c,
                         gates)
        return hs, (cs, tanh_c, gates)

    def run_backward(self, x, p, mask, hs, cache, dhs, grads, dx):
        cs, tanh_c, gates = cache
        rnn.lstm_backward(x, p["W_ih"], p["W_hh"], mask, hs, cs, tanh_c, gates, dhs, *grads,
                          dx)


class GRU(Recurrent):
    """r, z, n gates; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h
    (PyTorch's nn.GRU)."""

    gates = 3

    def run_forward(self, x, p, mask):
        T, N, _ = x.shape
        hs = self._state(x)
        gates = np.empty((T, N, 3 * self.units), x.dtype)
        hn = np.empty((T, N, self.units), x.dtype)
        rnn.gru_forward(x, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"], mask, hs, gates, hn)
        return hs, (gates, hn)

    def run_backward(self, x, p, mask, hs, cache, dhs, grads, dx):
        gates, hn = cache
        rnn.gru_backward(x, p["W_ih"], p["W_hh"], mask, hs, gates, hn, dhs, *grads, dx)


RECURRENT_LAYERS = Registry("recurrent layer type", {
    snake_case(cls.__name__): cls for cls in (SimpleRNN, LSTM, GRU)})
