"""The model file: an .npz loadable without pickle.

Arrays live under `layers/<index>.<name>/<param or state>` (index: the position in
`model.layers`; a graph model lists each layer once, a shared one too); `__nnx__` is a uint8
array of UTF-8 JSON `{"format": "nnx.model/1", "model": <model config>, "preprocessing":
{...}}`. A graph model's config holds its nodes: `inputs`, `layers` (with `inputs:` lists)
and `outputs`.
The write goes to a temporary file renamed into place, so a crash never leaves half a file.
This module knows the file, not the models: `nnx.model.build.load_model` makes the model
a file describes.
"""

import json
import math
import os
import zipfile

import numpy as np

from nnx.atomic import replace_atomically
from nnx.errors import NnxError
from nnx.limits import check_arrays
from nnx.nesting import loads_json

FORMAT = "nnx.model/1"
META_KEY = "__nnx__"


def save_model(model, path, preprocessing=None):
    if not model.built:
        raise NnxError("the model is not built yet: fit it or give input_shape")
    arrays = {}
    for i, layer in enumerate(model.layers):
        for key, value in {**layer.params, **layer.state}.items():
            arrays[f"layers/{i}.{layer.name}/{key}"] = value
    meta = {"format": FORMAT, "model": model.get_config(), "preprocessing": preprocessing}
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    replace_atomically(path, lambda handle: np.savez(handle, **arrays), binary=True)


def read_model_file(path):
    """(meta, arrays) of a model file; NnxError when it is missing, damaged or not ours."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise NnxError(f"model file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            check_arrays(_array_bytes(data), repr(path))  # before reading any of them
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise NnxError(f"{path!r} is not a readable model file ({err})") from None
    if META_KEY not in arrays:
        raise NnxError(f"{path!r} is not an nnx model file (no {META_KEY} entry)")
    try:
        meta = loads_json(arrays.pop(META_KEY).tobytes().decode("utf-8"),
                          f"{path!r}: its {META_KEY} entry")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NnxError(f"{path!r} has a damaged {META_KEY} entry ({err})") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != FORMAT:
        raise NnxError(f"{path!r} has format {found!r}, nnx reads {FORMAT!r}")
    return meta, arrays


def _array_bytes(data):
    """{name: bytes} of the arrays in an open .npz, from their headers alone (reading an
    array allocates the shape its header states before reading a byte)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    sizes = {}
    for info in data.zip.infolist():
        sizes[info.filename] = info.file_size  # what np.load reads of a member not .npy
        if info.filename.endswith(".npy"):
            with data.zip.open(info) as member:
                reader = readers.get(np.lib.format.read_magic(member))
                if reader is not None:  # other versions: np.load says what is wrong
                    shape, _, dtype = reader(member)
                    sizes[info.filename] = dtype.itemsize * math.prod(shape)
    return sizes
