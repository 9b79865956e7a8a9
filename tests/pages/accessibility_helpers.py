"""axe-core (vendored: tests/pages/vendor/axe.min.js) run in a test's Chromium tab: the WCAG 2.2 AA
audit of tests/pages/test_accessibility*.py."""

from __future__ import annotations

from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TOUCH_SCREENS_WITHOUT_ZOOM = ["meta-viewport"]

RUN_AXE = """async ([tags, skip]) => {
  const rules = Object.fromEntries(skip.map((id) => [id, {enabled: false}]));
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, rules});
  return result.violations.map((v) => v.id + ' (' + v.impact + '): ' +
    v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' ' + (n.any[0] || n.all[0] || {message: ''}).message).join(' | '));
}"""


def axe_audit(browser):
    """The ``audit`` fixture: yields ``(tab, check)``, ``tab(viewport)`` a new tab of ``browser`` and
    ``check(page, skip=())`` axe's WCAG 2.2 AA violations on that page now; closes the tabs after."""
    contexts = []

    def tab(viewport):
        # the pages forbid inline scripts (CSP): axe is put in by the test browser, not the page
        context = browser.new_context(viewport=viewport, bypass_csp=True, locale="vi-VN")
        contexts.append(context)
        return context.new_page()

    def check(page, skip=()):
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(content=AXE)
        return page.evaluate(RUN_AXE, [WCAG_22_AA, list(skip)])

    yield tab, check
    for context in contexts:
        context.close()
