"""Run named test cases, each in its own forked child, so that a crash of one case (a
segfault in a kernel) shows as a signal instead of taking the test session down.

    python tests/forked_runner.py MODULE [CASE ...]   -> one JSON line {case: result}

MODULE (importable from this folder) holds `CASES`, a dict name -> function of no
arguments, and `warm_up()`, run once before forking so that the children start with numba
and the kernels loaded. A case passes by returning; result["returncode"] is the child's exit
status (0 passed, 1 an exception, whose traceback is result["output"]), or minus the signal
that killed it. BLAS runs on one thread here: a forked child of a multi-threaded BLAS pool
is not safe.
"""

import importlib
import json
import os
import signal
import sys
import tempfile
import traceback

TIMEOUT_S = 120  # a hung case is killed by SIGALRM (and reported as that signal)


def run_case(function, output_path):
    """The child: run one case, exit 0 when it returns, 1 with the traceback written."""
    signal.alarm(TIMEOUT_S)
    try:
        function()
        status = 0
    except BaseException:  # noqa: BLE001 - every failure is reported to the parent
        with open(output_path, "w") as handle:
            handle.write(traceback.format_exc())
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run_all(module, names):
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            output_path = os.path.join(folder, f"{name}.txt")
            pid = os.fork()
            if pid == 0:
                run_case(module.CASES[name], output_path)
            _, status = os.waitpid(pid, 0)
            output = ""
            if os.path.exists(output_path):
                with open(output_path) as handle:
                    output = handle.read()
            results[name] = {"returncode": os.waitstatus_to_exitcode(status), "output": output}
    return results


def main(argv):
    module = importlib.import_module(argv[0])
    names = argv[1:] or list(module.CASES)
    module.warm_up()
    print(json.dumps(run_all(module, names)))


if __name__ == "__main__":
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    main(sys.argv[1:])
