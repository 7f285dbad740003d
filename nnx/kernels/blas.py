"""General matrix products on sub-matrices of flat buffers, through the BLAS numba uses.

numba's np.dot(a, b, out) takes whole contiguous 2-D arrays and overwrites `out`: a strided
sub-matrix (one head's columns of the packed attention projections, one tap's shifted view
of a padded image) is copied first, and a sum of products needs an extra pass. `gemm` hands
BLAS the sub-matrix itself (start offset and row pitch) with alpha and beta:

    C = alpha * op(A) @ op(B) + beta * C

on row-major matrices. It calls the same BLAS routine as np.dot: numba's own `numba_xxgemm`
helper, which wraps SciPy's cython_blas sgemm/dgemm and is linked by name, so kernels that
use it stay in numba's disk cache.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas, get_blas_kind

from nnx.kernels.jit import kernel

_CHAR = ir.IntType(8)
_VOID_P = ir.IntType(8).as_pointer()


@intrinsic
def _xxgemm(typingctx, trans_a, trans_b, m, n, k, alpha, a, a_start, lda, b, b_start, ldb,
            beta, c, c_start, ldc):
    """Row-major C (m, n) = alpha op(A) op(B) + beta C on flat 1-D buffers: the column-major
    BLAS computes C^T = op(B)^T op(A)^T on the same memory (as numba's np.dot does)."""
    dtype = c.dtype
    sig = types.intc(types.boolean, types.boolean, types.intp, types.intp, types.intp, dtype,
                     a, types.intp, types.intp, b, types.intp, types.intp, dtype, c,
                     types.intp, types.intp)

    def codegen(context, builder, signature, args):
        ensure_blas()
        (trans_a, trans_b, m, n, k, alpha, a, a_start, lda, b, b_start, ldb, beta, c,
         c_start, ldc) = args
        fnty = ir.FunctionType(ir.IntType(32), [_CHAR, _CHAR, _CHAR, m.type, m.type, m.type,
                                                _VOID_P, _VOID_P, m.type, _VOID_P, m.type,
                                                _VOID_P, _VOID_P, m.type])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")

        def data(array_type, value, start):
            array = context.make_array(array_type)(context, builder, value)
            return builder.bitcast(builder.gep(array.data, [start]), _VOID_P)

        def flag(transposed):
            return builder.select(transposed, ir.Constant(_CHAR, ord("t")),
                                  ir.Constant(_CHAR, ord("n")))

        kind = ir.Constant(_CHAR, ord(get_blas_kind(dtype)))
        alpha_slot = cgutils.alloca_once_value(builder, alpha)
        beta_slot = cgutils.alloca_once_value(builder, beta)
        return builder.call(fn, (kind, flag(trans_b), flag(trans_a), n, m, k,
                                 builder.bitcast(alpha_slot, _VOID_P),
                                 data(signature.args[9], b, b_start), ldb,
                                 data(signature.args[6], a, a_start), lda,
                                 builder.bitcast(beta_slot, _VOID_P),
                                 data(signature.args[13], c, c_start), ldc))

    return sig, codegen


@kernel
def gemm(a, a_view, b, b_view, c, c_view, shape, alpha, beta):
    """C = alpha op(A) @ op(B) + beta C, row-major, on views of flat contiguous buffers.

    Each view is (start, pitch, transposed): the matrix starts at element `start` of its
    buffer and its rows are `pitch` elements apart (transposed is ignored for C); shape is
    (m, n, k) with C (m, n), op(A) (m, k), op(B) (k, n). beta = 0 ignores C's old values."""
    m, n, k = shape
    a_start, lda, trans_a = a_view
    b_start, ldb, trans_b = b_view
    c_start, ldc, _ = c_view
    t = c.dtype.type
    _xxgemm(trans_a, trans_b, m, n, k, t(alpha), a, a_start, lda, b, b_start, ldb, t(beta), c,
            c_start, ldc)
