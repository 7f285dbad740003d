"""The one way kernels are compiled.

`cache=True`: compiled code is kept on disk, so a second process loads instead of compiling.
`error_model="numpy"`: a division by zero gives inf/nan (which the divergence guard sees)
instead of a Python exception; the exception check blocks SIMD vectorization of loops with a
division (Adam's update ran 3x slower with it).
"""

from numba import njit

kernel = njit(cache=True, error_model="numpy")
