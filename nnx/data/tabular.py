"""A table file (CSV, Parquet) -> one feature matrix in the model's dtype, rows in split order.

Two passes. The first reads the target and categorical columns: the split and the one-hot
vocabularies (from the training rows) depend on them; Parquet gives them whole as stored
(numbers as numbers, text as dictionaries of its distinct values), CSV as checked text in
record batches. The second streams the features in record batches: it encodes each
batch of features and writes its rows straight to their places in one preallocated matrix,
ordered train, validation, test, so that every split is a view of it. Standardization is
fitted on the training rows and applied in place: no second copy of the data exists.
"""

import numpy as np

from nnx.data.files import require_column
from nnx.data.preprocessing import Preprocessor
from nnx.data.scaling import block_ranges
from nnx.data.splits import split_views
from nnx.data.tables import open_table, release_memory, text_values
from nnx.data.targets import CSV_MAX_INT_CLASSES, infer_task
from nnx.errors import NnxError
from nnx.memory import populated_empty


class TableSource:
    """The labels of a table, read in the first pass; `build` reads its features."""

    def __init__(self, path, target, categorical, sample_weight=None):
        self.table = table = open_table(path)
        for column in [*target, *categorical]:
            require_column(table.source, table.columns, column,
                           "target" if column in target else "categorical")
        both = sorted(set(target) & set(categorical))
        if both:
            raise NnxError(f"{table.source}: column {both[0]!r} is both a target and "
                           "categorical")
        self.features = [c for c in table.columns if c not in target and c != sample_weight]
        if not self.features:
            raise NnxError(f"{table.source}: no feature columns left besides the target "
                           f"{target}")
        self.categorical = list(categorical)
        self.name, self.targets, self.classes = table.name, list(target), None
        self.y, self.categories = _read_labels(table, target, categorical)
        self.n_rows = table.n_rows
        self.task = infer_task(self.y, CSV_MAX_INT_CLASSES)
        self.sample_weight = None if sample_weight is None else \
            _sample_weights(table, sample_weight)
        release_memory()  # the text of the first pass, before the matrix is made

    def check_features(self):
        """Read the features once, for their errors only."""
        numeric = [c for c in self.features if c not in self.categorical]
        for _ in self.table.batches(numeric, self.categorical):
            pass

    def build(self, parts, task, classes, standardize, dtype, autoencoder):
        """(Preprocessor, x per split: views of one (N, width) matrix in `dtype`, the splits'
        rows, y per split for an autoencoder: the features before standardization)."""
        train = parts[0]
        vocabularies = {c: distinct[np.unique(codes[train])].tolist()
                        for c, (distinct, codes) in self.categories.items()}
        width = sum(len(vocabularies.get(c, [c])) for c in self.features)
        pre = Preprocessor(task, (width,), self.features, categorical=vocabularies,
                           classes=classes, targets=self.targets)
        check_fits(self.table.source, self.n_rows, width, dtype, 2 if autoencoder else 1)
        place = np.empty(self.n_rows, dtype=np.intp)
        place[np.concatenate([part for part in parts if part is not None])] = \
            np.arange(self.n_rows)
        x = populated_empty((self.n_rows, width), dtype)
        numeric = [c for c in self.features if c not in vocabularies]
        try:
            for start, values in self.table.column_batches(numeric, self.categorical):
                if standardize and start == 0:
                    pre.fit_shift(values)
                rows = place[start:start + len(next(iter(values.values())))]
                pre.write_columns(x, rows, values, self.name, start)
        except NnxError:
            self._raise_first_problem(numeric, pre, dtype, standardize)
            raise
        features = split_views(self._unshifted(x, pre), parts) if autoencoder else None
        if standardize:
            pre.fit_rows(x, len(train))
            pre.scale_in_place(x)
        return pre, split_views(x, parts), parts, features

    def _raise_first_problem(self, numeric, pre, dtype, standardize):
        """Read the features again in row order, encoding each batch whole: the first
        problem there is raised, as a read in row order names it (a read by column groups
        finds the problems of one group before those of the next)."""
        for start, values in self.table.batches(numeric, self.categorical):
            if standardize and start == 0:
                pre.fit_shift(values)
            pre.encode_columns(values, dtype, self.name, start)

    @staticmethod
    def _unshifted(x, pre):
        """A copy of the encoded x with the shift added back: the features as read."""
        features = x.copy()
        if pre.shift is not None:
            for start, stop in block_ranges(len(x), x.shape[1]):
                features[start:stop] = x[start:stop] + pre.shift
        return features


def check_fits(source, n_rows, width, dtype, copies=1):
    """NnxError when the feature matrix (`copies` of it) could never fit in this process's
    memory, before any of it is allocated."""
    from nnx.memory import format_bytes, machine_memory

    need = n_rows * width * np.dtype(dtype).itemsize * copies
    available, machine = machine_memory()
    if available is not None and need > available:
        raise NnxError(f"{source}: its {n_rows:,} rows of {width} features need "
                       f"{format_bytes(need)} as {np.dtype(dtype).name}; {machine}. Save it "
                       "as a folder of .npy files (x.npy, y.npy), which training reads "
                       "memory-mapped")


def _sample_weights(table, column):
    """float64 (N,) of the `data.sample_weight` column: a number >= 0 in every row (an empty
    or non-finite cell is refused by the table's reader, with its line or row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    require_column(table.source, table.columns, column, "sample_weight")
    parts = []
    for start, values in table.batches(text=[column]):
        texts = values[column]
        try:
            weights = pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # some cell is no number: find it
            weights = np.array([_number(text) for text in texts.to_pylist()])
        bad = np.flatnonzero(~(weights >= 0))
        if len(bad):
            row = int(bad[0])
            problem = "is negative; weights must be >= 0" if weights[row] < 0 else \
                "is not a number"
            raise NnxError(f"{table.source}: sample_weight column {column!r}, "
                           f"{table.place(start + row)}: {texts[row].as_py()!r} {problem}")
        parts.append(weights)
    return np.concatenate(parts) if parts else np.empty(0)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return np.nan


def _read_labels(table, target, categorical):
    """(the targets as `_target_values` gives them, {categorical column: its
    `_sorted_codes`}) of the table."""
    stored = _stored_labels(table, target, categorical)
    if stored is not None:
        return stored
    labels = _read_text(table, [*target, *categorical])
    return (_target_values([labels[t] for t in target]),
            {c: _sorted_codes(labels[c]) for c in categorical})


def _stored_labels(table, target, categorical):
    """As `_read_labels`, from the columns as the table stores them (Parquet): integers and
    float64 as numbers, text through its distinct values, each trimmed and checked once,
    with no work per cell. None when the table stores only text (CSV), or a column is of
    another type, holds a value the rules refuse, or mixes numbers with text among the
    targets: the checked text of `_read_text` then gives the values, or names the problem's
    row, as it always has. The results are written where they stay, with no temporary
    numpy array as large as a column: once one is freed, the C allocator keeps arrays of
    that size on its heap, where freeing them returns no memory, and a run's peak rose."""
    import pyarrow as pa

    try:
        stored = table.stored_columns([*target, *categorical])
    except (pa.ArrowException, OSError):  # a damaged file: the batches name the problem
        return None
    if stored is None or any(column.null_count for column in stored.values()):
        return None
    texts = {c: _distinct_codes(column) for c, column in stored.items()
             if pa.types.is_dictionary(column.type)}
    if any(texts.get(c) is None for c in categorical):
        return None
    y = np.empty((table.n_rows, len(target)))
    if not all(_write_numbers(stored[t], texts.get(t), y[:, k]) for k, t in enumerate(target)):
        if not all(texts.get(t) is not None for t in target):
            return None
        y = np.stack([texts[t][0][texts[t][1]] for t in target], axis=1)
    return y, {c: texts[c] for c in categorical}


def _write_numbers(column, text, out):
    """Write a stored target column into `out` (float64, one per row): its integers, its
    finite float64 values, or its text (`text`: distinct values and codes) when every value
    is a number. False when it is none of these."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if text is not None:
        distinct, codes = text
        try:
            numbers = pc.cast(pa.array(distinct.tolist(), pa.string()), pa.float64())
        except pa.ArrowInvalid:
            return False
        np.take(numbers.to_numpy(), codes, out=out, mode="clip")  # "clip": no buffer
        return True
    kind = column.type
    if not ((pa.types.is_integer(kind) and kind != pa.uint64()) or pa.types.is_float64(kind)):
        return False
    start = 0
    for chunk in column.chunks:
        out[start:start + len(chunk)] = chunk.to_numpy()
        start += len(chunk)
    return bool(np.isfinite(out.min()) and np.isfinite(out.max()))


def _distinct_codes(column):
    """(the distinct trimmed values in use, sorted, as a numpy str array; the index of each
    row's value among them) of a dictionary-encoded text column, as `_sorted_codes` gives
    them; None when a value in use is empty or a non-finite number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from nnx.data.tables import NON_FINITE

    words, chunks = [], []
    for chunk in column.chunks:
        trimmed = pc.utf8_trim_whitespace(chunk.dictionary)
        used = np.zeros(len(trimmed), dtype=bool)
        used[pc.unique(chunk.indices).to_numpy()] = True
        bad = pc.or_(pc.equal(trimmed, ""), pc.match_substring_regex(trimmed, NON_FINITE))
        if (bad.to_numpy(zero_copy_only=False) & used).any():
            return None
        texts = trimmed.to_pylist()
        words += [text for text, in_use in zip(texts, used) if in_use]
        chunks.append((texts, chunk.indices))
    distinct = np.unique(np.asarray(words, dtype=str))
    codes, start = np.empty(len(column), dtype=np.int64), 0
    for texts, indices in chunks:
        lookup = pa.array(np.searchsorted(distinct, np.asarray(texts, dtype=str)))
        codes[start:start + len(indices)] = pc.take(lookup, indices).to_numpy()
        start += len(indices)
    return distinct, codes


def _read_text(table, columns):
    """{column: pyarrow ChunkedArray of trimmed text} of the whole table."""
    import pyarrow as pa

    chunks = {c: [] for c in columns}
    for _, values in table.batches(text=columns):
        for column, array in values.items():
            chunks[column].append(array)
    return {c: pa.chunked_array(parts, type=pa.string()) for c, parts in chunks.items()}


def _target_values(columns):
    """(N, K) targets: float64 when every target cell is a number, else text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return np.stack([pc.cast(c, pa.float64()).to_numpy() for c in columns], axis=1)
    except pa.ArrowInvalid:
        return np.stack([text_values(c) for c in columns], axis=1)


def _sorted_codes(column):
    """(distinct values sorted, the index of each row's value among them) of a text column."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column.combine_chunks())
    distinct = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
    order = np.argsort(distinct)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[encoded.indices.to_numpy(zero_copy_only=False)]
