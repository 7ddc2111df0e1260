"""Where the ontology page documents a term: ``/ontology#PoloDiInnovazione`` for the
ontology's own terms, ``/ontology#sdmx-dimension-refPeriod`` for the terms of other
vocabularies it describes.  Resource pages and the shapes page link there."""

from __future__ import annotations

import re

from flask import request

from poli_kg.namespaces import ONTOLOGY_IRI
from poli_kg.web.base.labels import prefixed
from poli_kg.web.base.site import page_url

ONTOLOGY_PATH = "/ontology"


def anchor_of(iri: str) -> str:
    """The HTML id of a term: its local name for ontology terms, ``prefix-local`` otherwise."""
    if iri.startswith(ONTOLOGY_IRI + "#"):
        return iri[len(ONTOLOGY_IRI) + 1:]
    name = prefixed(iri) or iri
    return re.sub(r"[^\w-]+", "-", name).strip("-")


def documentation_url(iri: str) -> str:
    """The link to the documentation of a term on the ontology page."""
    return page_url(request.script_root + ONTOLOGY_PATH + "#" + anchor_of(iri))
