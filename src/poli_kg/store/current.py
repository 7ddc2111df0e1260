"""The application's store, for code that only needs to reach it (flaskr's ``get_db``).

Kept apart from :mod:`poli_kg.store` so that a module asking for the current store does not
depend on every backend: the web layer's shared modules import this and stay shallow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:  # for the annotation only: the backends are not needed to look it up
    from poli_kg.store import Store

EXTENSION = "poli_kg.store"


def get_store(app: Flask | None = None) -> Store:
    """The :class:`~poli_kg.store.Store` of ``app`` (default: the current application)."""
    store: Store = (app or current_app._get_current_object()).extensions[EXTENSION]
    return store
