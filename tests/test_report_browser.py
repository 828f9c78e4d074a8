"""The report in headless Chromium (Debian package ``chromium``; .ci/run installs it): both
languages load without console errors, the first screen (a phone's) shows the headline with
its numbers as text, and a screenshot of it is taken."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from report_folder import make_folder

from hiddenvictims.report.html import render_report
from hiddenvictims.report.messages import fmt_int

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run does)")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]
PHONE = (412, 915)

#: Appended to a test copy of the page (the report itself runs no script and forbids them):
#: writes where the headline sits and whether it is visible into the DOM for --dump-dom.
PROBE = """<script>
addEventListener('load', () => {
  const h = document.querySelector('.headline');
  const r = h.getBoundingClientRect(), s = getComputedStyle(h);
  const out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({top: r.top, bottom: r.bottom, height: r.height, width: r.width,
    visible: s.visibility === 'visible' && s.display !== 'none' && parseFloat(s.opacity) > 0,
    text: h.innerText, innerHeight: innerHeight, innerWidth: innerWidth,
    scrollWidth: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});
</script>"""


def chromium(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={PHONE[0]},{PHONE[1]}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    """Messages from the page (CONSOLE lines) and failed loads; Chromium's own chatter about
    D-Bus in a container is not the page's."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Failed to load" in line or "net::ERR" in line or "Refused to" in line
    ]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_first_screen_in_chromium(tmp_path, lang):
    folder = make_folder(tmp_path / "results", warnings=("effective sample size 120 < 400",))
    html = render_report(folder, lang)
    page = tmp_path / f"report.{lang}.html"
    page.write_text(html, encoding="utf-8")

    shot = tmp_path / f"first-screen.{lang}.png"
    result = chromium([f"--screenshot={shot}", page.as_uri()], tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert console_errors(result.stderr) == []

    probe_page = tmp_path / f"probe.{lang}.html"
    probe_html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    probe_page.write_text(probe_html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(["--dump-dom", probe_page.as_uri()], tmp_path)
    probe = json.loads(
        re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
        .group(1)
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )
    assert probe["visible"] and probe["height"] > 0 and probe["width"] > 0
    assert probe["bottom"] <= probe["innerHeight"], "the headline is not on the first screen"
    assert probe["scrollWidth"] <= probe["innerWidth"], "the page scrolls sideways"
    for value in (1540, 860, 4470, 1280):
        assert fmt_int(value, lang) in probe["text"]
    # The warning is on the first screen too.
    warning = re.search(r'role="alert"', dom.stdout)
    assert warning is not None
