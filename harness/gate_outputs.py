"""Gate results for CI: JUnit XML (one testcase per gate), a Markdown summary, and JSON."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness import markdown
from harness.results import GateReport, GateResult

# Characters XML 1.0 cannot carry at all, escaped or not: most C0 controls, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _ci(gate: GateResult) -> str:
    return "–" if gate.ci_low is None else f"[{gate.ci_low:+.4g}, {gate.ci_high:+.4g}]"


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(report: GateReport, suite: str) -> str:
    """One testcase per gate; text from suites and gates is stripped of characters XML cannot hold."""
    root = ET.Element("testsuites", name="harness", tests=str(len(report.gates)), failures=str(report.failed))
    suite_node = ET.SubElement(root, "testsuite", name=f"harness gates: {suite}", tests=str(len(report.gates)),
                               failures=str(report.failed), errors="0", skipped="0", time="0")
    properties = ET.SubElement(suite_node, "properties")
    for name, value in (("baseline", report.baseline), ("forced", report.forced)):
        if value:
            ET.SubElement(properties, "property", name=name, value=value)
    for gate in report.gates:
        case = ET.SubElement(suite_node, "testcase", classname=f"harness.gates.{suite}", name=gate.gate, time="0")
        message = f"measured {_number(gate.measured)}, bound {_number(gate.bound)}, 95% CI {_ci(gate)}"
        if gate.passed:
            ET.SubElement(case, "system-out").text = f"{message}. {gate.detail}"
        else:
            failure = ET.SubElement(case, "failure", message=message, type=f"gate.{gate.kind}")
            failure.text = gate.detail
    ET.indent(root)
    for node in root.iter():
        node.text = _xml(node.text) if node.text else node.text
        node.attrib = {key: _xml(value) for key, value in node.attrib.items()}
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def markdown_summary(report: GateReport, suite: str, run: str, notice: str | None = None) -> str:
    """The summary CI posts; every text from a suite, a gate or a path is escaped, so it shows as typed."""
    head = "✅ all gates pass" if report.passed else f"❌ {report.failed} of {len(report.gates)} gates failed"
    lines = [f"### harness gates: {markdown.text(suite)} — {head}", "", f"Run: {markdown.code_span(run)}"]
    if notice:
        lines += ["", f"> **Smoke run.** {markdown.text(notice)}"]
    if report.baseline:
        lines.append(f"Baseline: {markdown.code_span(report.baseline)}")
    if report.forced:
        lines += ["", f"> **Forced comparison:** {markdown.text(report.forced)}"]
    lines += ["", "| gate | measured | bound | 95% CI | result |", "| --- | ---: | ---: | --- | --- |"]
    for gate in report.gates:
        lines.append(f"| {markdown.code_span(gate.gate, cell=True)} | {_number(gate.measured)} | "
                     f"{_number(gate.bound)} | {_ci(gate)} | {'pass' if gate.passed else '**FAIL**'} |")
    failures = [g for g in report.gates if not g.passed]
    if failures:
        lines += ["", "Failed:"] + [f"- {markdown.code_span(g.gate)}: {markdown.text(g.detail)}" for g in failures]
    return "\n".join(lines) + "\n"
