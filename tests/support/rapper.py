"""raptor2's ``rapper``: an RDF parser independent of rdflib and Oxigraph, for the tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def need_rapper() -> str:
    """Path of ``rapper``; skip (fail under CI) when raptor2-utils is not installed."""
    path = shutil.which("rapper")
    if path is None:
        message = "rapper not found: install Debian's raptor2-utils (apt-get install raptor2-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def rapper_count(path: Path, syntax: str) -> int:
    """Parse ``path`` with rapper (counting only); fail on any error or warning."""
    result = subprocess.run([need_rapper(), "-i", syntax, "-c", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"error|warning", result.stderr, re.IGNORECASE), result.stderr
    match = re.search(r"Parsing returned (\d+) triples", result.stderr)
    assert match, result.stderr
    return int(match.group(1))
