#!/usr/bin/env python3
"""Loads every page of the couponbatch console in headless Chromium (make console-check).

Crawls the console from its front page (same-origin links only), requests every link and asset a
page names, and renders pages in Debian's chromium. Fails when a link or asset does not answer
2xx, when a page names an asset on another host (the console must need nothing external), or
when Chromium logs any console message (the console has no scripts, so any message is an error).
Screenshots of the jobs page, the runs page and run detail pages go to OUT_DIR.

Usage: console_check.py BASE_URL OUT_DIR
"""
import html.parser
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_PAGES = 80
MAX_RENDERED = 8


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name in ("href", "src") or (tag == "form" and name == "action")):
                self.links.append(value)


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), ""


def render(url, screenshot):
    """Chromium logs console messages as ':CONSOLE' lines with --enable-logging=stderr."""
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--enable-logging=stderr", "--v=0", "--window-size=1280,900", "--screenshot=" + screenshot, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    if not os.path.exists(screenshot):
        console.append("no screenshot written (chromium exit %d)" % result.returncode)
    return console


def main():
    base, out = sys.argv[1].rstrip("/"), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    origin = urllib.parse.urlsplit(base).netloc
    problems, seen, queue, pages = [], set(), ["/", "/runs"], []
    checked = {}
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, kind, body = fetch(base + path)
        if status != 200:
            problems.append("%s answered %d" % (path, status))
            continue
        if "text/html" not in kind:
            continue
        pages.append(path)
        parser = Links()
        parser.feed(body)
        for link in parser.links:
            if link.startswith("data:") or link.startswith("#"):
                continue
            target = urllib.parse.urlsplit(urllib.parse.urljoin(base + path, link))
            if target.netloc != origin:
                problems.append("%s links outside the console: %s" % (path, link))
                continue
            local = target.path + ("?" + target.query if target.query else "")
            if local not in checked:
                checked[local] = fetch(base + local)[0]
            if checked[local] != 200:
                problems.append("%s has a broken link %s (%d)" % (path, link, checked[local]))
            elif local not in seen:
                queue.append(local)
    runs = [p for p in pages if p.startswith("/runs/")]
    chosen = ["/", "/runs"] + [p for p in pages if p.startswith("/runs?")][:2] + runs[:4]
    for index, path in enumerate(chosen[:MAX_RENDERED]):
        name = {"/": "jobs", "/runs": "runs"}.get(path) or ("run-%s" % path.split("/")[-1] if path in runs else "runs-filtered-%d" % index)
        shot = os.path.join(out, name + ".png")
        for line in render(base + path, shot):
            problems.append("%s: browser console: %s" % (path, line))
        print("rendered %-40s -> %s" % (path, shot))
    print("crawled %d pages, checked %d links" % (len(pages), len(checked)))
    if not runs:
        problems.append("no run detail page was reachable from the runs page")
    for problem in problems:
        print("FAIL " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
