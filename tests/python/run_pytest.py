# SPDX-License-Identifier: MIT
# Meson test driver for the python suite: runs pytest on tests/python against the module in the build
# directory; exit 77 (skipped) when the module was not built (python feature disabled) or pytest is missing.
import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: run_pytest.py PYTHON BUILD_PYTHON_DIR TESTS_DIR", file=sys.stderr)
        return 2
    python, build_dir, tests_dir = sys.argv[1:]
    if not python:
        print("fmtsim Python module not built (configure with -Dpython=enabled): skipped")
        return 77
    env = dict(os.environ)
    env["PYTHONPATH"] = build_dir + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    probe = subprocess.run([python, "-c", "import pytest"], env=env)
    if probe.returncode != 0:
        print(f"pytest is not installed for {python}: skipped (pip install pytest)")
        return 77
    r = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests_dir], env=env)
    # pytest exit 5 = no tests collected: that is a failure here, not a pass
    return 1 if r.returncode == 5 else r.returncode


if __name__ == "__main__":
    sys.exit(main())
