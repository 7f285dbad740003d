"""Constants the kernels switch on: activation codes and the fixed activation parameters.

Kernels select an activation by integer code, never by a function argument (a function
argument defeats numba's disk cache). This module imports nothing, so the name registry in
nnx/activations.py and config validation can read it without loading numba.
"""

LINEAR, SIGMOID, RELU, LEAKY_RELU, ELU, GELU, TANH, SOFTMAX = range(8)

LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0
