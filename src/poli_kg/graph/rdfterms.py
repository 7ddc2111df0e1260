"""RDF terms between rdflib and pyoxigraph: the build parses and reasons with Oxigraph, while
pyshacl, owlrl and the report readers work on rdflib graphs.

``xsd:string`` literals are plain rdflib literals (no datatype), as rdflib parses them.
"""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal as OxLiteral, NamedNode
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

__all__ = ["to_ox", "to_rdflib"]

_XSD_STRING = str(XSD.string)


def to_ox(term: Node) -> NamedNode | BlankNode | OxLiteral:
    """An rdflib term as a pyoxigraph term (a plain literal becomes ``xsd:string``)."""
    if isinstance(term, URIRef):
        return NamedNode(str(term))
    if isinstance(term, BNode):
        return BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return OxLiteral(str(term), language=term.language)
        if term.datatype is not None:
            return OxLiteral(str(term), datatype=NamedNode(str(term.datatype)))
        return OxLiteral(str(term))
    raise TypeError(f"unsupported RDF term {term!r}")


def to_rdflib(term: NamedNode | BlankNode | OxLiteral) -> Node:
    """A pyoxigraph term as an rdflib term (``xsd:string`` becomes a plain literal)."""
    if isinstance(term, NamedNode):
        return URIRef(term.value)
    if isinstance(term, BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))
