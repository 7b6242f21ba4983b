"""`manage.py` commands run in a process of their own, as a deployment runs them."""

from __future__ import annotations

import subprocess
import sys

from tests.worker import ROOT


def manage(*command: str, env: dict[str, str]) -> str:
    """Run `manage.py command` with `env`; its output, once it has succeeded."""
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout
