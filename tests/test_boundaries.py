"""The layering of the design card, enforced: pure maths stays pure, SQL and bittensor stay in one place each."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = sorted(
    str(p.relative_to(Path(__file__).resolve().parent.parent))
    for p in (Path(__file__).resolve().parent.parent / "analytics/model").rglob("*.py")
)
FORBIDDEN_IN_PURE = {"streamlit", "duckdb", "bittensor", "pandas", "pyarrow", "plotly", "sqlite3"}
SQL = re.compile(
    r"\b(SELECT\s+.+\s+FROM|INSERT\s+INTO|CREATE\s+TABLE|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b", re.I | re.S
)


def python_files() -> list[Path]:
    dirs = ["analytics", "pages", "bench"]
    files = [ROOT / "app.py"] if (ROOT / "app.py").exists() else []
    for d in dirs:
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_pure_modules_import_only_numpy_and_analytics() -> None:
    pure = [ROOT / p for p in PURE]
    for path in pure:
        if path.exists():
            bad = imported_roots(path) & FORBIDDEN_IN_PURE
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: keep the pure layer pure"


def test_only_the_collector_imports_bittensor() -> None:
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
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        if path.exists():
            bad = imported_roots(path) & {"duckdb", "bittensor"}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: pages go through analytics"
