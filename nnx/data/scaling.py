"""Standardization statistics and scaling in row blocks, so that data of any size is
standardized without a float64 copy of it.

Statistics pool the axes that share one mean/std (`pooled`): the rows of a table, rows and
time steps of sequences, rows and positions of each channel. They are accumulated in
float64 in one pass, around a shift taken from the first block (which keeps the sum of
squares exact enough however far the values sit from zero).

A whole matrix is fitted and scaled in column parts, side by side on threads (numpy
releases the GIL in these passes): each column's statistics add up the same row blocks in
the same order as one pass over all columns would, so the results are bit-identical.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

BLOCK_BYTES = 32 * 2**20  # float64 bytes of one block: bounded memory, few Python steps
# For passes of element-wise steps (scaling in place): a block that stays in the CPU's cache
# from one step to the next, which runs 1.6x faster than 32 MiB blocks.
CACHED_BLOCK_BYTES = 2 * 2**20
# Column parts run side by side: these passes mostly move memory, and two threads took
# the statistics and scaling of 1M x 45 float32 from 0.29 s to 0.22 s on 2 cores.
COLUMN_PARTS = 2


def block_ranges(n_rows, row_values, block_bytes=BLOCK_BYTES):
    """(start, stop) row ranges covering `n_rows` rows of `row_values` values each, a
    float64 copy of each range about `block_bytes`."""
    step = max(1, block_bytes // (8 * max(row_values, 1)))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def pooled(block, layout, buffer):
    """A block (rows, *shape) copied as float64 (samples, features) into the start of
    `buffer` (1-D float64, at least block.size), samples pooled as `layout` says: the
    caller may change it in place, and a loop over blocks reuses one allocation."""
    if layout == "channels":
        block = np.moveaxis(block, 1, -1)
    values = buffer[:block.size].reshape(block.shape)
    np.copyto(values, block, casting="unsafe")
    return values.reshape(-1, block.shape[-1])


def streamed_statistics(blocks, layout):
    """(mean, std, constant) per feature over the rows of `blocks` (arrays (rows, *shape),
    read one at a time); `constant` marks features whose maximum equals their minimum.
    Each block is centred and squared in one float64 buffer, the size of the largest."""
    shift, buffer = None, np.empty(0)
    count = 0
    for block in blocks:
        if block.size > buffer.size:
            buffer = np.empty(block.size)
        values = pooled(block, layout, buffer)
        if not len(values):
            continue
        if shift is None:
            shift = values.mean(axis=0)
            total, squares = np.zeros_like(shift), np.zeros_like(shift)
            low, high = values.min(axis=0), values.max(axis=0)
        low, high = np.minimum(low, values.min(axis=0)), np.maximum(high, values.max(axis=0))
        values -= shift
        total += values.sum(axis=0)
        squares += np.square(values, out=values).sum(axis=0)
        count += len(values)
    mean_offset = total / count
    variance = np.maximum(squares / count - np.square(mean_offset), 0.0)
    return shift + mean_offset, np.sqrt(variance), high == low


def in_column_parts(fn, width):
    """[fn(first, stop) per part] over consecutive column ranges of range(width), run side
    by side on threads, the first on the calling thread. Each part has 2 columns or more:
    numpy sums a single column pairwise, in another order than a column among others."""
    parts = max(1, min(COLUMN_PARTS, width // 2))
    bounds = [width * i // parts for i in range(parts + 1)]
    if parts == 1:
        return [fn(0, width)]
    with ThreadPoolExecutor(parts - 1, thread_name_prefix="nnx-columns") as pool:
        futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
        first = fn(bounds[0], bounds[1])
        return [first, *(future.result() for future in futures)]


def matrix_statistics(x, n_rows):
    """`streamed_statistics` of the first `n_rows` rows of the matrix `x` (rows, features),
    in column parts (`in_column_parts`) over the same row blocks as one pass."""
    ranges = block_ranges(n_rows, x.shape[1])

    def part(first, stop):
        return streamed_statistics((x[a:b, first:stop] for a, b in ranges), "tabular")

    return tuple(np.concatenate(values) for values in zip(*in_column_parts(part, x.shape[1])))


def scale_columns_in_place(x, mean, std, check):
    """(x - mean) / std written over the matrix `x` (rows, width), computed in float64 a
    cached block at a time in column parts (`in_column_parts`); check(block) sees each block
    once written (an overflow to infinity is the caller's to report, with its reason)."""

    def part(first, stop):
        columns = x[:, first:stop]
        ranges = block_ranges(len(x), stop - first, CACHED_BLOCK_BYTES)
        buffer = np.empty((ranges[0][1], stop - first)) if ranges else None
        for a, b in ranges:
            block = np.subtract(columns[a:b], mean[first:stop], out=buffer[:b - a])
            block /= std[first:stop]
            with np.errstate(over="ignore"):
                columns[a:b] = block
            check(columns[a:b])

    in_column_parts(part, x.shape[1])
