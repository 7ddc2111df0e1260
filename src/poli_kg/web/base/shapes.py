"""The SHACL shapes the data is validated with, as a graph: read from the ``SHAPES_DIR``
config key (else the project's ``shapes/``), and read again only when a file changes."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from rdflib import Graph

from poli_kg.config import ROOT
from poli_kg.namespaces import BASE, bind_prefixes

SHAPES_IRI = BASE + "shapes"
_shapes_cache: dict[tuple[str, tuple[tuple[str, float], ...]], Graph] = {}


def shapes_graph() -> Graph | None:
    """The SHACL shapes (``SHAPES_DIR`` config key, else the project's ``shapes/``), or None."""
    folder = Path(current_app.config.get("SHAPES_DIR") or ROOT / "shapes")
    files = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
    if not files:
        return None
    key = (str(folder), tuple((f.name, f.stat().st_mtime) for f in files))
    if key not in _shapes_cache:
        graph = bind_prefixes(Graph())
        graph.bind("shapes", SHAPES_IRI + "#")
        for f in files:
            graph.parse(f, format="turtle")
        _shapes_cache.clear()
        _shapes_cache[key] = graph
    copy = bind_prefixes(Graph())
    for triple in _shapes_cache[key]:
        copy.add(triple)
    return copy
