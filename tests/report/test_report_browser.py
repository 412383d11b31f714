"""``report.html`` in a real browser: headless Chromium at 1400×900 takes a screenshot (not blank), logs no
console message, and the first screen holds the verdict card and the overlay roofline; at 400 and 1400 px
no element sticks out of the window (the page never scrolls sideways; a wide table scrolls in its own box)
and the contents bar stays at the top.

Skipped, with the reason, where Chromium is not installed (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import html
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
# Run only by this test (the report itself has no script), from a page that holds the report in a frame of
# the width asked (a headless window is at least 500 px wide; a frame of 400 px is a 400 px viewport): where
# the card and the figure sit, every element whose box leaves the viewport (unless a box that scrolls
# sideways holds it), and where the contents bar is once the page is scrolled down.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="report.html" style="width:WIDTHpx;height:HEIGHTpx;border:0"></iframe><script>
const f = document.getElementById("f");
f.addEventListener("load", () => { const d = f.contentDocument, w = f.contentWindow;
const box = (sel) => { const e = d.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
const W = d.documentElement.clientWidth;
const clipped = (e) => { for (let p = e.parentElement; p && p !== d.body; p = p.parentElement) {
  const o = w.getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; }
  return false; };
const out = [];
for (const e of d.body.querySelectorAll("*")) { const r = e.getBoundingClientRect();
  if (r.width && (r.right > W + 1 || r.left < -1) && !clipped(e))
    out.push(`${e.tagName.toLowerCase()}#${e.id}.${e.className.baseVal ?? e.className} ${Math.round(r.left)}..${Math.round(r.right)}`); }
const probe = {card: box("#verdict"), summary: box("#verdict .summary"), overlay: box("#fig-roofline_overlay svg"),
  width: w.innerWidth, client: W, scroll: d.documentElement.scrollWidth, overflow: out.slice(0, 20)};
w.scrollTo(0, 5000); probe.nav = box("nav.toc");
document.body.setAttribute("data-probe", JSON.stringify(probe)); });
</script></body></html>"""


def _chromium(*args: str, cwd, width: int = WIDTH) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    cmd += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    cmd += [f"--user-data-dir={cwd / f'profile-{width}'}", "--allow-file-access-from-files"]
    cmd += [f"--window-size={max(width, 500)},{HEIGHT}", "--enable-logging=stderr", "--v=0", *args]
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


def _probe(page, width: int) -> dict:
    probe = page.with_name(f"probe-{width}.html")
    probe.write_text(PROBE.replace("WIDTH", str(width)).replace("HEIGHT", str(HEIGHT)), encoding="utf-8")
    done = _chromium("--dump-dom", probe.as_uri(), cwd=page.parent, width=width)
    assert _console(done.stderr) == []
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    where = json.loads(html.unescape(found.group(1)))
    assert where["width"] == width  # the layout depends on the width only (no vh units): positions hold
    return where


def test_first_screen_holds_the_verdict_card_and_the_overlay_roofline(page):
    where = _probe(page, WIDTH)
    card, overlay = where["card"], where["overlay"]
    assert card is not None and card["top"] >= 0 and card["bottom"] <= HEIGHT  # the whole card, no scrolling
    assert overlay is not None and overlay["bottom"] <= HEIGHT and overlay["right"] <= WIDTH  # whole figure
    text = page.read_text(encoding="utf-8")
    assert "Verdict: H200 vs H20" in text and "The answer: H200 vs H20" in text and "(no rows)" not in text


@pytest.mark.parametrize("width", [400, 1400])
def test_no_element_leaves_the_window_and_the_contents_stay_on_top(page, width):
    where = _probe(page, width)
    assert where["overflow"] == [], f"at {width} px these stick out of the window: {where['overflow']}"
    assert where["scroll"] <= where["client"]  # the page itself never scrolls sideways
    assert (
        where["summary"] is not None and where["summary"]["top"] < HEIGHT
    )  # the verdict on the first screen
    assert where["nav"] is not None and abs(where["nav"]["top"]) < 1  # scrolled down, the contents bar stays
