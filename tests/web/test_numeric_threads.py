"""Each server process runs its numerical libraries on one thread (its workers are the parallelism)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import threadpoolctl
from calibration import create_app
create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://", **%s})
pools = threadpoolctl.threadpool_info()
assert pools, "numpy has no BLAS thread pool to limit"
print(sorted({p["num_threads"] for p in pools}))
"""


def run(config: dict[str, object]) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", CODE % config],
        capture_output=True,
        text=True,
        env={"OPENBLAS_NUM_THREADS": "2"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_app_limits_blas_threads_to_one_by_default() -> None:
    assert run({}) == "[1]"


def test_zero_leaves_the_library_default() -> None:
    assert run({"NUMERIC_THREADS": 0}) == "[2]"
