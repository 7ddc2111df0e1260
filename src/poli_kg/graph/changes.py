"""What changed between two releases: the RDF diff per named graph, and its renderings.

:func:`diff` compares the named graphs of two datasets (the quads of a release's
``poli-kg.nq``, read by :func:`read_dataset`), graph by graph.  A triple without blank nodes
is compared by its terms.  Blank nodes have no identity across files, so the triples holding
one are compared after canonical relabelling of that part of the graph
(:func:`rdflib.compare.to_canonical_graph`): an unchanged ``rdf:List`` stays unchanged, and
the changes name the canonical labels, so that the old graph relabelled, minus what was
removed, plus what was added, is the new graph relabelled.

The renderings: :func:`nquads` (``added.nq``, ``removed.nq``), :func:`rdf_patch` (one RDF
Patch transaction: the deletions, then the additions), :func:`listing` (the changes grouped
by subject, with labels: what the manifest keeps and the release page shows),
:func:`summary` (one sentence per language, the ``adms:versionNotes``) and :func:`markdown`
(the release notes, from a release manifest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCTERMS, FOAF, RDFS, SKOS, XSD

from poli_kg.buildfolder import RELEASE_ADDED, RELEASE_PATCH, RELEASE_REMOVED
from poli_kg.graph.rdfterms import to_ox, to_rdflib
from poli_kg.namespaces import NAMED_GRAPHS, PREFIXES

__all__ = ["Dataset", "GraphChanges", "diff", "labels", "listing", "markdown", "nquads",
           "rdf_patch", "read_dataset", "summary"]

Dataset = dict[str, list[ox.Triple]]
"""Triples by graph IRI (``""``: the default graph)."""

LABEL_PREDICATES = tuple(str(p) for p in (SKOS.prefLabel, RDFS.label, DCTERMS.title, FOAF.name))
LABEL_LANGUAGES = ("en", "it", "")
MAX_LISTED = 100
"""Changes listed per graph in the notes (all of them are in the patch files)."""
MAX_LITERAL = 160
_XSD_STRING = str(XSD.string)
_NAMESPACES = sorted(((str(ns), p) for p, ns in PREFIXES.items()), key=lambda n: -len(n[0]))
_GRAPH_WORDS = {"en": "named graphs", "it": "grafi con nome"}


@dataclass(frozen=True)
class GraphChanges:
    """The triples added to and removed from one named graph (sorted)."""

    graph: str
    added: tuple[ox.Triple, ...]
    removed: tuple[ox.Triple, ...]

    @property
    def name(self) -> str:
        """The graph's short name: the last segment of its IRI (``data``)."""
        return self.graph.rstrip("/").rsplit("/", 1)[-1] or "default"


# --------------------------------------------------------------------------- the diff

def read_dataset(path: Path) -> Dataset:
    """The triples of each graph of the N-Quads file at ``path``."""
    dataset: Dataset = {}
    for quad in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
        graph = quad.graph_name
        dataset.setdefault(graph.value if isinstance(graph, ox.NamedNode) else "", []).append(
            quad.triple)
    return dataset


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def _canonical(triples: Iterable[ox.Triple]) -> set[ox.Triple]:
    """``triples`` with the blank nodes canonically relabelled (the others as they are)."""
    ground, blank = set(), Graph()
    for t in triples:
        if _has_blank(t):
            blank.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
        else:
            ground.add(t)
    if len(blank):
        ground.update(ox.Triple(to_ox(s), to_ox(p), to_ox(o))
                      for s, p, o in to_canonical_graph(blank))
    return ground


def _graph_order(graphs: Iterable[str]) -> list[str]:
    known = [str(g) for g in NAMED_GRAPHS]
    return sorted(set(graphs), key=lambda g: (known.index(g) if g in known else len(known), g))


def diff(old: Mapping[str, Sequence[ox.Triple]], new: Mapping[str, Sequence[ox.Triple]]
         ) -> list[GraphChanges]:
    """The changes from ``old`` to ``new``, per graph (the project's graphs first)."""
    changes = []
    for graph in _graph_order([*old, *new]):
        before, after = _canonical(old.get(graph, ())), _canonical(new.get(graph, ()))
        changes.append(GraphChanges(graph, tuple(sorted(after - before, key=str)),
                                    tuple(sorted(before - after, key=str))))
    return changes


# --------------------------------------------------------------------------- patch files

def _quads(changes: Sequence[GraphChanges], added: bool) -> list[ox.Quad]:
    quads = []
    for change in changes:
        graph = ox.NamedNode(change.graph) if change.graph else ox.DefaultGraph()
        for t in change.added if added else change.removed:
            quads.append(ox.Quad(t.subject, t.predicate, t.object, graph))
    return quads


def nquads(changes: Sequence[GraphChanges], added: bool) -> bytes:
    """The added (or removed) triples as N-Quads, in their graphs."""
    return ox.serialize(_quads(changes, added), format=ox.RdfFormat.N_QUADS)


def rdf_patch(changes: Sequence[GraphChanges], release: str, previous: str | None) -> bytes:
    """An RDF Patch (https://afs.github.io/rdf-delta/rdf-patch.html) turning ``previous``
    into ``release`` (both IRIs of releases): ``D`` rows, then ``A`` rows, in one transaction."""
    lines = [f"H id <{release}> ."]
    if previous is not None:
        lines.append(f"H prev <{previous}> .")
    lines.append("TX .")
    for sign, added in (("D", False), ("A", True)):
        body = nquads(changes, added).decode("utf-8")
        lines += [f"{sign} {line}" for line in body.splitlines() if line]
    lines.append("TC .")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- labels and listing

def labels(*datasets: Mapping[str, Sequence[ox.Triple]]) -> dict[str, str]:
    """A label for each IRI the datasets label, the first dataset's first (English first)."""
    found: dict[str, dict[str, str]] = {}
    for dataset in reversed(datasets):
        for triples in dataset.values():
            for t in triples:
                if (t.predicate.value in LABEL_PREDICATES and isinstance(t.subject, ox.NamedNode)
                        and isinstance(t.object, ox.Literal)):
                    found.setdefault(t.subject.value, {})[t.object.language or ""] = t.object.value
    return {iri: next((by_lang[lang] for lang in LABEL_LANGUAGES if lang in by_lang),
                      next(iter(by_lang.values())))
            for iri, by_lang in found.items()}


def short(iri: str) -> str:
    """``iri`` as a prefixed name of the project's prefixes, else as itself."""
    for namespace, prefix in _NAMESPACES:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def _term(term: Any, names: Mapping[str, str]) -> dict[str, str]:
    """How a term is shown: ``text``, and for an IRI its ``iri`` and prefixed name ``code``."""
    if isinstance(term, ox.NamedNode):
        code = short(term.value)
        return {"text": names.get(term.value, code), "code": code, "iri": term.value}
    if isinstance(term, ox.BlankNode):
        return {"text": f"_:{term.value}"}
    value = term.value if len(term.value) <= MAX_LITERAL else term.value[:MAX_LITERAL] + "…"
    text = '"' + " ".join(value.split()) + '"'
    if term.language:
        text += f"@{term.language}"
    elif term.datatype.value != _XSD_STRING:
        text += f"^^{short(term.datatype.value)}"
    return {"text": text}


def listing(changes: Sequence[GraphChanges], names: Mapping[str, str],
            limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    """Per graph: its counts and up to ``limit`` changes grouped by subject, labelled."""
    graphs = []
    for change in changes:
        rows = sorted([(t, "added") for t in change.added] + [(t, "removed") for t in change.removed],
                      key=lambda row: (str(row[0].subject), str(row[0].predicate), row[1],
                                       str(row[0].object)))
        subjects: list[dict[str, Any]] = []
        last = None
        for t, sign in rows[:limit]:
            if t.subject != last:
                subjects.append({"subject": _term(t.subject, names), "changes": []})
                last = t.subject
            subjects[-1]["changes"].append({"change": sign, "predicate": _term(t.predicate, names),
                                            "object": _term(t.object, names)})
        graphs.append({"graph": change.graph, "name": change.name, "added": len(change.added),
                       "removed": len(change.removed), "subjects": subjects,
                       "more": max(0, len(rows) - limit)})
    return graphs


# --------------------------------------------------------------------------- texts

def summary(changes: Sequence[GraphChanges], previous: str | None) -> dict[str, str]:
    """One sentence per language saying what changed (the first release: what it holds)."""
    added = sum(len(c.added) for c in changes)
    removed = sum(len(c.removed) for c in changes)
    if previous is None:
        graphs = sum(1 for c in changes if c.added)
        return {"en": f"First release: {added} triples in {graphs} {_GRAPH_WORDS['en']}.",
                "it": f"Prima versione: {added} triple in {graphs} {_GRAPH_WORDS['it']}."}
    parts = ", ".join(f"{c.name} +{len(c.added)} −{len(c.removed)}" for c in changes
                      if c.added or c.removed)
    detail = f" ({parts})" if parts else ""
    return {"en": f"Changes since {previous}: {added} triples added and {removed} removed{detail}.",
            "it": f"Modifiche rispetto alla {previous}: {added} triple aggiunte e {removed} "
                  f"rimosse{detail}."}


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def _md(term: Mapping[str, str]) -> str:
    text = term["text"].translate(_MARKDOWN_SPECIAL)
    code = term.get("code")
    if code is None:
        return text
    return f"`{code}`" if term["text"] == code else f"{text} (`{code}`)"


def _md_graph(graph: Mapping[str, Any]) -> list[str]:
    lines = ["", f"### {graph['name']} (`{graph['graph']}`)"]
    for subject in graph["subjects"]:
        lines += ["", f"#### {_md(subject['subject'])}", ""]
        lines += [f"- {row['change']}: {_md(row['predicate'])} {_md(row['object'])}"
                  for row in subject["changes"]]
    if graph["more"]:
        lines += ["", f"… and {graph['more']} more changes in this graph: see `{RELEASE_PATCH}`."]
    return lines


def markdown(manifest: Mapping[str, Any]) -> str:
    """The release notes of the release ``manifest`` describes, as Markdown."""
    changes = manifest["changes"]
    previous = changes["since"]
    lines = [f"# poli-kg {manifest['version']}", "",
             f"Released on {manifest['issued']}."
             + (f" Previous release: {previous}." if previous else " The first release.")]
    if manifest.get("description"):
        lines += ["", manifest["description"]]
    ontology = manifest["ontology"]
    lines += ["", f"Ontology: `{ontology['iri']}`, version `{ontology['version_iri']}`.", "",
              f"## {'Changes since ' + previous if previous else 'Contents'}", "",
              manifest["notes"]["en"], "",
              "| Graph | Added | Removed |", "| --- | ---: | ---: |"]
    lines += [f"| {g['name']} | {g['added']} | {g['removed']} |" for g in changes["graphs"]]
    if not previous:
        return "\n".join(lines) + "\n"
    lines += ["", (f"Every change, as an RDF Patch: `{RELEASE_PATCH}`; as N-Quads: "
                   f"`{RELEASE_ADDED}` (added) and `{RELEASE_REMOVED}` (removed).")]
    for graph in changes["graphs"]:
        if graph["subjects"]:
            lines += _md_graph(graph)
    return "\n".join(lines) + "\n"
