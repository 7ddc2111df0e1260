"""A query rewritten for Oxigraph's planner gives exactly the rows of the form first written.

The competency questions (``queries/``, also the query page's examples) and the bench's
analytic queries (``bench/queries/``) that were rewritten for speed (``docs/queries.md``)
keep their first form in ``bench/queries/original/``, under the same file name.  Each pair
runs over the real graph and over the real graph plus generated data (``bench/generate.py``,
built as a benchmark builds it), on both embedded stores the endpoint can answer from (the
on-disk ``oxigraph`` and the in-memory ``oxigraph-memory``: the order in which a store hands
out quads can show through an order the query leaves open), and must give the same variables
and the same rows in the same order, so that a rewrite can never change an answer.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from poli_kg.store import Backend, open_backend
from tests.conftest import ROOT

ORIGINALS = sorted((ROOT / "bench" / "queries" / "original").glob("*.rq"))
GENERATED_TRIPLES = 30_000
"""Enough generated members, projects and patents for every rewritten query to have rows."""
EMBEDDED = ("oxigraph", "oxigraph-memory")


def rewritten(original: Path) -> Path:
    """The query now in use for ``original``: a competency question or a bench query."""
    question = ROOT / "queries" / original.name
    return question if question.is_file() else ROOT / "bench" / "queries" / original.name


def answer(backend: Backend, path: Path) -> tuple[list[str], list[tuple]]:
    """The variables and rows of the query in ``path``, as the endpoint evaluates it."""
    raw = backend.evaluate(path.read_text(encoding="utf-8"))
    return raw.variables, raw.rows


@pytest.fixture(scope="module", params=EMBEDDED)
def real_store(request, build_dir) -> Backend:
    return open_backend(request.param, build_dir)


@pytest.fixture(scope="module")
def generated_build(tmp_path_factory) -> Path:
    """The build of the real graph plus generated data."""
    from poli_kg.graph.pipeline import build
    from poli_kg.graph.sources import Sources

    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    folder = tmp_path_factory.mktemp("rewrites")
    data = folder / f"gen-{GENERATED_TRIPLES}.nt"
    generator.write(generator.generate(GENERATED_TRIPLES), data)
    build(folder / "public", sources=Sources(ROOT, extra_data=[data]))
    return folder / "public"


@pytest.fixture(scope="module", params=EMBEDDED)
def generated_store(request, generated_build) -> Backend:
    return open_backend(request.param, generated_build)


def test_every_original_has_a_rewritten_form_that_differs():
    assert ORIGINALS, "bench/queries/original/ holds the first form of each rewritten query"
    for original in ORIGINALS:
        now = rewritten(original)
        assert now.is_file(), f"{original.name}: neither queries/ nor bench/queries/ has it"
        assert now.read_text(encoding="utf-8") != original.read_text(encoding="utf-8")


@pytest.mark.parametrize("original", ORIGINALS, ids=lambda p: p.stem)
def test_same_rows_over_the_real_graph(real_store, original):
    assert answer(real_store, rewritten(original)) == answer(real_store, original)


@pytest.mark.parametrize("original", ORIGINALS, ids=lambda p: p.stem)
def test_same_rows_over_a_generated_graph(generated_store, original):
    variables, rows = answer(generated_store, original)
    assert rows, f"{original.name} has no rows over the generated graph: the check would be empty"
    assert answer(generated_store, rewritten(original)) == (variables, rows)
