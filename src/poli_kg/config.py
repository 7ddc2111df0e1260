"""Settings shared by every layer: where the project's own files are."""

from __future__ import annotations

from pathlib import Path

# The project folder (ontology/, data/, shapes/ beside src/), the default input of a build.
ROOT = Path(__file__).resolve().parents[2]
