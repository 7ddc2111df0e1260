"""The graph build: load the RDF sources, reason (OWL RL), validate (SHACL), write a build folder.

The entry points are in :mod:`poli_kg.graph.pipeline`; the folder it writes is described by
:mod:`poli_kg.buildfolder`, the one thing the store and the web layer read of it.  The stages:

* :mod:`~poli_kg.graph.sources` — the input files and their parsing;
* :mod:`~poli_kg.graph.reasoning` — the OWL RL closure, by the compiled rules of
  :mod:`~poli_kg.graph.rules` (over :mod:`~poli_kg.graph.schema`, with the checks of
  :mod:`~poli_kg.graph.consistency`) or by owlrl;
* :mod:`~poli_kg.graph.validation` — pyshacl and the readable report, or for large graphs
  the shapes compiled to SPARQL by :mod:`~poli_kg.graph.shaclsparql`;
* :mod:`~poli_kg.graph.output` — the downloads, the on-disk store and ``build.json``.

:mod:`~poli_kg.graph.answers` answers a SPARQL query on a build as ``poli-kg query`` prints
it; :mod:`~poli_kg.graph.rdfterms` converts terms between rdflib and pyoxigraph.
"""
