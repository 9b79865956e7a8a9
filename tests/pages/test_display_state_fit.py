"""A closed or paused counter's label ("Đã đóng", "Tạm dừng"; "Closed", "Paused") stays inside its
counter's tile when the lobby has more counters than one column holds (two columns of tiles,
each half as wide), at the usual lobby screen sizes and in both languages; the called numbers
keep their size. Real Chromium against the real server (tests/pages/display_helpers.py's
server and helpers)."""

from __future__ import annotations

import pytest
import yaml
from display_helpers import REPO, DisplayServer, expect, expect_number, open_display

pytestmark = pytest.mark.browser

# twelve counters: two columns of six in landscape
EXTRA_COUNTERS = [
    {"number": 7, "name": "Quầy 7 - Tư pháp", "services": ["HT"]},
    {"number": 8, "name": "Quầy 8 - Chứng thực", "services": ["CT"]},
    {"number": 9, "name": "Quầy 9 - Địa chính", "services": ["DC"]},
    {"number": 10, "name": "Quầy 10 - Lao động", "services": ["LD"]},
    {"number": 11, "name": "Quầy 11 - Văn hóa", "services": ["VH"]},
    {"number": 12, "name": "Quầy 12 - Trả kết quả", "services": ["TK"]},
]


@pytest.fixture(scope="module")
def big_lobby(tmp_path_factory, sqlite_template, server_zygote):
    """The demo with twelve counters: 1 serves a number, 2 is paused, the others never opened (closed)."""
    folder = tmp_path_factory.mktemp("big-lobby")
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["counters"] += EXTRA_COUNTERS
    config["displays"][0]["voice"] = {"language": "vi", "repeat": 1, "chime": False}
    server = DisplayServer(folder, config, sqlite_template, server_zygote).start()
    server.issue("HT")
    server.issue("HT")
    server.call(1)
    server.call(2)
    server.call(2, "finish")
    paused = server.http.post(
        f"{server.url}/api/v1/counters/2/pause", json={"reason": "nghỉ trưa"}, headers=server.admin(), timeout=10
    )
    assert paused.status_code == 200, paused.text
    yield server
    server.stop(graceful=False)
    server.http.close()


MEASURE = r"""() => {
  const rows = [...document.querySelectorAll('.counter-row')];
  const spills = [];
  for (const row of rows) {
    const label = row.querySelector('.state');
    if (label.hidden) continue;
    const tile = row.getBoundingClientRect();
    const box = label.getBoundingClientRect();
    if (box.left < tile.left - 0.5 || box.right > tile.right + 0.5 || box.top < tile.top - 0.5 ||
        box.bottom > tile.bottom + 0.5) {
      spills.push(row.dataset.counter + ' "' + label.textContent + '" ' + Math.round(box.left) + '-' +
                  Math.round(box.right) + ' outside ' + Math.round(tile.left) + '-' + Math.round(tile.right));
    }
  }
  const first = rows[0].getBoundingClientRect();
  const num = rows[0].querySelector('.num');
  const style = getComputedStyle(rows[0]);
  const across = rows[0].clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const down = rows[0].clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return {
    columns: new Set(rows.map((r) => Math.round(r.getBoundingClientRect().left))).size,
    spills,
    numberPx: parseFloat(getComputedStyle(num).fontSize),
    // the number's size as the row's shape sets it (display.css: min(80cqh, 18cqw)), never less
    numberFullPx: Math.min(0.8 * down, 0.18 * across),
    numberInside: num.getBoundingClientRect().right <= first.right + 0.5,
  };
}"""


@pytest.mark.parametrize("width, height", [(1920, 1080), (1366, 768), (1280, 720), (1080, 1920)])
def test_a_closed_counters_label_stays_inside_its_tile_in_two_columns(browser, big_lobby, width, height, shot):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = context.new_page()
        open_display(page, big_lobby)
        expect_number(page, 1, "1001")
        expect(page.locator('.counter-row[data-counter="2"] .state')).to_have_text("Tạm dừng")
        expect(page.locator('.counter-row[data-counter="12"] .state')).to_have_text("Đã đóng")
        for language, closed in (("vi", "Đã đóng"), ("en", "Closed")):
            page.evaluate("(lang) => window.QKDisplay.showLanguage(lang)", language)
            expect(page.locator('.counter-row[data-counter="3"] .state')).to_have_text(closed)
            measured = page.evaluate(MEASURE)
            shot(page, f"display-closed-{width}x{height}-{language}")
            assert measured["columns"] == 2, measured
            assert not measured["spills"], f"{width}x{height} {language}: labels outside their tile: {measured}"
            assert measured["numberInside"], measured
            assert measured["numberPx"] >= measured["numberFullPx"] - 0.5, (
                f"the called number kept its size: {measured}"
            )
    finally:
        context.close()
