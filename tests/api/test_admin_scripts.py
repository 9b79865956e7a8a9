"""/admin's script, in parts of one job each (docs/architecture.md, "A page"): the page names every
part in the order they build on each other, and each is served by this server as JavaScript, one
function run as it loads with nothing outside it (no network at run time: a centre's LAN has no
internet; no global names a part could leak)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# the order matters: each part uses what the ones before it put into QK.admin
ADMIN_SCRIPTS = [
    "admin_fields.js",
    "admin_controls.js",
    "admin_forms.js",
    "admin_panels.js",
    "admin_tokens.js",
    "admin_webhooks.js",
    "admin.js",
]
SCRIPT_SRC = re.compile(r'<script src="([^"]+)"')
HEADER = re.compile(r"\A/\*.*?\*/\n", re.DOTALL)  # the comment a part opens with
WRAPPER_START = '(function () {\n  "use strict";\n'
WRAPPER_END = "})();"


def test_the_admin_page_loads_each_of_its_parts_in_order_from_this_server(http):
    page = http.get("/admin")
    assert page.status_code == 200, page.text
    sources = SCRIPT_SRC.findall(page.text)
    assert all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    names = [urlsplit(src).path.rsplit("/", 1)[-1] for src in sources]  # (a part named twice: seen twice)
    named = dict(zip(names, sources))
    assert [name for name in names if name.startswith("admin")] == ADMIN_SCRIPTS
    # (QK and QK.supervisor first: every part builds on them)
    assert names.index("queuekiosk.js") < names.index("supervisor.js") < names.index(ADMIN_SCRIPTS[0])
    for name in ADMIN_SCRIPTS:
        src = named[name]
        answer = http.get(src)
        assert answer.status_code == 200, src
        assert answer.headers["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript"), src
        code = HEADER.sub("", answer.text, count=1).rstrip()
        assert code.startswith(WRAPPER_START) and code.endswith(WRAPPER_END), src
        # (and one function, not two in a row with code between them: every line in it is indented)
        outside = [line for line in code.splitlines()[1:-1] if line and not line.startswith(" ")]
        assert not outside, (src, outside)
