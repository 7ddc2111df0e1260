"""Helpers shared by the tests and the benchmarks (``tests.support.virtuoso``, …)."""
