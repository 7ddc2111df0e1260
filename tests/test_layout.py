"""The package's shape rules (docs/architecture.md), read from the source with ``ast``.

* no module over :data:`MAX_MODULE_LINES` lines, no function over :data:`MAX_FUNCTION_LINES`;
* imports run one way along the data's journey: the bottom (namespaces, settings, the build
  folder) → the graph build and the store → the web layer → the CLI, never back up;
* the store imports neither the graph build nor the web layer, not even indirectly;
* blueprints never import each other: what two of them share lives in ``web/base``;
* no import cycles, and no chain of imports inside the package longer than
  :data:`MAX_CHAIN` modules;
* HTML is written in Jinja templates, each extending the one base template.

Every import counts, those inside functions too: a lazy import is still a dependency.
Only imports under ``if TYPE_CHECKING:`` are left out: they exist for annotations alone.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "poli_kg"
TEMPLATES = PACKAGE / "web" / "templates"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 60
MAX_CHAIN = 8

# Layer of each top-level part of the package; a module may import its own layer or lower.
# textindex is the search index's format, shared by the graph build (writer) and the store (reader).
LAYERS = {"__init__": 0, "namespaces": 0, "config": 0, "buildfolder": 0, "textindex": 0,
          "graph": 1, "store": 1, "web": 2, "cli": 3}
# Same-layer parts that must not meet: the store never depends on the build pipeline.
APART = {("store", "graph"), ("graph", "store")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The package module ``name`` stands for (a module, else the package defining it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from (n for child in node.orelse for n in [child, *runtime_nodes(child)])
            continue
        yield node
        yield from runtime_nodes(node)


@functools.cache
def imports_of(module: str) -> frozenset[str]:
    """Package modules ``module`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "poli_kg" or name.startswith("poli_kg."):
                target = resolve(name)
                if target and target != module:
                    found.add(target)
    return frozenset(found)


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def is_blueprint_side(module: str) -> str | None:
    """The blueprint a web module belongs to (None for the app factory, server and base)."""
    parts = module.split(".")
    if parts[:2] != ["poli_kg", "web"] or len(parts) < 3 or parts[2] in ("base", "server"):
        return None
    return parts[2]


def test_the_package_has_the_journey_subpackages():
    for folder in ("graph", "store", "web", "web/base", "web/templates", "web/static"):
        assert (PACKAGE / folder).is_dir(), folder
    assert {part(m) for m in MODULES} <= set(LAYERS), "a top-level module without a layer"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines (at most {MAX_MODULE_LINES})"


def test_function_sizes():
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                size = node.end_lineno - first + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name} ({size} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_imports_run_one_way():
    wrong = []
    for module in MODULES:
        for target in imports_of(module):
            a, b = part(module), part(target)
            if LAYERS[b] > LAYERS[a] or (a, b) in APART:
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def test_the_store_reaches_neither_the_build_nor_the_web_layer():
    def reach(module: str, seen: set[str]) -> set[str]:
        for target in imports_of(module):
            if target not in seen:
                seen.add(target)
                reach(target, seen)
        return seen

    for module in MODULES:
        if part(module) == "store":
            bad = {t for t in reach(module, set()) if part(t) in ("graph", "web", "cli")}
            assert not bad, f"{module} reaches {sorted(bad)}"


def test_blueprints_never_import_each_other():
    wrong = []
    for module in MODULES:
        mine = is_blueprint_side(module)
        for target in imports_of(module):
            theirs = is_blueprint_side(target)
            if mine and theirs and theirs != mine:
                wrong.append(f"{module} -> {target}")
            if part(module) == "web" and mine is None and module.startswith("poli_kg.web.base") \
                    and theirs:
                wrong.append(f"{module} (base) -> {target}")
    assert not wrong, wrong


def chains() -> dict[str, list[str]]:
    """The longest import chain from each module; raises on a cycle."""
    longest: dict[str, list[str]] = {}

    def visit(module: str, path: tuple[str, ...]) -> list[str]:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + (module,)))
        if module not in longest:
            below = [visit(t, path + (module,)) for t in sorted(imports_of(module))]
            longest[module] = [module] + max(below, key=len, default=[])
        return longest[module]

    for module in MODULES:
        visit(module, ())
    return longest


def test_no_import_cycles_and_short_chains():
    longest = max(chains().values(), key=len)
    assert len(longest) <= MAX_CHAIN, f"{len(longest)} modules: {' -> '.join(longest)}"


def test_html_lives_in_templates():
    """No markup assembled in Python: a tag in a string literal is a template's job."""
    tag = re.compile(r"<(html|head|body|div|span|p|a|ul|ol|li|table|tr|td|th|h[1-6]|section|"
                     r"nav|main|header|footer|form|input|button|label|dl|dt|dd|pre|code|br)[\s>/]")
    found = []
    for module, path in MODULES.items():
        if not module.startswith("poli_kg.web"):
            continue  # SPARQL XML results and the like are not pages
        if module == "poli_kg.web.home.charts":
            continue  # the charts' SVG is drawn in code (see the module's docstring)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and tag.search(node.value):
                found.append(f"{module}:{node.lineno}")
    assert not found, f"HTML in Python strings: {found}"


def test_every_page_template_extends_the_base_template():
    pages = [p for p in TEMPLATES.glob("*.html") if not p.name.startswith("_")]
    assert pages
    for page in pages:
        if page.name == "base.html":
            continue
        text = page.read_text(encoding="utf-8")
        assert re.search(r'{%\s*extends\s+"base\.html"\s*%}', text), f"{page.name} does not extend base.html"


def test_comments_speak_of_the_code_not_of_people():
    people = re.compile(r"\b(engineer|developer|colleague|I think|we think)\b",
                        re.IGNORECASE)
    found = []
    for module, path in MODULES.items():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if people.search(line) and ("#" in line or '"""' in line or line.startswith(" ")):
                found.append(f"{module}:{number}: {line.strip()}")
    assert not found, found


def test_the_docs_match_the_tree():
    """docs/architecture.md names every part of the package; the README's layout table
    names only paths that exist and links to the architecture page."""
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    parts |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    parts |= {f"web/{p.name}" for p in (PACKAGE / "web").iterdir()
              if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(name for name in parts if f"`{name.removesuffix('.py')}" not in architecture)
    assert not missing, f"docs/architecture.md does not name {missing}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert "docs/architecture.md" in layout
    for path in re.findall(r"^\| `([^`]+)`", layout, re.M):
        assert (ROOT / path).exists(), f"README layout names {path}, which does not exist"
