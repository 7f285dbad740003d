"""The assertion the bad-input tests share: an NnxError whose message holds each fragment."""

import pytest

from nnx import NnxError


def raises(fn, *fragments):
    """Call `fn`, expect NnxError, check every fragment is in its message; return it."""
    with pytest.raises(NnxError) as err:
        fn()
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message
