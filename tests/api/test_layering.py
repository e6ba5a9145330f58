"""REST routes and console pages both call the service layer and never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "api"


def module_name(path: Path) -> str:
    parts = path.relative_to(API.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement stands (functions too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """The modules imported by `source`, a module of `package` (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from api import routes` imports the module api.routes.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def modules_of(package: str) -> list[Path]:
    return sorted((API.parent / package.replace(".", "/")).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("api.console", "api.routes"), ("api.routes", "api.console")],
)
def test_routes_and_console_pages_do_not_import_each_other(package: str, forbidden: str) -> None:
    offenders = {
        module_name(path): sorted(m for m in imported_modules(path) if within(m, forbidden))
        for path in modules_of(package)
    }
    assert modules_of(package), f"no module found in {package}"
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_cli_modules_form_no_cycle() -> None:
    """api/cli.py registers the broadcast commands; both share api/cli_common.py only."""
    broadcast_cli = imported_modules(API / "cli_broadcast.py")
    common = imported_modules(API / "cli_common.py")
    assert "api.cli" not in broadcast_cli
    assert not {"api.cli", "api.cli_broadcast"} & common


def test_the_checker_sees_every_way_of_importing() -> None:
    source = (
        "import api.routes.bulletins\n"
        "from api.routes import broadcasts\n"
        "from api import routes\n"
        "from ..routes import media\n"
        "def later():\n"
        "    from api.routes.reports import export_response\n"
    )
    found = {m for m in imports_in(source, "api.console") if within(m, "api.routes")}
    assert found >= {
        "api.routes.bulletins",
        "api.routes.broadcasts",
        "api.routes",
        "api.routes.media",
        "api.routes.reports",
    }
