"""calibration.stats is a pure library: no Flask, no SQLAlchemy, only numpy/scipy/statsmodels/krippendorff."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import calibration.stats

PACKAGE = Path(calibration.stats.__file__).parent
ALLOWED = {"numpy", "scipy", "statsmodels", "krippendorff", "calibration"}


def test_importing_stats_loads_no_flask_or_sqlalchemy() -> None:
    code = (
        "import calibration.stats, sys; "
        "assert not any(m.split('.')[0] in ('flask', 'sqlalchemy') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parents[1]
    )
    assert proc.returncode == 0, proc.stderr


def test_stats_package_itself_loads_no_flask_or_sqlalchemy() -> None:
    """Import calibration.stats under a bare parent package, so only the stats code is judged."""
    code = (
        "import sys, types; "
        f"pkg = types.ModuleType('calibration'); pkg.__path__ = [{str(PACKAGE.parent)!r}]; "
        "sys.modules['calibration'] = pkg; "
        "import calibration.stats; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')); "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_stats_modules_import_only_allowed_packages() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in ALLOWED:
                    offenders.append(f"{path.name}: {name}")
    assert not offenders


def test_public_names_resolve() -> None:
    missing = [name for name in calibration.stats.__all__ if not hasattr(calibration.stats, name)]
    assert not missing
    assert len(set(calibration.stats.__all__)) == len(calibration.stats.__all__)
