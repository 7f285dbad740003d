"""Suite-wide set-up.

A shell without job control starts a background job (`make test &`) with SIGINT ignored,
every process it starts inherits that, and nnx leaves an ignored signal ignored
(`nnx/stop_signals.py`): the Ctrl-C tests would then see nothing. The suite puts Python's own
handler back, so those tests, and the nnx processes they start, meet Ctrl-C as a terminal
sends it.
"""

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
