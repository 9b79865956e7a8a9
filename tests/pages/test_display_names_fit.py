"""Twelve counters with the long names centres give them ("Quầy 12 – Đất đai, xây dựng"), two columns of
rows on a landscape TV and one on a portrait screen: every counter name is read in full, or cut cleanly
between words with "…" and the whole name kept on the row (its title and its accessible name), never a
letter cut in half; the type stays readable from the seats and the called number stays the largest
thing in its row. Real Chromium against the real server (tests/pages/display_helpers.py's server)."""

from __future__ import annotations

import pytest
import yaml
from display_helpers import REPO, DisplayServer, expect_number, open_display

pytestmark = pytest.mark.browser

# as one-stop centres name their counters: the number, then the fields it serves
NAMES = {
    1: "Quầy 1 – Hộ tịch, chứng thực",
    2: "Quầy 2 – Tư pháp, hộ tịch",
    3: "Quầy 3 – Chứng thực bản sao, chữ ký",
    4: "Quầy 4 – Địa chính, đất đai",
    5: "Quầy 5 – Lao động, thương binh và xã hội",
    6: "Quầy 6 – Văn hóa, thông tin",
    7: "Quầy 7 – Kinh tế, hạ tầng và đô thị",
    8: "Quầy 8 – Đăng ký kinh doanh hộ cá thể",
    9: "Quầy 9 – Tài nguyên và môi trường",
    10: "Quầy 10 – Bảo hiểm xã hội, y tế",
    11: "Quầy 11 – Giáo dục, y tế",
    12: "Quầy 12 – Đất đai, xây dựng",
}
SERVICES = ["HT", "CT", "DC", "LD", "VH", "TK"]


@pytest.fixture(scope="module")
def named_lobby(tmp_path_factory, sqlite_template, server_zygote):
    """The demo with twelve long-named counters; counters 1, 5 and 12 each call a number."""
    folder = tmp_path_factory.mktemp("named-lobby")
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["counters"] = [
        {"number": n, "name": name, "services": [SERVICES[(n - 1) % len(SERVICES)]]} for n, name in NAMES.items()
    ]
    config["displays"][0]["voice"] = {"language": "vi", "repeat": 1, "chime": False}
    server = DisplayServer(folder, config, sqlite_template, server_zygote).start()
    for counter in (1, 5, 12):
        server.issue(SERVICES[(counter - 1) % len(SERVICES)])
        server.call(counter)
    yield server
    server.stop(graceful=False)
    server.http.close()


# Each counter name: its text fits its box (scrollWidth, and its lines within its height: a line's
# stacked marks may stand a little above or below it) unless the box ends it with CSS text-overflow: ellipsis; the box shows whole
# lines only; a name shown shortened ends with "…" after a whole word and the row keeps the whole name.
MEASURE = r"""() => {
  const rows = [...document.querySelectorAll('.counter-row')];
  const problems = [];
  const names = [];
  for (const row of rows) {
    const name = row.querySelector('.name');
    const style = getComputedStyle(name);
    const size = parseFloat(style.fontSize);
    const line = parseFloat(style.lineHeight) || size * 1.2;
    const label = row.dataset.counter;
    const text = name.textContent;
    const wide = name.scrollWidth > name.clientWidth + 1;
    const tall = Math.round(name.scrollHeight / line) * line > name.clientHeight + 1;
    if ((wide || tall) && style.textOverflow !== 'ellipsis') {
      problems.push(label + ': "' + text + '" overflows its box (' + name.scrollWidth + 'x' +
                    name.scrollHeight + ' in ' + name.clientWidth + 'x' + name.clientHeight + ')');
    }
    const lines = name.clientHeight / line;
    if (Math.abs(lines - Math.round(lines)) > 0.05) {
      problems.push(label + ': a part of a line shown (' + lines.toFixed(2) + ' lines of "' + text + '")');
    }
    const box = name.getBoundingClientRect(), tile = row.getBoundingClientRect();
    if (box.left < tile.left - 0.5 || box.right > tile.right + 0.5 || box.bottom > tile.bottom + 0.5 ||
        box.top < tile.top - 0.5) {
      problems.push(label + ': the name is outside its row');
    }
    const whole = name.getAttribute('title') || '';
    const shortened = text.endsWith('…');
    if (shortened) {
      const kept = text.slice(0, -1);
      const rest = whole.slice(whole.indexOf(kept) + kept.length);
      if (whole.indexOf(kept) < 0 || !/^[\s,;:.\-–—]/.test(rest)) {
        problems.push(label + ': "' + text + '" is not "' + whole + '" cut after a whole word');
      }
    } else if (!whole.endsWith(text)) {
      problems.push(label + ': "' + text + '" is not the end of its name "' + whole + '"');
    }
    const num = row.querySelector('.num');
    names.push({counter: label, size, shortened, numberSize: parseFloat(getComputedStyle(num).fontSize), text});
  }
  return {problems, names, columns: new Set(rows.map((r) => Math.round(r.getBoundingClientRect().left))).size,
          keyText: 0.0584 * Math.min(innerWidth, innerHeight)};
}"""


@pytest.mark.parametrize("width, height, columns", [(1920, 1080, 2), (1080, 1920, 2)])
def test_every_counter_name_is_read_whole_or_cut_cleanly_between_words(
    browser, named_lobby, width, height, columns, shot
):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    try:
        page = context.new_page()
        open_display(page, named_lobby)
        expect_number(page, 12, "6001")  # (counter 12 serves TK)
        for language in ("vi", "en"):
            page.evaluate("(lang) => window.QKDisplay.showLanguage(lang)", language)
            measured = page.evaluate(MEASURE)
            shot(page, f"display-names-{width}x{height}-{language}")
            assert measured["columns"] == columns, measured
            assert not measured["problems"], f"{width}x{height}: {measured['problems']}"
            for name in measured["names"]:
                # readable from the seats: never below 60 % of the key text (a 38 px letter on a 1080-line TV)
                assert name["size"] >= 0.6 * measured["keyText"] - 0.5, name
                assert name["numberSize"] > name["size"], f"the called number is the largest: {name}"
            shortened = [name["text"] for name in measured["names"] if name["shortened"]]
            assert len(shortened) <= 2, f"most names are read whole: {shortened}"
    finally:
        context.close()
