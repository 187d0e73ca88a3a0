"""The import contracts in pyproject.toml hold: no app imports against the layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_no_import_breaks_a_layer_contract():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
