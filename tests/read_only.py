"""A folder made read-only for one command, also for root."""

import os
import shutil
import subprocess

import pytest


def read_only_command(folder, command):
    """`command` with `folder` read-only: a read-only bind mount in a mount namespace of its
    own for root (whom permissions do not stop), the folder's permissions otherwise."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode:
        message = ("as root, a read-only folder needs a mount namespace (unshare --mount, "
                   "util-linux, CAP_SYS_ADMIN), which this machine refuses")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, str(folder), *command]
