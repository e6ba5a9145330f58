"""The house's shape: imports run one way between packages, and no module imports itself back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tts", "playlists", "stations", "broadcast", "api")
# Which packages each may import at all (itself always).
ALLOWED = {
    "tts": set(),
    "playlists": {"tts"},
    "stations": {"tts"},
    "broadcast": {"tts", "playlists", "stations"},
    "api": {"tts", "playlists", "stations", "broadcast"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str], *, top_level: bool) -> set[str]:
    """Our modules that `path` imports (at module level only, when `top_level`)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if top_level and isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports run never
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_packages_import_one_way() -> None:
    modules = _modules()
    known = set(modules)
    wrong = []
    for name, path in modules.items():
        package = name.split(".")[0]
        for target in _imports(path, name, known, top_level=False):
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_module_level_import_cycle() -> None:
    modules = _modules()
    known = set(modules)
    graph = {n: _imports(p, n, known, top_level=True) for n, p in modules.items()}
    # A package's __init__ is imported with any of its modules: not an edge of its own.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_core_is_one_subpackage_per_domain_and_the_map_names_every_module() -> None:
    """A newcomer finds any behaviour from docs/architecture.md: every module is on the map."""
    core = ROOT / "broadcast"
    loose = sorted(
        p.name for p in core.glob("*.py") if p.name not in ("__init__.py", "demo.py", "scale.py")
    )
    assert loose == [], f"modules outside a domain subpackage: {loose}"
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [
        str(path.relative_to(core))
        for path in sorted(core.rglob("*.py"))
        if "migrations" not in path.parts
        and path.name != "__init__.py"
        and f"`{path.name}`" not in doc
        and f"broadcast/{path.relative_to(core)}" not in doc
    ]
    assert missing == [], f"modules docs/architecture.md does not place: {missing}"
    for package in (p for p in core.iterdir() if (p / "__init__.py").exists()):
        assert f"`{package.name}/`" in doc, f"subpackage {package.name}/ missing from the map"
