"""/admin's script, in parts of one job each (docs/admin.md): the page names every part in the order
they build on each other, and each is served by this server as JavaScript, under the 800 lines a
module may have (no network at run time: a centre's LAN has no internet)."""

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
MAX_LINES = 800
SCRIPT_SRC = re.compile(r'<script src="([^"]+)"')


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
        assert "(function () {" in answer.text and '"use strict";' in answer.text, src
        assert len(answer.text.splitlines()) <= MAX_LINES, (src, len(answer.text.splitlines()))
