"""What a build writes into its folder: the downloads, their .gz copies and checksums, the
on-disk store and ``build.json``.

Every download is serialised by oxigraph from the sorted triples (identical bytes for
identical inputs) and gzipped and hashed on a second core; the on-disk store is bulk-loaded
in the background (:class:`StoreLoader`) from the moment the inputs are parsed (asserted
graphs) and reasoned (inferred graph), on the second core.  The file names are those of
:mod:`poli_kg.buildfolder`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import queue
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from poli_kg.buildfolder import BUILD_INFO, CHECKSUMS, DOWNLOAD_FILES, STORE_DIR
from poli_kg.graph.rdfterms import to_ox
from poli_kg.graph.sources import ASSERTED_KINDS, GRAPH_OF, Inputs
from poli_kg.graph.validation import ValidationReport
from poli_kg.namespaces import GRAPH_INFERRED, PREFIXES

__all__ = ["StoreLoader", "DownloadWriter", "write_file", "write_build_info"]

GZIP_MAX_LEVEL_BYTES = 16 << 20   # files up to this size are gzipped at level 9, larger at 6


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (the single place files of a build are written)."""
    with open(path, "wb") as f:
        f.write(data)


def write_build_info(folder: Path, info: Mapping) -> None:
    """Write the manifest ``build.json`` of ``folder``."""
    write_file(folder / BUILD_INFO, (json.dumps(info, indent=2) + "\n").encode("utf-8"))


def _used_prefixes(namespaces: Mapping[str, str], *ntriples: bytes) -> dict[str, str]:
    """The subset of ``namespaces`` that some IRI in the N-Triples/N-Quads ``ntriples`` starts with.

    (A literal quoting ``<`` + a namespace counts as a use: one prefix line too many at worst.)
    """
    return {p: ns for p, ns in sorted(namespaces.items())
            if any(blob.find(b"<" + ns.encode("utf-8")) >= 0 for blob in ntriples)}


def _in_graph(ntriples: bytes, graph: URIRef) -> bytes:
    """N-Triples as N-Quads of ``graph`` (each line of an N-Triples document ends in `` .``)."""
    return ntriples.replace(b" .\n", f" <{graph}> .\n".encode("utf-8"))


def _trig(blocks: Sequence[tuple[URIRef, Sequence]], prefixes: Mapping[str, str]) -> bytes:
    """TriG: the prefixes, then each non-empty graph as a ``<graph> { … }`` block of Turtle."""
    header, parts = b"", []
    for graph, triples in blocks:
        if not triples:
            continue
        turtle = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes))
        lines = turtle.split(b"\n")
        n = 0
        while n < len(lines) and lines[n].startswith(b"@prefix "):
            n += 1
        header = header or b"".join(line + b"\n" for line in lines[:n])
        body = b"\n".join(lines[n:]).strip(b"\n")
        parts.append(f"<{graph}> {{\n".encode("utf-8") + body + b"\n}\n")
    return header + b"".join(parts)


def _relabelled(graph: Graph, tag: str) -> Graph:
    """A copy of ``graph`` with blank nodes renamed ``{tag}{n}`` in a stable order."""
    labels: dict[BNode, BNode] = {}
    out = Graph(bind_namespaces="none")

    def key(t: tuple) -> tuple:
        return tuple("" if isinstance(x, BNode) else x.n3() for x in t)

    def relabel(term: Node) -> Node:
        if isinstance(term, BNode):
            if term not in labels:
                labels[term] = BNode(f"{tag}{len(labels) + 1}")
            return labels[term]
        return term

    for s, p, o in sorted(graph, key=key):
        out.add((relabel(s), p, relabel(o)))
    return out


def _gzip_and_hash(data: bytes) -> tuple[bytes, str, str]:
    level = 9 if len(data) <= GZIP_MAX_LEVEL_BYTES else 6
    packed = gzip.compress(data, compresslevel=level, mtime=0)
    return packed, hashlib.sha256(data).hexdigest(), hashlib.sha256(packed).hexdigest()


class StoreLoader:
    """Bulk-loads the on-disk store in a background thread, while the build reasons and validates.

    The asserted graphs are known once the inputs are parsed; the inferred graph follows when
    the reasoner has it (:meth:`add_inferred`).  RocksDB's bulk loader and oxigraph release
    the GIL, so on two cores the store costs little wall time.
    """

    def __init__(self, folder: Path, inputs: Inputs) -> None:
        nt = ox.RdfFormat.N_TRIPLES
        asserted = b"".join(_in_graph(ox.serialize(inputs.triples[kind], format=nt), GRAPH_OF[kind])
                            for kind in ("ontology", "data", "provenance"))
        self._inferred: queue.SimpleQueue = queue.SimpleQueue()
        self._given = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poli-kg-store")
        self._done = self._pool.submit(self._load, folder / STORE_DIR, asserted)

    def _load(self, path: Path, asserted: bytes) -> bool:
        store = ox.Store(str(path))
        if asserted:
            store.bulk_load(input=asserted, format=ox.RdfFormat.N_QUADS)
        del asserted
        inferred = self._inferred.get()
        if inferred is None:   # the build failed before reasoning finished
            return False
        if inferred:
            store.bulk_load(input=inferred, format=ox.RdfFormat.N_QUADS)
        store.flush()
        del store
        return True

    def add_inferred(self, ntriples: bytes) -> None:
        self._given = True
        self._inferred.put(_in_graph(ntriples, GRAPH_INFERRED))

    def wait(self) -> None:
        """Until the store is complete (re-raises the loader's error)."""
        self._done.result()

    def close(self) -> None:
        """Stop waiting for the inferred graph, and wait for the thread."""
        if not self._given:
            self._given = True
            self._inferred.put(None)
        self._pool.shutdown(wait=True)


class DownloadWriter:
    """Writes the files of a build folder, then waits for the store (:class:`StoreLoader`).

    Every file is serialised by oxigraph from the sorted triples (N-Quads and TriG are put
    together from the graphs' N-Triples and Turtle, without making quad objects).  The files
    are gzipped and hashed in worker threads (zlib and hashlib release the GIL) while the
    next one is serialised.  Files are written by :func:`write_file`, in the main thread.
    """

    def __init__(self, folder: Path, inputs: Inputs, inferred: Sequence[ox.Triple],
                 store: StoreLoader) -> None:
        self.folder = folder
        self.inputs = inputs
        self.inferred = inferred   # sorted by start()
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="poli-kg-build")
        self.packed: dict[str, Future] = {}
        self.store = store
        namespaces = {p: str(ns) for p, ns in PREFIXES.items()}
        for p, ns in inputs.namespaces.items():
            if p not in namespaces and ns not in namespaces.values():
                namespaces[p] = ns
        self.namespaces = namespaces

    def _file(self, name: str, data: bytes) -> None:
        write_file(self.folder / name, data)
        self.packed[name] = self.pool.submit(_gzip_and_hash, data)

    def start(self) -> None:
        """Sort the graphs and write ``poli-kg.nq``."""
        nt = ox.RdfFormat.N_TRIPLES
        self.by_kind = {kind: sorted(self.inputs.triples[kind], key=str) for kind in ASSERTED_KINDS}
        self.inferred = sorted(self.inferred, key=str)
        self.asserted = sorted(self.inputs.asserted_triples(), key=str)
        self.nt_inferred = ox.serialize(self.inferred, format=nt)
        nquads = b"".join(_in_graph(ox.serialize(self.by_kind[kind], format=nt), GRAPH_OF[kind])
                          for kind in ("ontology", "data", "provenance"))
        self._file("poli-kg.nq", nquads + _in_graph(self.nt_inferred, GRAPH_INFERRED))

    def finish(self, report: ValidationReport) -> dict[str, dict]:
        """Write the other files, the .gz copies and SHA256SUMS; wait for the store."""
        turtle = ox.RdfFormat.TURTLE
        nt_asserted = ox.serialize(self.asserted, format=ox.RdfFormat.N_TRIPLES)
        used = _used_prefixes(self.namespaces, nt_asserted)
        used_inferred = _used_prefixes(self.namespaces, self.nt_inferred)
        self._file("poli-kg.ttl", ox.serialize(self.asserted, format=turtle, prefixes=used))
        self._file("poli-kg-inferred.ttl", ox.serialize(self.inferred, format=turtle,
                                                        prefixes=used_inferred))
        report_triples = sorted((ox.Triple(to_ox(s), to_ox(p), to_ox(o))
                                 for s, p, o in _relabelled(report.graph, "r")), key=str)
        self._file("validation-report.ttl", ox.serialize(
            report_triples, format=turtle, prefixes=_used_prefixes(
                {**self.namespaces, "sh": "http://www.w3.org/ns/shacl#"},
                ox.serialize(report_triples, format=ox.RdfFormat.N_TRIPLES))))
        self._file("poli-kg.nt", nt_asserted)
        self._file("poli-kg.jsonld", ox.serialize(self.asserted, format=ox.RdfFormat.JSON_LD))
        self._file("poli-kg.rdf", ox.serialize(self.asserted, format=ox.RdfFormat.RDF_XML,
                                               prefixes=used))
        used_q = dict(sorted({**used, **used_inferred}.items()))
        del nt_asserted
        self._file("poli-kg.trig", _trig(
            [(GRAPH_OF[kind], self.by_kind[kind]) for kind in ("ontology", "data", "provenance")]
            + [(GRAPH_INFERRED, self.inferred)], used_q))
        sums: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for name in DOWNLOAD_FILES:
            packed, digest, packed_digest = self.packed[name].result()
            write_file(self.folder / f"{name}.gz", packed)
            sums[name], sums[f"{name}.gz"] = digest, packed_digest
            sizes[name] = (self.folder / name).stat().st_size
            sizes[f"{name}.gz"] = len(packed)
        write_file(self.folder / CHECKSUMS,
                    "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode("utf-8"))
        self.store.wait()
        return {n: {"bytes": sizes[n], "sha256": sums[n]} for n in sorted(sums)}

    def close(self) -> None:
        """Wait for the worker threads (also after a failure, before the folder is removed)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
