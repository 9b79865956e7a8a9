"""A page's script in parts of one job each (docs/architecture.md, "A page"): /admin's and the clerk
console's (/counter). The page names every part in the order they build on each other, and each is
served by this server as JavaScript, one function run as it loads with nothing outside it (no network
at run time: a centre's LAN has no internet; no global names a part could leak)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

# the order matters: each part uses what the ones before it put into QK.admin / QK.console; the last
# one is the page, which starts only if all the others ran
ADMIN_SCRIPTS = [
    "admin_fields.js",
    "admin_controls.js",
    "admin_forms.js",
    "admin_panels.js",
    "admin_tokens.js",
    "admin_webhooks.js",
    "admin.js",
]
CONSOLE_SCRIPTS = [
    "console_view.js",
    "console_dossier.js",
    "console_live.js",
    "console_dialogs.js",
    "console_actions.js",
    "console_sign_out.js",
    "console.js",
]
SCRIPT = re.compile(r'<script src="([^"]+)"([^>]*)>')  # its address, and what else its tag says
HEADER = re.compile(r"\A/\*.*?\*/\n", re.DOTALL)  # the comment a part opens with
WRAPPER_START = '(function () {\n  "use strict";\n'
WRAPPER_END = "})();"


@pytest.mark.parametrize(
    ("path", "parts", "before"),
    [
        ("/admin", ADMIN_SCRIPTS, ["queuekiosk.js", "supervisor.js"]),  # QK and QK.supervisor first
        ("/counter", CONSOLE_SCRIPTS, ["socket.io.min.js", "queuekiosk.js"]),  # Socket.IO and QK first
    ],
)
def test_the_page_loads_each_of_its_parts_in_order_from_this_server(http, path, parts, before):
    page = http.get(path)
    assert page.status_code == 200, page.text
    tags = SCRIPT.findall(page.text)
    sources = [src for src, _ in tags]
    assert all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    names = [urlsplit(src).path.rsplit("/", 1)[-1] for src in sources]  # (a part named twice: seen twice)
    named = dict(zip(names, sources))
    prefix = parts[-1].removesuffix(".js")
    assert [name for name in names if name.startswith(prefix)] == parts
    # each part is one the page checks ran (a part without data-part would be missed, and the page would
    # start with buttons that half work); the page's own file is the one named if it never ran itself
    marks = {name: rest.strip() for name, (_, rest) in zip(names, tags)}
    assert [marks[name] for name in parts] == ["data-part"] * (len(parts) - 1) + ["data-page"], marks
    order = [names.index(name) for name in [*before, parts[0]]]
    assert order == sorted(order), names
    for name in parts:
        src = named[name]
        answer = http.get(src)
        assert answer.status_code == 200, src
        assert answer.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript"), src
        code = HEADER.sub("", answer.text, count=1).rstrip()
        assert code.startswith(WRAPPER_START) and code.endswith(WRAPPER_END), src
        # (and one function, not two in a row with code between them: every line in it is indented)
        outside = [line for line in code.splitlines()[1:-1] if line and not line.startswith(" ")]
        assert not outside, (src, outside)
