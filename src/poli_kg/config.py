"""Settings shared by every layer: where the project's own files are, and the settings of a
deployment, read in one place.

A deployment's settings (:func:`load_settings`) come from, each source over the one before:

1. the defaults (:data:`DEFAULTS`, and those of the web application);
2. the config file, TOML: the file named by ``POLI_KG_CONFIG`` (it must exist), else
   ``poli-kg.toml`` in the current folder when there is one (see ``poli-kg.toml.example``);
3. environment variables ``POLI_KG_<KEY>``, each value read as JSON when it is JSON
   (``30``, ``true``, ``null``) and as text otherwise, as Flask's ``from_prefixed_env`` does;

and the ``poli-kg`` command's options win over all of them.  Keys are upper case
(``contact_email`` in the file is ``CONTACT_EMAIL``); the file holds top-level keys only.
The keys of a deployment are those of :data:`DEFAULTS` and of the web application
(:mod:`poli_kg.web.base.settings`, :mod:`poli_kg.web.base.security`): each is documented in
``poli-kg.toml.example``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The project folder (ontology/, data/, shapes/ beside src/), the default input of a build.
ROOT = Path(__file__).resolve().parents[2]

CONFIG_ENV = "POLI_KG_CONFIG"
"""The environment variable naming the config file."""
CONFIG_FILE = "poli-kg.toml"
"""The config file read from the current folder when ``POLI_KG_CONFIG`` is not set."""
ENV_PREFIX = "POLI_KG_"

DEFAULTS: dict[str, Any] = {
    "BUILD_DIR": "public",       # the folder 'poli-kg build' writes and 'serve' answers from
    "RELEASES_DIR": None,        # where releases are frozen; None: releases/ beside BUILD_DIR
    "STORE": "oxigraph",         # the query backend (see poli_kg.store)
    "QUERY_TIMEOUT": 30,         # seconds a query may run
    "MAX_RESULTS": 10_000,       # solutions or triples per answer
    "CONTACT_EMAIL": None,       # the catalogue's contact point (vcard:hasEmail)
    "PUBLIC_URL": None,          # the service's public root URL; None: the request's host
}
"""The settings the command line and the web application share, with their defaults."""
APPLICATION_SERVERS = ("gunicorn", "granian")
"""What ``poli-kg serve --server`` can serve with (:mod:`poli_kg.web.server`); the first is the
default."""

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SettingsError(ValueError):
    """The config file cannot be read, or holds something that is not a setting."""


def config_path(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """The config file to read: ``POLI_KG_CONFIG``, else ``./poli-kg.toml`` if present, else None."""
    environ = os.environ if environ is None else environ
    named = environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV}={named}: no such file")
        return path
    default = (cwd or Path.cwd()) / CONFIG_FILE
    return default if default.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in the TOML file at ``path``, keys upper case."""
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    settings = {}
    for key, value in table.items():
        if not _KEY.fullmatch(key):
            raise SettingsError(f"{path}: {key!r} is not a setting name")
        if isinstance(value, dict):
            raise SettingsError(f"{path}: [{key}] is a table; settings are top-level keys")
        settings[key.upper()] = value
    return settings


def environment_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given as ``POLI_KG_<KEY>`` environment variables (JSON values parsed)."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key, value = name[len(ENV_PREFIX):], environ[name]
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    return settings


def load_settings(defaults: Mapping[str, Any] | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  cwd: Path | None = None) -> dict[str, Any]:
    """``defaults``, then the config file, then the environment (see the module docstring).

    Raises :class:`SettingsError` when the config file is named but missing, or unreadable.
    """
    settings = dict(defaults or {})
    path = config_path(environ, cwd)
    if path is not None:
        settings.update(read_config_file(path))
    settings.update(environment_settings(environ))
    return settings


def contact_warning(settings: Mapping[str, Any]) -> str | None:
    """The warning to print when no contact e-mail is set, else None."""
    if settings.get("CONTACT_EMAIL"):
        return None
    return ("warning: no contact e-mail is set, so the DCAT-AP_IT catalogue's contact point "
            "has no vcard:hasEmail (DCAT-AP_IT asks for one): set contact_email in "
            f"{CONFIG_FILE} (or the file {CONFIG_ENV} names) or the environment variable "
            f"{ENV_PREFIX}CONTACT_EMAIL")
