"""One job per module (docs/architecture.md): no module of the package grows past 800 lines; a
larger job is a package whose __init__ is its public face, as server/core/engine/ is. The pages'
own scripts (each part's static/*.js; not the vendored libraries) keep to the same 800 lines: a
larger script is in parts of one job each, as /admin's are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("queuekiosk", "server", "kiosk", "display", "counter_client", "printers", "sounds")
MAX_LINES = 800


def _over(paths) -> dict:
    sizes = {path.relative_to(REPO): len(path.read_text(encoding="utf-8").splitlines()) for path in paths}
    return {path: lines for path, lines in sizes.items() if lines > MAX_LINES}


def test_no_module_is_over_800_lines():
    modules = [path for part in PARTS for path in (REPO / part).rglob("*.py") if "migrations" not in path.parts]
    assert len(modules) > 100  # it sees the package
    assert not _over(modules)


def test_no_script_of_our_own_is_over_800_lines():
    scripts = [
        path
        for part in PARTS
        for path in (REPO / part).rglob("*.js")
        if "static" in path.relative_to(REPO).parts and "vendor" not in path.relative_to(REPO).parts
    ]
    # it sees every part's scripts: the console's, the kiosk's, the display's and the server's pages'
    assert {path.relative_to(REPO).parts[0] for path in scripts} >= {"server", "kiosk", "display", "counter_client"}
    assert len(scripts) > 20
    assert not _over(scripts)
