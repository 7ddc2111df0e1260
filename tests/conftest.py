"""Shared fixtures: a real build of the project's graph, the Flask app, a real server."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    """The project's real ontology + data, built once per session into a temporary folder."""
    from poli_kg.build import build

    out = tmp_path_factory.mktemp("build") / "public"
    build(out)
    return out
