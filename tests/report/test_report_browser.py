"""``report.html`` in a real browser: headless Chromium at 1400×900 takes a screenshot (not blank), logs no
console message, and the first screen holds the headline answer and the overlay roofline.

Skipped, with the reason, where Chromium is not installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from gpucompare import report

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)"
)
WIDTH, HEIGHT = 1400, 900
# Run in the page only by this test (the report itself has no script): where the answer and the figure sit.
PROBE = """<script>
const box = (sel) => { const e = document.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
document.body.setAttribute("data-probe", JSON.stringify({
  answer: box("#top .lead p:last-of-type"), overlay: box("#fig-roofline_overlay svg"),
  width: window.innerWidth, height: window.innerHeight}));
</script>"""


def _chromium(*args: str, cwd) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    cmd += [f"--window-size={WIDTH},{HEIGHT}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    report.generate(out, [])  # the packaged chips, ledger and claims: the page as published without runs
    return out / "report.html"


def test_screenshot_is_not_blank_and_console_is_quiet(page):
    from PIL import Image, ImageStat

    shot = page.with_name("shot.png")
    done = _chromium(f"--screenshot={shot}", page.as_uri(), cwd=page.parent)
    assert shot.exists(), done.stderr[-2000:]
    assert _console(done.stderr) == []
    with Image.open(shot) as img:
        assert img.size == (WIDTH, HEIGHT)
        grey = img.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20  # text and a chart, not a blank page
        assert len(grey.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50


def test_first_screen_holds_the_answer_and_the_overlay_roofline(page):
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = _chromium("--dump-dom", probe.as_uri(), cwd=page.parent)
    assert _console(done.stderr) == []
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    where = json.loads(found.group(1).replace("&quot;", '"'))
    assert (
        where["width"] == WIDTH
    )  # the layout depends on the width only (no vh units): positions hold at 900
    answer, overlay = where["answer"], where["overlay"]
    assert answer is not None and 0 <= answer["top"] < HEIGHT - 100  # the headline sentences start on screen
    assert overlay is not None and overlay["bottom"] <= HEIGHT and overlay["right"] <= WIDTH  # whole figure
    text = page.read_text(encoding="utf-8")
    assert "The answer: H200 vs H20" in text and "(no rows)" not in text
