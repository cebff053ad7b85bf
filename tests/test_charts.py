"""The report's SVG charts read as SVG: legends in the colours of what they name, labels that never overlap,
whole-number bins for counts, and outliers drawn."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

from harness import charts

SVG = "{http://www.w3.org/2000/svg}"


def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _texts(svg: ET.Element, cls: str = "tick") -> list[ET.Element]:
    """The labels of a class, each with its baseline on the page (the plot group is shifted down by any
    extra legend rows) in `page_y`."""
    found = []
    for holder in svg.iter():
        shift = float(re.fullmatch(r"translate\(0 (\d+)\)", holder.get("transform", "translate(0 0)")).group(1)) \
            if holder.tag == f"{SVG}g" and holder.get("transform", "").startswith("translate") else 0.0
        for t in holder.findall(f"{SVG}text"):
            if t.get("class") == cls:
                t.set("page_y", str(float(t.get("y")) + shift))
                found.append(t)
    return found


def _extent(text: ET.Element) -> tuple[float, float, float]:
    """(left, right, baseline) of a label, from its position, anchor and characters."""
    width = charts.CHAR_W * len(text.text or "")
    x = float(text.get("x"))
    left = x - width / 2 if text.get("text-anchor") == "middle" else x
    return left, left + width, float(text.get("page_y"))


def _overlaps(labels: list[ET.Element]) -> list[tuple[str, str]]:
    found = []
    for a, b in itertools.combinations(labels, 2):
        (l1, r1, y1), (l2, r2, y2) = _extent(a), _extent(b)
        if abs(y1 - y2) < 10 and l1 < r2 and l2 < r1:
            found.append((a.text, b.text))
    return found


def test_the_loss_legend_uses_the_colours_of_its_lines():
    svg = _svg(charts.line_chart("Training loss", {"run A": [(1, 2.0), (2, 1.5)], "run B": [(1, 2.2), (2, 1.2)]},
                                 "step", "loss"))
    strokes = {p.find(f"{SVG}title").text: p.get("stroke") for p in svg.iter(f"{SVG}path")}
    swatches = list(svg.iter(f"{SVG}rect"))
    legend = {t.find(f"{SVG}title").text: s.get("fill") for t, s in zip(_texts(svg, "tick legend"), swatches,
                                                                        strict=True)}
    assert strokes == legend and len(set(strokes.values())) == 2


def test_step_ticks_are_distinct_whole_numbers():
    svg = _svg(charts.line_chart("Training loss", {"r": [(1, 2.0), (2, 1.5), (3, 1.4)]}, "step", "loss"))
    ticks = [t.text for t in _texts(svg) if float(t.get("y")) == charts.TICK_Y]
    assert ticks == ["0", "1", "2", "3"]


def test_labels_and_legends_never_overlap_in_a_two_run_comparison():
    columns = [f"{run}·{v}" for v in ("base", "system", "sft", "sft+system") for run in ("adapter-v1", "adapter-v2")]
    groups = ["stopped on end-of-turn", "truncated", "all checks pass (strict)", "all checks pass (loose)",
              "any filler"]
    bars = _svg(charts.grouped_bars("Rates", groups, {c: [0.5] * len(groups) for c in columns}, "share"))
    boxes = _svg(charts.box_plots("NLL", {c: [1.0, 2.0, 3.0] for c in columns}, "nats"))
    for svg in (bars, boxes):
        labels = _texts(svg) + _texts(svg, "tick legend")
        assert not _overlaps(labels)
        for text in labels:
            left, right, _ = _extent(text)
            assert left >= 0 and right <= charts.WIDTH, text.text
        cut = [t for t in labels if t.text.endswith("…")]
        assert all(t.find(f"{SVG}title").text.startswith(t.text[:-1]) for t in cut)  # whole label on hover
    assert float(bars.get("height")) > charts.HEIGHT  # the 8-column legend took a second row


def test_word_counts_get_whole_number_bins():
    svg = _svg(charts.histograms("Words", {"base": [3, 7, 12, 40, 101], "sft": [2, 5, 9, 9, 14]}, "words"))
    titles = [r.find(f"{SVG}title").text for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert titles and all(re.fullmatch(r".*outputs with \d+(–\d+)?", t) for t in titles)
    counted = sum(int(re.search(r": (\d+) outputs", t).group(1)) for t in titles)
    assert counted == 10  # every answer in exactly one bin
    assert all("." not in t.text for t in _texts(svg) if float(t.get("y")) == charts.TICK_Y)


def test_box_plots_draw_the_points_beyond_the_whiskers():
    svg = _svg(charts.box_plots("NLL", {"sft": [1.0, 1.1, 1.2, 1.3, 1.25, 9.0], "base": [2.0, 2.1]}, "nats"))
    outliers = [c for c in svg.iter(f"{SVG}circle") if c.get("class") == "outlier"]
    assert [c.find(f"{SVG}title").text for c in outliers] == ["sft: outlier 9"]


def test_the_data_size_curve_has_error_bars_and_a_band_per_prompting_variant_in_its_legend_colours():
    svg = _svg(charts.curve_with_bands("Format pass rate", [(50, 60.0, 50.0, 70.0), (200, 90.0, 85.0, 95.0)],
                                       {"base": (20.0, 12.0, 28.0), "system": (70.0, 61.0, 79.0)},
                                       "training examples", "%", "sft"))
    bands = [r for r in svg.iter(f"{SVG}rect") if r.get("fill-opacity")]
    assert [b.find(f"{SVG}title").text for b in bands] == ["base: 20 (95% CI 12 to 28)",
                                                           "system: 70 (95% CI 61 to 79)"]
    points = [c.find(f"{SVG}title").text for c in svg.iter(f"{SVG}circle")]
    assert points == ["sft, 50 training examples: 60 (95% CI 50 to 70)",
                      "sft, 200 training examples: 90 (95% CI 85 to 95)"]
    swatches = [r for r in svg.iter(f"{SVG}rect") if not r.get("fill-opacity")]
    legend = {t.find(f"{SVG}title").text: s.get("fill") for t, s in zip(_texts(svg, "tick legend"), swatches,
                                                                        strict=True)}
    assert legend["base"] == bands[0].get("fill") and legend["system"] == bands[1].get("fill")
    assert legend["sft"] == next(svg.iter(f"{SVG}circle")).get("fill")
    # The 95% band of system lies above base's, as its values do (y grows downwards).
    assert float(bands[1].get("y")) < float(bands[0].get("y"))
