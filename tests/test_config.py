"""Deployment settings: the config file, the environment, the command line, and the warning
when no contact e-mail is set."""

import re
import tomllib
import types

import pytest

from poli_kg import cli, config
from poli_kg.config import (
    CONFIG_FILE, DEFAULTS, SettingsError, config_path, contact_warning, environment_settings,
    load_settings, read_config_file,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "poli-kg.toml.example"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No POLI_KG_* variables, and a current folder without poli-kg.toml."""
    import os

    for name in list(os.environ):
        if name.startswith("POLI_KG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


# --------------------------------------------------------------------------- sources

def test_no_file_no_settings(clean_env, tmp_path):
    assert config_path() is None
    assert load_settings(DEFAULTS) == DEFAULTS


def test_the_file_in_the_current_folder(clean_env, tmp_path):
    (tmp_path / CONFIG_FILE).write_text('contact_email = "a@example.org"\nquery_timeout = 12\n')
    assert config_path() == tmp_path / CONFIG_FILE
    settings = load_settings(DEFAULTS)
    assert settings["CONTACT_EMAIL"] == "a@example.org" and settings["QUERY_TIMEOUT"] == 12
    assert settings["STORE"] == "oxigraph"          # defaults stay where the file says nothing


def test_poli_kg_config_names_the_file(clean_env, tmp_path):
    (tmp_path / CONFIG_FILE).write_text('store = "memory"\n')
    other = tmp_path / "etc" / "site.toml"
    other.parent.mkdir()
    other.write_text('store = "oxigraph-memory"\n')
    clean_env.setenv("POLI_KG_CONFIG", str(other))
    assert config_path() == other
    assert load_settings()["STORE"] == "oxigraph-memory"
    assert "CONFIG" not in load_settings()
    clean_env.setenv("POLI_KG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match="missing.toml: no such file"):
        load_settings()


def test_the_environment_wins_over_the_file(clean_env, tmp_path):
    (tmp_path / CONFIG_FILE).write_text('contact_email = "file@example.org"\nquery_timeout = 12\n'
                                        'public_url = "https://file.example.org/"\n')
    clean_env.setenv("POLI_KG_CONTACT_EMAIL", "env@example.org")
    clean_env.setenv("POLI_KG_QUERY_TIMEOUT", "7")
    settings = load_settings(DEFAULTS)
    assert settings["CONTACT_EMAIL"] == "env@example.org"
    assert settings["QUERY_TIMEOUT"] == 7                     # JSON values are parsed
    assert settings["PUBLIC_URL"] == "https://file.example.org/"


def test_environment_values():
    environ = {"POLI_KG_A": "30", "POLI_KG_B": "true", "POLI_KG_C": "null", "POLI_KG_D": "text",
               "POLI_KG_E": '"quoted"', "POLI_KG_CONFIG": "x.toml", "OTHER": "1"}
    assert environment_settings(environ) == {"A": 30, "B": True, "C": None, "D": "text",
                                             "E": "quoted"}


@pytest.mark.parametrize("text,message", [
    ("contact_email = ", "not valid TOML"),
    ("[web]\nstore = 'memory'\n", r"\[web\] is a table"),
    ('"bad key" = 1\n', "not a setting name"),
])
def test_bad_files_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message):
        read_config_file(path)


def test_a_bad_file_stops_the_command(clean_env, tmp_path, capsys):
    (tmp_path / CONFIG_FILE).write_text("store = \n")
    assert cli.main(["validate"]) == 2
    assert "poli-kg.toml: not valid TOML" in capsys.readouterr().err


# --------------------------------------------------------------------------- the web application

def test_the_application_reads_file_then_environment_then_its_arguments(clean_env, tmp_path,
                                                                        sparql_build_dir):
    from poli_kg.web import create_app

    (tmp_path / CONFIG_FILE).write_text('contact_email = "file@example.org"\nmax_results = 5\n'
                                        'public_url = "https://file.example.org/"\n'
                                        "rate_limit = 9\n")
    clean_env.setenv("POLI_KG_PUBLIC_URL", "https://env.example.org/")
    app = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                      "MAX_RESULTS": 3})
    try:
        assert app.config["CONTACT_EMAIL"] == "file@example.org"
        assert app.config["PUBLIC_URL"] == "https://env.example.org/"
        assert app.config["MAX_RESULTS"] == 3
        assert app.config["RATE_LIMIT"] == 9
        assert app.config["STORE"] == "oxigraph"
    finally:
        app.extensions["poli_kg.store"].close()


# --------------------------------------------------------------------------- the command line

def test_command_line_options_win(clean_env, tmp_path):
    (tmp_path / CONFIG_FILE).write_text('query_timeout = 12\nbuild_dir = "site/public"\n'
                                        'store = "memory"\nreleases_dir = "frozen"\n')
    clean_env.setenv("POLI_KG_MAX_RESULTS", "77")
    parser = cli.parser(load_settings(DEFAULTS))
    args = parser.parse_args(["serve"])
    assert (args.query_timeout, args.max_results, args.store, args.out) == (12.0, 77, "memory",
                                                                            "site/public")
    args = parser.parse_args(["serve", "--query-timeout", "5", "--max-results", "1",
                              "--store", "oxigraph", "--out", "x"])
    assert (args.query_timeout, args.max_results, args.store, args.out) == (5.0, 1, "oxigraph", "x")
    assert parser.parse_args(["release", "1.0.0"]).releases == "frozen"
    assert parser.parse_args(["release", "1.0.0", "--releases", "r"]).releases == "r"


def test_defaults_without_settings(clean_env):
    args = cli.parser().parse_args(["serve"])
    assert (args.query_timeout, args.max_results, args.store, args.out) == (30.0, 10000,
                                                                            "oxigraph", "public")
    assert cli.parser().parse_args(["release", "1.0.0"]).releases is None


class FakeBuild:
    path = type("P", (), {"name": ".public-x"})()

    @staticmethod
    def summary_lines():
        return ["triples  …"]


@pytest.fixture
def no_build(monkeypatch, tmp_path):
    """``poli-kg build`` and ``serve`` without building or serving anything."""
    import sys

    import poli_kg.web

    fake = types.ModuleType("poli_kg.web.server")
    fake.run = lambda **kwargs: None
    monkeypatch.setitem(sys.modules, "poli_kg.web.server", fake)
    monkeypatch.setattr(poli_kg.web, "server", fake, raising=False)
    monkeypatch.setattr(cli, "build", lambda *a, **k: FakeBuild())
    monkeypatch.setattr(cli, "ensure_built", lambda out, *a, **k: out)


@pytest.mark.parametrize("command", [["build"], ["serve", "--port", "8123"]])
def test_warning_without_contact_email(clean_env, no_build, capsys, command):
    assert cli.main(command) == 0
    err = capsys.readouterr().err
    assert "warning: no contact e-mail is set" in err
    assert "vcard:hasEmail" in err and "POLI_KG_CONTACT_EMAIL" in err and "contact_email" in err


@pytest.mark.parametrize("command", [["build"], ["serve", "--port", "8123"]])
def test_no_warning_with_contact_email(clean_env, no_build, capsys, tmp_path, command):
    (tmp_path / CONFIG_FILE).write_text('contact_email = "opendata@example.org"\n')
    assert cli.main(command) == 0
    assert "warning" not in capsys.readouterr().err
    (tmp_path / CONFIG_FILE).unlink()
    clean_env.setenv("POLI_KG_CONTACT_EMAIL", "opendata@example.org")
    assert cli.main(command) == 0
    assert "warning" not in capsys.readouterr().err


def test_contact_warning():
    assert contact_warning({"CONTACT_EMAIL": "a@example.org"}) is None
    assert contact_warning({"CONTACT_EMAIL": ""}).startswith("warning: ")
    assert contact_warning({}).startswith("warning: ")


# --------------------------------------------------------------------------- the example file

def test_the_example_file_documents_real_settings_with_their_defaults():
    from poli_kg.web.base import security, settings as web_settings

    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = "\n".join(re.sub(r"^# ([a-z_]+ = )", r"\1", line) for line in text.splitlines())
    example = tomllib.loads(uncommented)
    assert {"contact_email", "public_url", "build_dir", "releases_dir", "store",
            "query_timeout"} <= set(example)
    known = {**config.DEFAULTS, **web_settings.DEFAULTS, **security.DEFAULTS,
             "MAX_QUERY_NESTING": web_settings.DEFAULT_MAX_QUERY_NESTING}
    for key, value in example.items():
        assert key.upper() in known, key
        if known[key.upper()] is not None and key != "releases_dir":
            assert value == known[key.upper()], key
    assert tomllib.loads(text) == {}      # as shipped, it sets nothing
