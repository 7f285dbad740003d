"""The experiment files shipped with nnx (the repository's experiments/, in the wheel as
nnx/experiments/): listing them and copying one out for `nnx examples`."""

import re
import shutil
from pathlib import Path

from nnx.errors import NnxError, WriteError, closest

FOLDER = Path(__file__).resolve().parent / "experiments"
SUFFIX = ".yaml"


def shipped():
    """{name: path} of the shipped files: experiments by name without `.yaml`, other files
    (crontab.example) by their file name."""
    files = sorted(p for p in FOLDER.iterdir() if p.is_file()) if FOLDER.is_dir() else []
    return {p.name.removesuffix(SUFFIX): p for p in files}


def summary(path, width=90):
    """The first sentence of a file's leading comment (what the example is), at most
    `width` characters."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    sentence = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[:width - 1].rstrip() + "…"


def copy_example(name, destination=".", force=False):
    """Copy the shipped file `name` to `destination` (a folder, or a file name); returns the
    path written. NnxError for an unknown name or a file that exists (unless `force`)."""
    files = shipped()
    key = name.removesuffix(SUFFIX)
    if key not in files:
        hint = closest(key, list(files))
        raise NnxError(f"no shipped example {name!r}; `nnx examples` lists them"
                       + (f" (did you mean {hint!r}?)" if hint else ""))
    source = files[key]
    target = Path(destination)
    if target.is_dir():
        target = target / source.name
    refuse_existing(target, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as err:
        raise WriteError(target, err) from err
    return target


def refuse_existing(path, force):
    """NnxError when `path` exists and `force` is not given (nothing is overwritten by
    surprise); a folder is never replaced."""
    path = Path(path)
    if path.is_dir():
        raise NnxError(f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise NnxError(f"{path} exists; pass --force to overwrite it")
