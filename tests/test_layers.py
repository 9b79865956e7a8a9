"""The layers run one way (docs/architecture.md): every import of every module, read from the source.

    entry points (server/cli.py, server/wsgi.py)
        -> web layer (server/web: app factory, API, Socket.IO; the pages kiosk/web.py, display/web.py, ...)
            -> device parts (printers/, sounds/)
                -> core (server/core: Flask-free)

An arrow may skip a layer downwards, never point up. The test fails on a wrong arrow and names
the module, the line and the rule.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# folder -> package it installs as (setup.py package_dir)
PARTS = {
    "queuekiosk": "queuekiosk",
    "server": "queuekiosk.server",
    "kiosk": "queuekiosk.kiosk",
    "display": "queuekiosk.display",
    "counter_client": "queuekiosk.counter_client",
    "printers": "queuekiosk.printers",
    "sounds": "queuekiosk.sounds",
}

CORE = "queuekiosk.server.core"
WEB = "queuekiosk.server.web"
API = "queuekiosk.server.web.api"  # its modules with routes are registered by the app factory only
ROUTE = re.compile(r"^@\w+\.(route|get|post|put|patch|delete)\(", re.M)
CLI = "queuekiosk.server.cli"
COMMANDS = "queuekiosk.server.commands"  # the command line's groups, added to it by server/cli.py
DEVICE_PARTS = ("queuekiosk.printers", "queuekiosk.sounds")
PAGE_MODULES = (
    "queuekiosk.kiosk.web",
    "queuekiosk.display.web",
    "queuekiosk.counter_client.web",
    "queuekiosk.counter_client.rating",
    "queuekiosk.home",
    "queuekiosk.sounds.web",
)
WEB_FRAMEWORKS = ("flask", "flask_socketio", "flask_wtf")
ENTRY_POINTS = (CLI, "queuekiosk.server.prediction_cli")  # `queuekiosk predict ...` adds commands to the CLI

# Wrong arrows still in the tree, each (importing module, imported module). Delete a line when its
# arrow is gone; the test then keeps it gone.
KNOWN_VIOLATIONS = {}


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # module (or, for `from pkg import name`, pkg.name when that is a module)
    path: Path
    line: int


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def module_files() -> dict[str, Path]:
    """Every module of the package by its installed name."""
    found = {}
    for folder, package in PARTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if "migrations" in parts and folder == "server":  # Alembic scripts, run by Alembic
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports_of(name: str, path: Path, modules: set[str]) -> list[Import]:
    """Absolute names of what ``name`` imports, anywhere in it (in functions too), relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append(Import(name, submodule if submodule in modules else source, path, node.lineno))
    return found


def route_modules(files: dict[str, Path]) -> set[str]:
    return {name for name, path in files.items() if _within(name, API) and ROUTE.search(path.read_text("utf-8"))}


def rule_broken(i: Import, routes: set[str]) -> str | None:
    """Which rule the arrow breaks, or None."""
    if _within(i.importer, CORE):
        if _within(i.imported, "queuekiosk") and not _within(i.imported, CORE):
            return "the core imports nothing of the package outside server/core"
        if _within(i.imported, *WEB_FRAMEWORKS):
            return "the core is Flask-free"
    if (
        _within(i.importer, *DEVICE_PARTS)
        and i.importer not in PAGE_MODULES
        and (_within(i.imported, WEB, CLI) or i.imported in PAGE_MODULES)
    ):
        return "device parts import neither the web layer nor the pages"
    if _within(i.imported, CLI, COMMANDS) and not _within(i.importer, CLI, COMMANDS) and i.importer not in ENTRY_POINTS:
        return "only entry points import the command line"
    if i.imported in routes and not _within(i.importer, API) and i.importer != f"{WEB}.app":
        return "route modules (server/web/api) are registered by the app factory, not imported by others"
    return None


def test_imports_run_one_way():
    files = module_files()
    routes = route_modules(files)
    assert f"{API}.tickets" in routes and f"{API}.csrf" not in routes  # the rule sees what it guards
    wrong = [
        f"{i.path.relative_to(REPO)}:{i.line}: {i.importer} -> {i.imported} ({rule})"
        for name, path in files.items()
        for i in imports_of(name, path, set(files))
        if (rule := rule_broken(i, routes)) and (i.importer, i.imported) not in KNOWN_VIOLATIONS
    ]
    assert not wrong, "imports against the layers (docs/architecture.md):\n" + "\n".join(wrong)


def test_the_reader_resolves_relative_imports_and_sees_wrong_arrows(tmp_path):
    code = tmp_path / "engine.py"
    code.write_text(
        "from ..web import realtime\nfrom ...printers.ticket import render\n"
        "def later():\n    from flask import request\n    from .. import cli\n",
        encoding="utf-8",
    )
    modules = {"queuekiosk.server.web.realtime", "queuekiosk.printers.ticket", "queuekiosk.server.cli"}
    found = imports_of("queuekiosk.server.core.engine", code, modules)
    assert [(i.imported, i.line) for i in found] == [
        ("queuekiosk.server.web.realtime", 1),
        ("queuekiosk.printers.ticket", 2),
        ("flask", 4),
        ("queuekiosk.server.cli", 5),
    ]
    assert all(rule_broken(i, set()) for i in found)
    assert rule_broken(Import("queuekiosk.server.web.app", "queuekiosk.server.core.engine", code, 1), set()) is None
    assert rule_broken(Import("queuekiosk.printers.spooler", "queuekiosk.server.web.printing", code, 1), set())
    assert rule_broken(Import("queuekiosk.server.web.app", "queuekiosk.server.commands.common", code, 1), set())
    assert not rule_broken(Import("queuekiosk.server.cli", "queuekiosk.server.commands.sites", code, 1), set())
    routes = {"queuekiosk.server.web.api.reports"}
    assert rule_broken(Import("queuekiosk.server.web.realtime", "queuekiosk.server.web.api.reports", code, 1), routes)
    assert not rule_broken(Import("queuekiosk.server.web.app", "queuekiosk.server.web.api.reports", code, 1), routes)
