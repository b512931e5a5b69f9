"""What a reader checks on a report page, measured in headless Chromium.

:func:`probe` copies the page, adds a script that measures the laid-out page once it has
loaded and writes the numbers as JSON into ``<pre id="probe">``, and reads them back from
Chromium's ``--dump-dom``. No package beyond Chromium itself is needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars"]

_SCRIPT = """<script>
window.addEventListener('load', () => {
  const doc = document.documentElement;
  const section = document.getElementById('findings');
  const images = Array.from(document.images);
  const rows = Array.from(document.querySelectorAll('#findings table.glance > tbody > tr[id^="finding-"]'));
  const cells = Array.from(document.querySelectorAll(
      '#findings table.glance td.claim, #findings table.glance td.headline'));
  const lineHeight = cells.length ? parseFloat(getComputedStyle(cells[0]).lineHeight) : 0;
  const out = {
    viewport_width: window.innerWidth,
    scroll_width: doc.scrollWidth,
    page_height: doc.scrollHeight,
    findings_height: section ? section.getBoundingClientRect().height : -1,
    images: images.length,
    images_broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    rows: rows.length,
    rows_with_badge: rows.filter(r => r.querySelector('.verdict .badge')).length,
    judged_rows: rows.filter(r => !r.querySelector('.badge.untested')).length,
    judged_rows_with_plot: rows.filter(r => !r.querySelector('.badge.untested')
                                           && r.querySelector('img.forest')).length,
    folded_rows_shown: Array.from(document.querySelectorAll('#findings tr.more')).filter(
        r => r.getBoundingClientRect().height > 0).length,
    tallest_text_cell_lines: lineHeight ? Math.max(0, ...cells.map(
        c => c.getBoundingClientRect().height)) / lineHeight : 0,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def probe(page: Path, work: Path, width: int = 1280, height: int = 900) -> dict:
    """Measurements of ``page`` laid out in a ``width`` × ``height`` window: the findings
    section's height (px), the document's scroll width against the viewport, images that did
    not load, rows of the findings table with a badge and with a plot, the folded rows shown,
    and the tallest text cell of that table in lines."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "probed.html"
    copy.write_text(page.read_text().replace("</body>", _SCRIPT + "</body>"))
    result = subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={work / 'profile'}",
         f"--window-size={width},{height}", "--virtual-time-budget=5000", "--dump-dom",
         copy.as_uri()], check=True, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, "the probe did not run: " + result.stderr[-400:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def screenshot(page: Path, shot: Path, width: int = 1280, height: int = 900) -> Path:
    """A PNG of ``page`` in a ``width`` × ``height`` window (a full page: its height)."""
    subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={shot.parent / 'profile'}",
         f"--screenshot={shot}", f"--window-size={width},{height}", page.as_uri()],
        check=True, capture_output=True, timeout=120)
    return shot
