"""How long the report takes to render, and how the page behaves, at 1,000 examples x 4 variants.

Run: python bench/report_speed.py [--examples 1000] [--out bench/out]
Writes JSON and prints a short table. Rendering time is measured in Python; page load, first paint of the
examples table and a filter/sort/search round trip are measured in Debian's headless Chromium when present.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from factory import crafted_results  # noqa: E402

from harness.report import render_report  # noqa: E402


def _text(i: int, variant: str) -> str:
    words = "Certainly! This answer explains the matter at some length." if variant in ("base", "system") else "Short."
    return f"{i}: {words} " * (1 + i % 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = crafted_results(args.examples, _text, rules=[{"check": "words", "at_most": 20}])
    scored = time.perf_counter() - started
    started = time.perf_counter()
    html = render_report(results)
    rendered = time.perf_counter() - started
    page = args.out / "report-1000.html"
    page.write_text(html, encoding="utf-8")
    figures = {"examples": args.examples, "variants": 4, "scoring_and_statistics_s": round(scored, 3),
               "render_s": round(rendered, 3), "html_bytes": len(html.encode())}
    figures.update(_browser(page))
    (args.out / "report_speed.json").write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:32} {value}")


def _browser(page: Path) -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser": "playwright not installed"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        started = time.perf_counter()
        tab.goto(page.resolve().as_uri())
        tab.wait_for_selector("#example-body tr")
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        tab.select_option("#filter-check", "*")
        tab.select_option("#sort", "words")
        tab.fill("#search", "answer")
        tab.wait_for_timeout(200)  # the search box waits 120 ms before filtering
        interaction = time.perf_counter() - started - 0.2
        browser.close()
    return {"page_load_to_table_s": round(loaded, 3), "filter_sort_search_s": round(interaction, 3)}


if __name__ == "__main__":
    main()
