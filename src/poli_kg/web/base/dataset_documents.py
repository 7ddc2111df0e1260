"""The dataset's description documents for the current request, made once and reused:
:func:`cached` keeps what is made from the DCAT-AP_IT catalogue and the VoID description
(the graphs themselves, :func:`poli_kg.web.base.dataset.catalog_document` and
:func:`~poli_kg.web.base.dataset.void_document`; their serialisations; the catalogue page's
content), and :func:`releases` lists the releases the catalogue describes.

Both graphs depend only on the build being served, the public root their URLs are under
(config ``PUBLIC_URL``, else the request's host), the contact e-mail (config
``CONTACT_EMAIL``) and the releases published (config ``RELEASES_DIR``, by default
``releases/`` beside ``BUILD_DIR``, where ``poli-kg release`` writes them).  Building the
catalogue takes tens of milliseconds and serialising it up to hundreds, so every request
would pay for them; instead each application keeps what was made for the last few such
states (:data:`MAX_STATES`: a service answers under one or two public roots) and makes it
again only when the state changes: a new release is listed at once, with no restart.

What :func:`cached` returns is shared by every request: callers must not change it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app

from poli_kg.buildfolder import releases_dir_for
from poli_kg.store.releases import Release, ReleaseShelf
from poli_kg.web.base.files import current_build
from poli_kg.web.base.site import public_root

__all__ = ["MAX_STATES", "cached", "contact_email", "releases", "root"]

EXTENSION = "poli_kg.web.base.dataset_documents"
MAX_STATES = 8
"""How many states (build, public root, contact e-mail, releases) an application keeps
documents for; the least recently used is dropped first."""

T = TypeVar("T")
State = tuple[tuple[str, str], str, str | None, tuple[str, ...]]


class _Documents:
    """Per-application holder: the releases folder and the documents made, by state."""

    def __init__(self, shelf: ReleaseShelf) -> None:
        self.shelf = shelf
        # re-entrant: a serialisation is made while holding the lock, from a cached graph
        self.lock = threading.RLock()
        self.states: OrderedDict[State, dict[str, Any]] = OrderedDict()


def _documents() -> _Documents:
    holder = current_app.extensions.get(EXTENSION)
    if holder is None:
        config = current_app.config
        folder = releases_dir_for(config.get("BUILD_DIR", "public"), config.get("RELEASES_DIR"))
        holder = current_app.extensions.setdefault(
            EXTENSION, _Documents(ReleaseShelf(Path(folder).absolute())))
    return holder


def releases() -> list[Release]:
    """The releases of the current application, lowest version first."""
    return _documents().shelf.releases()


def root() -> str:
    """The service's public root without its final slash, as the documents' URLs want it."""
    return public_root().rstrip("/")


def contact_email() -> str | None:
    """The catalogue's contact e-mail (config ``CONTACT_EMAIL``), None when not set."""
    return current_app.config.get("CONTACT_EMAIL") or None


def _state(published: list[Release]) -> State:
    return (current_build().key, root(), contact_email(),
            tuple(release.version for release in published))


def cached(name: str, make: Callable[[], T]) -> T:
    """What ``make()`` returns, made once per state of the current request (see the module
    docstring) and ``name`` (e.g. ``"catalog.ttl"``)."""
    holder = _documents()
    state = _state(holder.shelf.releases())
    with holder.lock:
        made = holder.states.get(state)
        if made is None:
            made = holder.states[state] = {}
            while len(holder.states) > MAX_STATES:
                holder.states.popitem(last=False)
        holder.states.move_to_end(state)
        if name not in made:
            made[name] = make()
        return made[name]
