"""Fixtures of the dataset's tests."""

import pytest
from rdflib import Graph

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def data() -> Graph:
    """The instance data, ``data/**/*.ttl``, as one graph (read only: the tests share it)."""
    graph = Graph()
    for path in ROOT.glob("data/**/*.ttl"):
        graph.parse(path)
    return graph
