"""A page whose script is in parts (docs/architecture.md, "A page") opened in a real Chromium with one
part (or the page's own file) answered otherwise (404, or a script that fails as it runs):
tests/pages/test_admin_parts_missing.py and test_console_parts_missing.py."""

from __future__ import annotations

from collections.abc import Callable

NOT_FOUND = {"status": 404, "body": "not found"}
BROKEN = "broken half-way"


def thrown_before(marker: str) -> Callable:
    """An answer for ``open_with_part``: the file as the server serves it, failing half-way: it throws
    just before ``marker`` (a line of it), after what it did up to there (e.g. listeners attached)."""

    def answer(route) -> None:
        served = route.fetch()
        code = served.text()
        assert code.count(marker) == 1, marker
        route.fulfill(response=served, body=code.replace(marker, f'throw new Error("{BROKEN}");\n' + marker))

    return answer


def open_with_part(tab, url: str, part: str, answer: dict | Callable) -> list[str]:
    """Open ``url`` with the request for ``part`` (a glob) answered by ``answer`` (route.fulfill's
    arguments, or ``thrown_before``'s); the addresses the page asks for, filled in as it asks."""
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url))
    tab.route(part, answer if callable(answer) else lambda route: route.fulfill(**answer))
    tab.goto(url)
    return asked


def asked_the_server_nothing(tab, asked: list[str]) -> None:
    """Once the page is quiet: no request to the API or Socket.IO (nothing started)."""
    tab.wait_for_load_state("networkidle")
    assert not [url for url in asked if "/api/" in url or "/socket.io/" in url], asked


def in_own_context(browser, use: Callable):
    """``use(tab)`` in a browser context of its own, whose JavaScript errors are expected here rather than
    a failure (as the ``page`` fixture has them): what ``use`` returns, and the page's errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.set_default_timeout(10_000)
    errors: list[str] = []
    try:
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(error.stack or str(error)))
        return use(tab), errors
    finally:
        context.close()
