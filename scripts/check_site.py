"""Opens the built documentation site in headless Chromium: the home page and a results page render with their figures.

    .venv/bin/mkdocs build --strict                 # the site, into build/site/
    python -m scripts.check_site [SITE_DIR] [--out DIR] [--chromium PATH]

Serves SITE_DIR (default build/site) over HTTP on a free local port, and for each checked page loads a small
same-origin wrapper that opens the page in a frame, waits for it, and reports every image of the page's
article: Chromium's ``--dump-dom`` returns that report. A page passes when its article has at least one image
and every one of them loaded (``complete`` and a non-zero ``naturalWidth``). A screenshot of each page is
written to --out (default build/site-check/) and must not be blank. Exit code 0 when every page passes, 1 if
one does not, 2 if Chromium or the site is missing (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("index.html", "results/compare_fashion_mnist/index.html")
"""The pages checked: the home page (the quickstart figure) and one results page (the comparison's figures)."""

WRAPPER = """<!doctype html><html><body><pre id="report">pending</pre>
<iframe id="page" src="/{page}" style="width:1280px;height:2000px"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => setTimeout(() => {{
  const doc = frame.contentDocument;
  const images = [...doc.querySelectorAll("article img")].map(img => ({{
    src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth}}));
  document.getElementById("report").textContent = "REPORT" + JSON.stringify(images) + "END";
}}, 1500));
</script></body></html>
"""


def find_chromium(explicit: str | None) -> str | None:
    for name in ([explicit] if explicit else []) + ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(chromium: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--virtual-time-budget=10000"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120)


def _blank(png: Path) -> bool:
    from PIL import Image

    with Image.open(png) as image:
        low, high = image.convert("L").getextrema()
    return low == high


def check_page(chromium: str, base: str, site: Path, page: str, out: Path) -> list[str]:
    """The problems of one page (an empty list when it renders with its figures)."""
    problems = []
    wrapper = site / f"_check_{page.replace('/', '_')}"
    wrapper.write_text(WRAPPER.format(page=page))
    try:
        done = _chromium(chromium, "--dump-dom", f"{base}/{wrapper.name}")
    finally:
        wrapper.unlink()
    match = re.search(r"REPORT(.*?)END", done.stdout, flags=re.S)
    if not match:
        return [f"{page}: no report from Chromium (exit {done.returncode}): {done.stderr.strip()[-300:]}"]
    report = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    images = json.loads(report)
    if not images:
        problems.append(f"{page}: no image in the page's article")
    problems += [f"{page}: image {i['src']} did not load" for i in images if not (i["complete"] and i["width"] > 0)]
    png = out / (page.replace("/", "_").removesuffix(".html") + ".png")
    _chromium(chromium, f"--screenshot={png}", "--window-size=1280,1600", f"{base}/{page}")
    if not png.is_file():
        problems.append(f"{page}: no screenshot")
    elif _blank(png):
        problems.append(f"{page}: the screenshot {png} is blank")
    print(f"{page}: {len(images)} image(s), {sum(i['width'] > 0 for i in images)} loaded; screenshot {png}")
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request
        pass


def _missing(message: str) -> None:
    print(f"check_site: {message}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "build" / "site",
                        help="the built site (default: build/site, what `mkdocs build` writes)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site-check", help="where the screenshots go")
    parser.add_argument("--chromium", help="the Chromium executable (default: chromium on the PATH)")
    args = parser.parse_args()
    chromium = find_chromium(args.chromium)
    if chromium is None:
        _missing("no Chromium found: apt-get install chromium (or pass --chromium PATH)")
    if not (args.site / "index.html").is_file():
        _missing(f"{args.site} holds no built site: run .venv/bin/mkdocs build --strict first")
    args.out.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(args.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        problems = [p for page in PAGES for p in check_page(chromium, base, args.site, page, args.out)]
    finally:
        server.shutdown()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"the site renders: {', '.join(PAGES)}")


if __name__ == "__main__":
    main()
