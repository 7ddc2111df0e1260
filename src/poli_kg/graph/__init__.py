"""The graph build: load the RDF sources, reason (OWL RL), validate (SHACL), write a build folder.

The entry points are in :mod:`poli_kg.graph.pipeline`; the folder it writes is described by
:mod:`poli_kg.buildfolder`, the one thing the store and the web layer read of it.
"""
