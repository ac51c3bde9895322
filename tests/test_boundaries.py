"""The layering of the design card, enforced.

Inside ``analytics/`` the import-linter contracts in pyproject.toml are the rule (``lint-imports``,
also run by .ci/run): cli and app glue over views over data over config over the pure model. Pages and
app.py are Streamlit scripts, not a package import-linter can walk, so their imports are checked here
with an AST walk; so are SQL strings, which no import graph shows.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL = re.compile(
    r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|CREATE\s+TABLE|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b", re.I | re.S
)

# What a page may import of ours: app glue, view builders, data access (never the collector), the
# pure model, errors and config. Never the CLI: pages and cli/ share code through analytics.views.
PAGE_ALLOWED = ("analytics.app", "analytics.views", "analytics.data", "analytics.model", "analytics.errors")
PAGE_ALLOWED += ("analytics.config",)
PAGE_FORBIDDEN = ("analytics.cli", "analytics.data.collector", "analytics.collector")
# Imports of the CLI that pages still have until their table builders move to analytics.views (the
# `layers-pages` branch of issue 13 removes them; then this map must be emptied: the test says so).
PAGE_CLI_IMPORTS_BEING_REMOVED: dict[str, set[str]] = {}


def python_files() -> list[Path]:
    dirs = ["analytics", "pages", "bench"]
    files = [ROOT / "app.py"] if (ROOT / "app.py").exists() else []
    for d in dirs:
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def page_files() -> list[Path]:
    return [p for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))] if p.exists()]


@functools.cache
def parsed(path: Path) -> ast.Module:
    """A file's syntax tree, parsed once for all the checks below."""
    return ast.parse(path.read_text(), filename=str(path))


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports (``from a.b import c`` gives ``a.b``), at any depth."""
    tree = parsed(path)
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names if node.module == "analytics"}
    return modules


def imported_roots(path: Path) -> set[str]:
    return {m.split(".")[0] for m in imported_modules(path)}


def string_constants(path: Path) -> list[str]:
    tree = parsed(path)
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_import_contracts_hold() -> None:
    """`lint-imports` (the contracts in pyproject.toml) passes: the layering of analytics/."""
    lint = shutil.which("lint-imports")
    assert lint, "lint-imports is missing: pip install -r requirements-dev.txt"
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_pages_import_only_app_views_data_and_model() -> None:
    offenders: dict[str, list[str]] = {}
    still_there: dict[str, set[str]] = {}
    for path in page_files():
        rel = path.relative_to(ROOT).as_posix()
        ours = {m for m in imported_modules(path) if _under(m, ("analytics",)) and m != "analytics"}
        waived = PAGE_CLI_IMPORTS_BEING_REMOVED.get(rel, set())
        still_there[rel] = ours & waived
        bad = sorted(m for m in ours - waived if _under(m, PAGE_FORBIDDEN) or not _under(m, PAGE_ALLOWED))
        if bad:
            offenders[rel] = bad
    assert offenders == {}, f"pages import what they must not (only {PAGE_ALLOWED}): {offenders}"
    gone = {rel: sorted(w - still_there.get(rel, set())) for rel, w in PAGE_CLI_IMPORTS_BEING_REMOVED.items()}
    gone = {rel: mods for rel, mods in gone.items() if mods}
    assert gone == {}, f"these page imports of the CLI are gone: drop them from the waiver map: {gone}"


def test_only_the_collector_imports_bittensor() -> None:
    """Pages and bench scripts too (analytics/ itself is covered by the import contracts)."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files()
        if "bittensor" in imported_roots(p)
        and p.relative_to(ROOT).as_posix() != "analytics/data/collector.py"
    ]
    assert offenders == [], f"bittensor imported outside analytics/data/collector.py: {offenders}"


def test_only_the_store_runs_sql() -> None:
    offenders = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "analytics/data/store.py" or rel.startswith("bench/"):
            continue
        if "duckdb" in imported_roots(path) or any(SQL.search(s) for s in string_constants(path)):
            offenders.append(rel)
    assert offenders == [], f"SQL or duckdb outside analytics/data/store.py: {offenders}"


def test_pages_do_not_import_the_chain_or_the_database() -> None:
    for path in page_files():
        bad = imported_roots(path) & {"duckdb", "bittensor"}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: pages go through analytics"
