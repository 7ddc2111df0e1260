"""HTTP content negotiation: parse ``Accept`` and pick the best offered media type.

RFC 9110 §12.5.1: each offered type takes the quality of the *most specific*
media range that matches it (``type/subtype`` over ``type/*`` over ``*/*``);
``q=0`` excludes it.  Among offers of equal quality the one matched by the more
specific range wins, then the server's order (the first offer is the default).
Parameters other than ``q`` are ignored for matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from werkzeug.wrappers import Response


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header."""

    type: str
    subtype: str
    q: float

    @property
    def specificity(self) -> int:
        """3 for ``type/subtype``, 2 for ``type/*``, 1 for ``*/*``."""
        if self.type == "*":
            return 1
        return 2 if self.subtype == "*" else 3

    def matches(self, media_type: str) -> bool:
        """Whether this range covers ``media_type`` (lower case ``type/subtype``)."""
        type_, _, subtype = media_type.partition("/")
        return self.type in ("*", type_) and self.subtype in ("*", subtype)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header; a missing or empty header accepts anything.

    Malformed elements are skipped; ``*`` alone is read as ``*/*``.
    """
    if header is None or not header.strip():
        return [MediaRange("*", "*", 1.0)]
    ranges: list[MediaRange] = []
    for element in header.split(","):
        parts = [p.strip() for p in element.split(";")]
        mtype = parts[0].lower()
        if not mtype:
            continue
        if mtype == "*":
            mtype = "*/*"
        type_, slash, subtype = mtype.partition("/")
        if not slash or not type_ or not subtype or (type_ == "*" and subtype != "*"):
            continue
        q = 1.0
        valid = True
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    valid = False
                    break
                if not 0.0 <= q <= 1.0:
                    valid = False
                break  # parameters after q are accept-extensions
        if valid:
            ranges.append(MediaRange(type_, subtype, q))
    return ranges


def quality(ranges: Sequence[MediaRange], media_type: str) -> tuple[float, int]:
    """(quality, specificity) of ``media_type`` under ``ranges``; (0, 0) if not acceptable."""
    best: MediaRange | None = None
    q = 0.0
    for r in ranges:
        if not r.matches(media_type):
            continue
        if best is None or r.specificity > best.specificity:
            best, q = r, r.q
        elif r.specificity == best.specificity:
            q = max(q, r.q)
    if best is None:
        return 0.0, 0
    return q, best.specificity


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client prefers (see the module docstring), or None if none is acceptable."""
    ranges = parse_accept(accept)
    best: str | None = None
    best_key = (0.0, 0)
    for offer in offers:
        key = quality(ranges, offer.lower())
        if key[0] > 0 and key > best_key:
            best, best_key = offer, key
    return best


def add_vary(response: Response, *names: str) -> None:
    """Add ``names`` to the response's ``Vary`` header, each unless it is there already.

    ``response.vary.add`` parses and rewrites the header at every call; most responses get
    their first ``Vary`` here, which needs neither.  (``getlist``, not ``get``: werkzeug's
    ``get`` raises and catches an exception when the header is absent, which costs more than
    the rest of this function.)
    """
    current = ", ".join(response.headers.getlist("Vary"))
    present = {token.strip().lower() for token in current.split(",")}
    missing = [name for name in names if name.lower() not in present]
    if missing:
        response.headers["Vary"] = ", ".join([current, *missing] if current else missing)
