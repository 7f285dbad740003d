"""How much memory this process may ever take, byte counts for people, and a large array
mapped in at once.

Both the model's size check (`nnx.limits`) and the data readers (a table too big to hold)
compare what they need with `machine_memory()`; low, so that either may use it.
"""

import math
import mmap
import os

import numpy as np

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
# A container's memory limit: cgroup v2, then v1 (which shows a huge number when unlimited).
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def machine_memory():
    """(bytes, phrase): the most memory this process could get, and where that bound comes
    from: the machine's physical memory, or less where a cgroup (a container) or an
    address-space limit (ulimit -v) caps it. (None, None) where none is known."""
    bounds = []
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        bounds.append((physical, f"this machine has {format_bytes(physical)} of memory"))
    except (AttributeError, OSError, ValueError):
        pass
    for path in CGROUP_LIMITS:
        limit = _read_limit(path)
        if limit is not None:
            bounds.append((limit, f"this process may use {format_bytes(limit)} ({path})"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            bounds.append((soft, f"this process may use {format_bytes(soft)} (ulimit -v)"))
    except (ImportError, OSError, ValueError):
        pass
    return min(bounds, key=lambda bound: bound[0]) if bounds else (None, None)


def populated_empty(shape, dtype):
    """As np.empty(shape, dtype), its memory mapped in by one system call (MAP_POPULATE,
    Linux) instead of one page fault per page at first touch: for an array about to be
    written whole, in scattered order. A 1M x 45 float32 table matrix took 0.4 s of page
    faults on a 2-core VM, 0.04 s populated."""
    size = math.prod(shape) * np.dtype(dtype).itemsize
    if not hasattr(mmap, "MAP_POPULATE") or size == 0:
        return np.empty(shape, dtype)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                       mmap.MAP_POPULATE)
    return np.frombuffer(memory, dtype).reshape(shape)


def _read_limit(path):
    """The byte count in a cgroup limit file; None when absent or unlimited ("max")."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None

def format_bytes(count):
    """`count` bytes for people: 512 B, 23.0 GiB, 14.6 TiB (EiB beyond)."""
    power = 0
    while count >= 1024 ** (power + 1) and power < len(UNITS) - 1:
        power += 1
    if power == 0:
        return f"{count} B"
    whole = count // 1024 ** power
    if whole >= 10_000:  # only in the largest unit
        return f"{integer_text(whole, digits=4)} {UNITS[power]}"
    return f"{count / 1024 ** power:.1f} {UNITS[power]}"

def integer_text(value, digits=15):
    """An integer as messages show it: in full up to `digits` digits, else as 3e40 (an
    absurd size typed by mistake can have thousands of digits)."""
    if value < 10**digits:
        return str(value)
    exponent = int(math.log10(value))
    exponent -= value < 10**exponent  # log10 rounds up just below a power of ten
    return f"{value // 10**exponent}e{exponent}"
