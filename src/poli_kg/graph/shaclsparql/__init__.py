"""SHACL validation compiled to SPARQL and run by Oxigraph: pyshacl's results, for large graphs.

pyshacl checks one focus node at a time in Python, and runs each SHACL-SPARQL constraint once per
focus node with rdflib's SPARQL engine: minutes for the observations of a million-triple graph.
Here every (shape, constraint) becomes *one* SPARQL query over all focus nodes at once, run on
the reasoner's Oxigraph store (whose default graph is the asserted + inferred graph):

* the focus nodes of each node shape (``sh:targetClass`` with ``rdfs:subClassOf*``, the
  subclasses read from the data first, as for ``sh:class``,
  ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, SPARQL-based targets)
  are written once into a scratch named graph;
* core constraints on a property shape (``sh:path`` an IRI or ``sh:inversePath`` of one):
  ``sh:minCount``, ``sh:maxCount``, ``sh:datatype``, ``sh:class``, ``sh:nodeKind``,
  ``sh:pattern`` (+ ``sh:flags``), ``sh:in``, ``sh:hasValue``, ``sh:languageIn``,
  ``sh:uniqueLang``, ``sh:minLength``/``sh:maxLength``, ``sh:min/maxIn/Exclusive``,
  ``sh:lessThan``, ``sh:lessThanOrEquals``, ``sh:or`` and ``sh:qualifiedValueShape``
  (+ ``sh:qualifiedMin/MaxCount``) with shapes made of value constraints; the same value
  constraints on the focus node of a node shape; ``sh:sparql`` constraints (SELECT, ``$this``
  projected) evaluated once with ``$this`` free and kept for the shape's focus nodes — the
  pre-binding of SHACL-SPARQL then amounts to that join;
* results carry what pyshacl's do (focus node, path, value, message — ``{?var}`` templates
  filled — severity, source shape, constraint component), one per node shape that reaches a
  shared property shape, as pyshacl reports them.

A shapes graph using anything else (another constraint component, ``sh:node``, complex paths,
a shape without ``sh:message`` — pyshacl then writes its own messages — …) raises
:class:`Unsupported`: the caller uses pyshacl.  ``tests/graph/test_shaclsparql.py``
compares the two on the real graph, on every targeted break of ``tests/dataset/test_shapes.py``
and on generated data.

Oxigraph stores numbers and dates in canonical form (``"149.0"^^xsd:decimal`` is read back as
``"149"``), so a value or a message may spell a number differently from pyshacl's.

The package: :mod:`~poli_kg.graph.shaclsparql.compiler` turns a shapes graph into queries,
:mod:`~poli_kg.graph.shaclsparql.joinorder` reorders the triple patterns of SHACL-SPARQL
queries written for one focus node, :mod:`~poli_kg.graph.shaclsparql.validator` runs the
queries and reads their rows into a SHACL report.
"""

from poli_kg.graph.shaclsparql.compiler import Compiled, Unsupported, compile_shapes
from poli_kg.graph.shaclsparql.joinorder import reorder
from poli_kg.graph.shaclsparql.validator import explain, supported, validate

__all__ = ["Unsupported", "validate", "compile_shapes", "Compiled", "supported", "explain",
           "reorder"]
