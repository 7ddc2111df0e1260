"""Fixtures of the graph build's tests: the project's inputs with generated data beside them."""

from __future__ import annotations

import importlib.util

import pytest

from poli_kg.graph.sources import Inputs, Sources, load
from tests.conftest import ROOT

GENERATOR = ROOT / "bench" / "generate.py"


@pytest.fixture(scope="session")
def inputs_with_generated_data(tmp_path_factory) -> Inputs:
    """The project's inputs plus 3,000 triples of ``bench/generate.py`` (organisations, projects,
    patents, two more concept schemes and one more data set), parsed as the build parses them."""
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    path = tmp_path_factory.mktemp("generated") / "gen-3000.nt"
    generator.write(generator.generate(3000), path)
    return load(Sources(ROOT, extra_data=[path]))
