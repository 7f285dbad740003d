"""The backend a study's journal is read and appended through: Optuna's JournalFileBackend,
which first cuts a torn end off the file (`nnx.results.journal`), holding the lock that every
append takes. Apart from `nnx.results.journal` because it imports Optuna."""

import os
from pathlib import Path

from optuna.storages.journal import JournalFileBackend

from nnx.results.journal import cut_torn_tail, ends_whole


class JournalBackend(JournalFileBackend):
    """`lock` is re-entrant (Optuna's append takes it again inside ours); `on_repair` is told
    each TornTail cut."""

    def __init__(self, path, lock, on_repair=None):
        super().__init__(os.fspath(path), lock_obj=lock)
        self.path, self.lock, self.on_repair = Path(path), lock, on_repair

    def cut_torn_tail(self):
        """Cut a torn end now; returns the TornTail or None. The lock is taken only when the
        end looks torn (a whole journal in a read-only folder still opens); a record that a
        live writer is appending looks torn too, and is whole once its lock is ours."""
        if ends_whole(self.path):
            return None
        with self.lock:
            return self._cut()

    def append_logs(self, logs):
        with self.lock:
            self._cut()
            super().append_logs(logs)

    def _cut(self):
        torn = cut_torn_tail(self.path)
        if torn is not None and self.on_repair is not None:
            self.on_repair(torn)
        return torn
