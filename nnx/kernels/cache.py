"""Where compiled kernels are kept: one numba cache per installation, from any folder.

numba's own default puts a cache beside each source file (`__pycache__`), or in a per-user
folder when that is not writable, and `NUMBA_CACHE_DIR` moves it: a command started with the
variable and one started without it compile everything twice. nnx picks one folder itself,
so `make install`'s warmup, `make run`, `.venv/bin/nnx ...` from any working directory and a
Python script all share the kernels compiled once:

1. `NUMBA_CACHE_DIR`, when set (respected as numba respects it);
2. else `<environment>/var/cache/nnx` (sys.prefix: the virtual environment) when writable,
   so the cache goes with the environment it was compiled for (`make clean` drops both);
3. else, for an install into a read-only site-packages, the user's cache folder:
   `$XDG_CACHE_HOME/nnx` or `~/.cache/nnx`;
4. else a folder in the temporary directory.

Inside it, one subfolder per nnx version and kernel sources (a hash of nnx/kernels/*.py):
numba keys its cache on each file's own time stamp, so a change in a module that a kernel
imports (a constant, an inlined helper) would otherwise load stale machine code.
This module imports no numba: `nnx warmup` names the folder before loading anything.
"""

import getpass
import hashlib
import os
import sys
import tempfile
from pathlib import Path

KERNELS = Path(__file__).parent


def sources_stamp():
    """'<version>-<12 hex digits>' of nnx's version and the kernel sources."""
    from nnx import __version__

    digest = hashlib.sha1()
    for path in sorted(KERNELS.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{__version__}-{digest.hexdigest()[:12]}"


def _writable(folder):
    """Whether `folder` exists or can be made, and files can be written in it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def cache_root():
    """The folder that holds nnx's kernel caches (NUMBA_CACHE_DIR aside), see above."""
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnx"
    for folder in (Path(sys.prefix) / "var" / "cache" / "nnx", user):
        if _writable(folder):
            return folder
    return Path(tempfile.gettempdir()) / f"nnx-cache-{getpass.getuser()}"


def cache_dir():
    """The numba cache folder of this nnx: NUMBA_CACHE_DIR, or this version's folder."""
    return os.environ.get("NUMBA_CACHE_DIR") or str(cache_root() / sources_stamp())


def stale_folders():
    """Cache folders of other nnx versions or kernel sources beside this one's (none when
    NUMBA_CACHE_DIR chose the folder): `nnx warmup` removes them."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return []
    root, current = cache_root(), sources_stamp()
    return sorted(str(path) for path in root.iterdir() if path.is_dir() and path.name != current)
