"""Nesting caps for what nnx parses: experiment files, run and study records, model configs.

PyYAML and json read one nesting level with several Python frames each, so a file nested a
few thousand levels deep runs out of Python's stack half-way: a RecursionError, not a
message. Readers refuse such a file in one line instead. Kept low (it imports nothing of
nnx but the error) so that the results, config and model readers can all use it.
"""

import json

from nnx.errors import NnxError

# Experiments, run records and model configs nest about ten levels deep; a hundred levels
# is far beyond use and far below the depth at which the parsers exhaust the stack.
MAX_DEPTH = 100


def loads_json(text, where):
    """`json.loads(text)`, refused (NnxError naming `where`) when nested more than MAX_DEPTH
    deep, which json's decoder would follow until Python's stack runs out. A syntax error
    is json.JSONDecodeError, as from json.loads."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise NnxError(f"{where}: nested more than {MAX_DEPTH} deep") from None
    check_depth(document, where)
    return document


def check_depth(value, where):
    """NnxError when lists and mappings in `value` nest more than MAX_DEPTH deep (walked
    without recursion, so that any depth is safe to check)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise NnxError(f"{where}: nested more than {MAX_DEPTH} deep")
        stack.extend((child, depth + 1) for child in
                     (item.values() if isinstance(item, dict) else item))

