"""Tables read with pyarrow: CSV (also .csv.gz) and Parquet (a file, or a folder of files).

A table streams record batches of the columns asked for: numeric columns as float64 numpy
arrays, text columns as trimmed pyarrow string arrays; never one Python object per cell,
never the whole file in memory. Every value is checked as it passes, under the rules of
a CSV cell (`nnx.data.csv_text`): nothing empty or missing, no NaN or infinity, and
numbers where numbers are expected. A bad value stops the read with one line naming the
file, the column and the line (CSV: a re-scan from the batch where the problem showed)
or the row (Parquet, 1-based).

pyarrow is imported here only, when a table is opened.
"""

import math
import queue
import threading
from pathlib import Path

import numpy as np

from nnx.data.csv_text import (
    NOT_IMPUTED,
    cell_problem,
    line_of_row,
    raise_first_problem,
    read_header,
)
from nnx.errors import NnxError

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_BATCH_ROWS = 65_536
# Columns decoded together when a whole table is read column group by column group: pyarrow
# holds buffers for every column it decodes at once, and frees them when the group is done.
PARQUET_GROUP_COLUMNS = 8
# Trimmed text Python's float() reads as NaN or infinity: refused in every column.
NON_FINITE = r"(?i)^[+-]?(nan|inf|infinity)$"


def table_kind(path):
    """"csv", "parquet" or None, from the name (a folder: Parquet files)."""
    name = str(path).lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES) or Path(path).is_dir():
        return "parquet"
    return None


def parquet_files(folder):
    """The Parquet files of a folder (a Parquet dataset), in name order."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PARQUET_SUFFIXES)


def open_table(path):
    """The CsvTable or ParquetTable of `path` (already checked to exist)."""
    path = Path(path)
    return CsvTable(path) if table_kind(path) == "csv" else ParquetTable(path)


class CsvTable:
    """A CSV file with a header row; blank lines are skipped, a quoted field may hold newlines."""

    def __init__(self, path):
        self.path, self.source, self.name = path, str(path), path.name
        self.columns = read_header(path)
        self.n_rows = None  # known once read

    def batches(self, numeric=(), text=()):
        """(first row, {column: values}) per record batch; see the module docstring."""
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        numeric, text = list(numeric), list(text)
        types = {**{c: pa.float64() for c in numeric}, **{c: pa.string() for c in text}}
        options = dict(
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=self.columns),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                include_columns=numeric + text, column_types=types, null_values=[""],
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        start = 0
        try:
            for batch in pa_csv.open_csv(self.path, **options):
                values = {c: _floats(batch.column(c)) if c in numeric
                          else _trimmed(batch.column(c)) for c in numeric + text}
                bad = first_bad_row(values)
                if bad is not None:
                    self._fail(numeric, text, start + bad)
                yield start, values
                start += batch.num_rows
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            self._fail(numeric, text, start, err)
        except OSError as err:
            raise NnxError(f"{self.source}: cannot read: {err.strerror or err}") from None
        self.n_rows = start
        release_memory()

    def column_batches(self, numeric=(), text=()):
        """As `batches`: a CSV row is parsed whole, so each batch holds every column."""
        return self.batches(numeric, text)

    def stored_columns(self, columns):
        """None: a CSV file stores only text, read through `batches`."""

    def place(self, row):
        return f"line {line_of_row(self.path, row)}"

    def _fail(self, numeric, text, row, err=None):
        fallback = NnxError(f"{self.source}: not a valid CSV file near data row {row + 1}"
                            + (f": {str(err).splitlines()[0]}" if err else ""))
        raise_first_problem(self.path, self.columns, numeric, text, row, fallback)


class ParquetTable:
    """A Parquet file, or a folder of Parquet files with one schema read in name order."""

    def __init__(self, path):
        from pyarrow import parquet as pq

        self.path, self.source, self.name = path, str(path), path.name
        self.paths = files = parquet_files(path) if path.is_dir() else [path]
        self.files = []
        for file in files:
            try:
                # A buffered stream, not the whole column chunks prefetched: 10x faster here.
                self.files.append(pq.ParquetFile(file, buffer_size=2**20, pre_buffer=False))
            except Exception as err:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
                raise NnxError(f"{file}: not a readable Parquet file "
                               f"({str(err).splitlines()[0]})") from None
        schema = self.files[0].schema_arrow
        for file, parquet in zip(files[1:], self.files[1:]):
            if not parquet.schema_arrow.equals(schema):
                raise NnxError(f"{file}: its columns differ from those of {files[0].name} "
                               "(every file of a Parquet folder needs the same schema)")
        self.schema = schema
        self.columns = list(schema.names)
        duplicate = next((n for i, n in enumerate(self.columns) if n in self.columns[:i]), None)
        if duplicate is not None:
            raise NnxError(f"{self.source}: names column {duplicate!r} twice")
        self.n_rows = sum(f.metadata.num_rows for f in self.files)
        if self.n_rows == 0:
            raise NnxError(f"{self.source}: no data rows")

    def batches(self, numeric=(), text=()):
        """(first row, {column: values}) per record batch of every column asked for."""
        numeric, text = list(numeric), list(text)
        for column in numeric + text:
            self._check_type(column)
        yield from read_ahead(self._read(numeric, text))

    def column_batches(self, numeric=(), text=()):
        """(first row, {column: values}) per record batch of a group of the columns asked
        for, group after group: every batch of one group before the next group's first,
        so the reader's memory stays that of a few columns. The problems of one group are
        found before those of the next; read `batches` for the first problem in row order."""
        numeric, text = list(numeric), list(text)
        for column in numeric + text:
            self._check_type(column)
        columns = numeric + text
        groups = [columns[first:first + PARQUET_GROUP_COLUMNS]
                  for first in range(0, len(columns), PARQUET_GROUP_COLUMNS)]
        yield from read_ahead(batch for group in groups for batch in self._read(
            [c for c in group if c in numeric], [c for c in group if c in text]))

    def stored_columns(self, columns):
        """{column: pyarrow ChunkedArray} of whole `columns` as the files store them, text
        read as dictionary arrays (each distinct value once per row group): a few columns
        for the first pass, with no work per cell. Nothing is checked: nulls, empty and
        non-finite values are the caller's to find."""
        import pyarrow as pa
        from pyarrow import parquet as pq

        text = [c for c in columns if _is_text(self.schema.field(c).type)]
        chunks = {c: [] for c in columns}
        for path in self.paths:
            table = pq.ParquetFile(path, read_dictionary=text).read(columns=list(columns),
                                                                    use_threads=False)
            for column in columns:
                chunks[column] += table.column(column).chunks
        return {c: pa.chunked_array(parts) for c, parts in chunks.items()}

    def _read(self, numeric, text):
        start = 0
        for parquet in self.files:
            # One thread decodes: with several, pyarrow keeps more buffers alive for no gain
            # on a few columns.
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS,
                                              columns=numeric + text, use_threads=False):
                values = {c: self._as_read(batch.column(c), c, c in numeric, start)
                          for c in numeric + text}
                bad = first_bad_row(values)
                if bad is not None:
                    self._fail(values, start, bad)
                yield start, values
                start += batch.num_rows
        release_memory()

    def place(self, row):
        return f"row {row + 1}"

    def _check_type(self, column):
        import pyarrow as pa

        kind = self.schema.field(column).type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_temporal(kind):
            raise NnxError(f"{self.source}: column {column!r} holds {kind} values; nnx reads "
                           "numbers and text")

    def _as_read(self, values, column, numeric, start):
        """A column as float64 (numeric) or trimmed strings; text to be numbers is parsed."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if values.null_count:
            bad = int(np.argmax(values.is_null().to_numpy(zero_copy_only=False)))
            raise NnxError(f"{self.source}: column {column!r}, {self.place(start + bad)}: "
                           f"missing value (null) {NOT_IMPUTED}")
        if not numeric:
            return _trimmed(pc.cast(values, pa.string()))
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                or pa.types.is_dictionary(values.type)):
            return _floats(pc.cast(values, pa.float64()))
        texts = _trimmed(pc.cast(values, pa.string()))
        try:
            return _floats(pc.cast(texts, pa.float64()))
        except pa.ArrowInvalid:
            bad = next(i for i, t in enumerate(texts.to_pylist())
                       if t is not None and cell_problem(t, True))
            raise NnxError(f"{self.source}: column {column!r}, {self.place(start + bad)}: "
                           f"{cell_problem(texts[bad].as_py(), True)}") from None

    def _fail(self, values, start, bad):
        for column, array in values.items():
            if isinstance(array, np.ndarray):
                value = float(array[bad])
                problem = None if math.isfinite(value) else \
                    f"{str(value)!r} is not a finite value {NOT_IMPUTED}"
            else:
                problem = cell_problem(array[bad].as_py(), False)
            if problem:
                raise NnxError(f"{self.source}: column {column!r}, {self.place(start + bad)}: "
                               f"{problem}")
        raise AssertionError("a bad row without a bad value")


def _is_text(kind):
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def first_bad_row(values):
    """The first row of a batch with a missing or non-finite number (numpy values) or an
    empty, missing or non-finite text (pyarrow strings), or None."""
    import pyarrow.compute as pc

    bad = None
    for array in values.values():
        if isinstance(array, np.ndarray):
            flags = ~np.isfinite(array)
        else:
            flags = pc.or_(pc.equal(array, ""), pc.match_substring_regex(array, NON_FINITE))
            flags = pc.fill_null(flags, True).to_numpy(zero_copy_only=False)
        if flags.any():
            row = int(np.argmax(flags))
            bad = row if bad is None else min(bad, row)
    return bad


def read_ahead(items):
    """The items of the iterator `items`, each made on a second thread while the caller
    works on the one before: pyarrow decodes without holding the GIL, so a table's
    reading overlaps the writing of its values. An exception of `items` is raised here."""
    handoff, stop = queue.Queue(maxsize=1), threading.Event()

    def hand(entry):
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in items:
                if not hand((item, None)):
                    return
            hand((_DONE, None))
        except Exception as err:  # noqa: BLE001 - raised again in the caller's thread
            hand((None, err))

    worker = threading.Thread(target=produce, name="nnx-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, err = handoff.get()
            if err is not None:
                raise err
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()  # the caller stopped early, or the items are done
        worker.join()


_DONE = object()


def release_memory():
    """Hand the memory pyarrow has freed back to the system: its pool keeps freed blocks
    for reuse, which after a whole table's read is a large part of the process's peak."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _floats(array):
    """float64 numpy values of a float64 pyarrow array (a null reads as NaN)."""
    if isinstance(array, np.ndarray):
        return array
    return array.to_numpy(zero_copy_only=False)


def _trimmed(array):
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(array)


def text_values(array):
    """A pyarrow string array as a numpy str array, through its distinct values (no Python
    object per cell)."""
    distinct, codes = text_codes(array)
    return distinct[codes] if len(distinct) else np.array([], dtype=str)


def text_codes(array):
    """(distinct values as a numpy str array, the index of each cell's value among them) of
    a pyarrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], pa.string())
    encoded = pc.dictionary_encode(array)
    distinct = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
    return distinct, encoded.indices.to_numpy(zero_copy_only=False)
