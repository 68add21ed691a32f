"""One result, many formats: text (grouped by file, optional colour), JSON (a stable contract) and SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any

from virtnet import __version__
from virtnet.formats.yamlio import format_path
from virtnet.lint.model import Finding, LintResult, Rule, Severity
from virtnet.model.text import plural

_COLOURS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS_URI = "https://github.com/virtnet/virtnet/blob/main/docs/rules.md"


def text(result: LintResult, *, colour: bool = False) -> str:
    """Findings grouped by file (``file:line:column`` per finding) or, for live objects read from a cluster, by
    object (the field path per finding), then the summary and the versions used."""

    def paint(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if colour else s

    out: list[str] = []
    for group_key, group in groupby(result.findings, key=lambda f: f.file if f.file is not None else f.object):
        live = not isinstance(group_key, str)
        out.append(paint(_BOLD, str(group_key)))
        for f in group:
            sev = paint(_COLOURS[f.severity], f"{f.severity.value:<7}")
            if live:
                out.append(f"  {sev}  {f.rule.code} {f.rule.slug}  {f.message}")
            else:
                where = f"{f.line}:{f.column}" if f.line is not None else "-"
                out.append(f"  {where:>7}  {sev}  {f.rule.code} {f.rule.slug}  {f.object}: {f.message}")
            path = format_path(f.path)
            if path:
                out.append(paint(_DIM, f"{'':>11}field: {path}"))
            out.append(paint(_DIM, f"{'':>11}fix: {f.fix}"))
        out.append("")
    s = result.summary()
    counts = ", ".join([plural(s["errors"], "error"), plural(s["warnings"], "warning"), plural(s["infos"], "info")])
    if result.cluster is not None:
        namespace = result.cluster.get("namespace")
        scope = f"namespace {namespace}" if namespace else "all namespaces"
        source = f"the cluster at {result.cluster.get('server')} ({scope})"
    else:
        source = plural(result.files, "file")
    tail = f"{counts} in {plural(result.objects, 'object')} from {source}"
    if result.suppressed:
        tail += f" ({result.suppressed} suppressed)"
    out.append(tail)
    if result.not_checked:
        out.append("not checked: " + "; ".join(str(n) for n in result.not_checked))
    if result.not_run and result.cluster is None:
        reasons: dict[str, list[str]] = {}
        for n in result.not_run:
            reasons.setdefault(n.reason, []).append(f"{n.code} {n.slug}")
        for reason, rules in reasons.items():
            out.append(
                f"not run: {', '.join(rules)}: {reason}; `virtnet lint --cluster` checks them against the cluster"
            )
    if result.schema is not None:
        out.append(schema_line(result.schema))
    out.append(
        f"versions: KubeVirt {result.kubevirt_version}, SpiderPool {result.spiderpool_version} ({result.versions_from})"
    )
    return "\n".join(out) + "\n"


def schema_line(schema: Mapping[str, Any]) -> str:
    """``schema: 12 objects validated against …; no schema (skipped): ConfigMap 1, Secret 3``."""
    line = f"schema: {plural(schema.get('validated', 0), 'object')} validated against {schema.get('from')}"
    skipped = schema.get("skipped") or {}
    if skipped:
        line += "; no schema (skipped): " + ", ".join(f"{kind} {n}" for kind, n in skipped.items())
    for note in schema.get("notes") or ():
        line += f"\n  note: {note}"
    return line


def to_json(result: LintResult) -> str:
    return json.dumps(result.to_dict(), indent=2) + "\n"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": "".join(part.capitalize() for part in rule.slug.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": f"{rule.fix}\nReferences: {'; '.join(rule.references)}"},
        "helpUri": f"{DOCS_URI}#{rule.code.lower()}-{rule.slug}",
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"slug": rule.slug, "versions": rule.versions},
    }


def _sarif_result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    logical = f"{f.object.kind}/{f.object.namespace + '/' if f.object.namespace else ''}{f.object.name}"
    path = format_path(f.path)
    location: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": f"{logical}:{path}" if path else logical}]}
    if f.file is not None:  # a live object read from a cluster has only its logical location
        uri = f.file.lstrip("./") if f.file != "<stdin>" else "stdin"
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if f.line is not None:
            physical["region"] = {"startLine": f.line, "startColumn": f.column or 1}
        location = {"physicalLocation": physical, **location}
    return {
        "ruleId": f.rule.code,
        "ruleIndex": index[f.rule.code],
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.object}: {f.message} Fix: {f.fix}"},
        "locations": [location],
    }


def sarif(result: LintResult, rules: Sequence[Rule]) -> str:
    index = {r.code: i for i, r in enumerate(rules)}
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "virtnet",
                        "version": __version__,
                        "informationUri": DOCS_URI,
                        "rules": [_sarif_rule(r) for r in rules],
                    }
                },
                "results": [_sarif_result(f, index) for f in result.findings],
                "properties": result.summary(),
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def rules_text(rules: Sequence[Rule]) -> str:
    rows = [(r.code, r.slug, r.severity.value, r.summary) for r in rules]
    width = max(len(r[1]) for r in rows)
    return "".join(f"{c}  {s:<{width}}  {sev:<7}  {summary}\n" for c, s, sev, summary in rows)


def rules_markdown(rules: Sequence[Rule]) -> str:
    out = [
        "<!-- generated by `python -m virtnet.cli.gendocs`; do not edit by hand -->\n",
        "# virtnet lint rules\n\n",
        "Suppress a rule on one object with the annotation\n",
        '`ignore-check.virtnet.io/<slug>: "<reason>"`; select rules with `--enable` / `--disable` (code or slug).\n',
        "Exit codes: 0 no errors, 1 errors (or warnings with `--strict`), 2 usage or unreadable input.\n\n",
        "| code | slug | severity | catches |\n|---|---|---|---|\n",
    ]
    out += [
        f"| [{r.code}](#{r.code.lower()}-{r.slug}) | `{r.slug}` | {r.severity.value} | {r.summary} |\n" for r in rules
    ]
    for r in rules:
        out.append(f"\n## {r.code} {r.slug}\n\n")
        kinds = ", ".join(k for k in r.kinds if k != "*") if r.kinds and "*" not in r.kinds else "every object"
        out.append(f"**{r.summary}** — severity *{r.severity.value}*; checks {kinds}; {r.versions}.\n\n")
        out.append(f"Why it matters: {r.why}\n\n")
        out.append(f"How to fix: {r.fix}\n\n")
        out.append("References:\n\n" + "".join(f"- {ref}\n" for ref in r.references))
    return "".join(out)
