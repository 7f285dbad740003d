"""CSV as text with Python's `csv` module: the header, and the re-scan that names a bad line.

pyarrow reads the values (`nnx.data.tables`); this module reads what it cannot tell
precisely: the header (names stripped, checked), and, when a batch holds a bad value or
a broken row, the file line of the first problem (a quoted field may span lines, so only
a CSV reader can count them). The rules are those of a cell: stripped text, never empty,
never a non-finite number, and in a numeric column a number.
"""

import csv
import gzip
import math
from contextlib import contextmanager

from nnx.errors import NnxError

NOT_IMPUTED = "(nnx does not fill in missing values)"


@contextmanager
def csv_rows(path):
    """A `csv.reader` over the file (gzip-compressed for a .gz name); read errors as NnxError."""
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
            yield csv.reader(handle)
    except UnicodeDecodeError:
        raise NnxError(f"{path}: not UTF-8 text; is it really a CSV file?") from None
    except csv.Error as e:
        raise NnxError(f"{path}: not a valid CSV file: {e}") from None
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise NnxError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None


def read_header(path):
    """The header's column names (stripped); NnxError for an empty file, a bad header or a
    file with no data row."""
    with csv_rows(path) as reader:
        header = next(reader, None)
        first = next((row for row in reader if row), None)
    if header is None:
        raise NnxError(f"{path}: the file is empty; a CSV needs a header row and data rows")
    header = [name.strip() for name in header]
    if not all(header):
        raise NnxError(f"{path}: the header has an empty column name (column "
                       f"{header.index('') + 1}); every column needs a name")
    duplicate = next((n for i, n in enumerate(header) if n in header[:i]), None)
    if duplicate is not None:
        raise NnxError(f"{path}: the header names column {duplicate!r} twice")
    if first is None:
        raise NnxError(f"{path}: only a header row, no data rows")
    return header


def raise_first_problem(path, header, numeric, text, start_row, fallback):
    """Raise the NnxError of the first bad row at or after data row `start_row` (0-based):
    a row of the wrong width, or a bad cell in the `numeric` or `text` columns, naming its
    file line. `fallback` is raised when the re-scan finds nothing wrong."""
    checks = [(header.index(c), c, c in numeric) for c in header if c in numeric or c in text]
    with csv_rows(path) as reader:
        next(reader, None)
        row_index = -1
        for row in reader:
            if not row:
                continue
            row_index += 1
            if row_index < start_row:
                continue
            if len(row) != len(header):
                raise NnxError(f"{path}: line {reader.line_num} has {len(row)} fields, the "
                               f"header has {len(header)}")
            for j, column, is_number in checks:
                problem = cell_problem(row[j], is_number)
                if problem:
                    raise NnxError(f"{path}: column {column!r}, line {reader.line_num}: "
                                   f"{problem}")
    raise fallback


def line_of_row(path, row):
    """The file line (as the `csv` module counts, the record's last) of data row `row`
    (0-based; blank lines are not rows)."""
    with csv_rows(path) as reader:
        next(reader, None)
        index = -1
        for record in reader:
            index += bool(record)
            if record and index == row:
                return reader.line_num
    raise AssertionError(f"{path} has no data row {row}")


def cell_problem(text, numeric):
    """What is wrong with a cell's text (None when nothing is): empty, a non-finite number,
    or in a `numeric` column not a number at all (written as pyarrow reads numbers)."""
    text = text.strip()
    if not text:
        return f"empty cell {NOT_IMPUTED}"
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None and not math.isfinite(value):
        return f"{text!r} is not a finite value {NOT_IMPUTED}"
    if numeric and (value is None or "_" in text or not text.isascii()):
        return (f"{text!r} is not a number (list the column under data.categorical if it "
                "holds categories)")
    return None
