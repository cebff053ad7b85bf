"""The report in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser
download): it loads with no console errors, hostile text stays text, filters, sorting and search work."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from factory import crafted_results

from harness.report import render_report

CHROMIUM = os.environ.get("HARNESS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
           '</style><b>bold?</b></textarea></script><script>window.__pwned=3</script>')

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    if os.environ.get("HARNESS_REQUIRE_BROWSER"):
        raise RuntimeError(f"HARNESS_REQUIRE_BROWSER is set but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


def _open(browser, html: str, tmp_path: Path, name: str = "report.html"):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
    page.goto(path.as_uri())
    return page, problems


def _text(i: int, variant: str) -> str:
    base = f"Certainly! The answer to question {i} is here." + " More words." * (i % 5)
    return base if variant in ("base", "system") else f"Answer {i}." + (" Short." if i % 3 == 0 else "")


def test_loads_cleanly_filters_sorts_and_searches(browser, tmp_path):
    rules = [{"check": "words", "at_most": 8, "name": "short"}]
    html = render_report(crafted_results(60, _text, rules=rules))
    page, problems = _open(browser, html, tmp_path)
    assert problems == []
    assert page.inner_text("#count") == "showing 1–25 of 60 examples"
    assert page.locator("#example-body tr").count() == 25
    assert page.locator("#example-body mark").count() > 0  # filler spans highlighted
    # Failing check in one variant: only base outputs are long.
    page.select_option("#filter-check", "short")
    page.select_option("#filter-variant", "sft")
    assert page.inner_text("#count").startswith("showing 0–0 of 0 examples")
    page.select_option("#filter-variant", "base")  # 8 words pass; every answer with extra words fails
    assert page.inner_text("#count") == "showing 1–25 of 48 examples (filtered from 60)"
    page.select_option("#filter-check", "")
    # Sort by the largest length reduction from diff A (system) to B (sft): question 4 has the longest system answer.
    page.select_option("#sort", "words")
    first = page.locator("#example-body tr").first.get_attribute("data-id")
    assert first in {"ex-0004", "ex-0009", "ex-0014", "ex-0019", "ex-0024", "ex-0029", "ex-0034", "ex-0039",
                     "ex-0044", "ex-0049", "ex-0054", "ex-0059"}
    assert page.locator("#example-body ins").count() > 0 and page.locator("#example-body del").count() > 0
    page.fill("#search", "question 17 ")
    playwright.expect(page.locator("#count")).to_contain_text("of 1 examples")
    page.fill("#search", "")
    playwright.expect(page.locator("#count")).to_contain_text("of 60 examples")
    page.click("#next")
    assert page.inner_text("#page") == "page 2 of 3"
    page.uncheck("input.show-column[value='base']")
    assert page.locator("#example-body td[data-column='base']").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert problems == []


def test_hostile_text_shows_as_text_and_runs_nothing(browser, tmp_path):
    html = render_report(crafted_results(
        3, lambda i, v: HOSTILE, prompt=lambda i: HOSTILE, reference=lambda i: HOSTILE,
        rules=[{"check": "must_contain", "value": "</textarea>"}]))
    page, problems = _open(browser, html, tmp_path, "hostile.html")
    assert page.evaluate("window.__pwned") is None
    assert problems == []
    table = page.locator("#example-table")
    assert table.locator("img, b, textarea, script").count() == 0
    text = table.inner_text()
    assert "<script>window.__pwned=1</script>" in text and 'onerror="window.__pwned=2"' in text
    assert "</style>" in text and "</textarea>" in text
    page.screenshot(path=str(tmp_path / "hostile.png"))


def test_a_thousand_examples_stay_usable(browser, tmp_path):
    html = render_report(crafted_results(1000, lambda i, v: f"answer {i} " * (i % 9 + 1)))
    page, problems = _open(browser, html, tmp_path, "big.html")
    assert page.inner_text("#count") == "showing 1–25 of 1000 examples"
    page.select_option("#sort", "words-up")
    page.fill("#search", "answer 999 ")
    playwright.expect(page.locator("#count")).to_contain_text("of 1 examples")
    assert problems == []


def test_prints_legibly(browser, tmp_path):
    page, problems = _open(browser, render_report(crafted_results(30, _text)), tmp_path, "print.html")
    page.emulate_media(media="print")
    assert not page.locator(".controls").is_visible() and not page.locator(".pager").is_visible()
    assert page.locator("#verdict table").first.is_visible() and page.locator("#chart-words svg").is_visible()
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert problems == []
