"""Every field a rule's texts name (the registered why/fix, and every ``fix=`` a check passes) is a real field of
the KubeVirt / SpiderPool / Multus CRD schemas (issue 9: VN020 named ``userDataSecretRef``, which does not exist)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import yaml

from virtnet.lint import all_rules

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT.parent / "shared" / "reference" / "crds"
RULES = ROOT / "src" / "virtnet" / "lint" / "rules"
# camelCase words: what a field name looks like in prose (``networkDataSecretRef``, ``spec.ipVersion``)
FIELD_LIKE = re.compile(r"(?<![\w/-])([a-z]+(?:[A-Z][a-z0-9]*)+)(?![\w(])")
QUOTED = re.compile(
    r"(?<!\w)'(?:[^']|(?<=\w)'(?=\w))*'(?!\w)"
)  # upstream error messages are quoted verbatim: not field names of ours
# camelCase names that are not CRD fields, each with what it is
NOT_CRD_FIELDS = {
    "enableKubevirtStaticIP": "a key of SpiderPool's spiderpool-conf ConfigMap conf.yml (SP@v1.2.2:cmd/spiderpool-"
    "controller/cmd/config.go)",
    "fieldValidation": "the Kubernetes API query parameter of strict field validation",
    "enableIPv4": "a key of spiderpool-conf conf.yml (SP@v1.2.2:cmd/spiderpool-controller/cmd/config.go)",
    "enableIPv6": "a key of spiderpool-conf conf.yml (SP@v1.2.2:cmd/spiderpool-controller/cmd/config.go)",
    "selectByPod": "a function cited in a rule's why (SP@v1.2.2:pkg/ipam/allocate.go)",
    "retrieveStaticIPAllocation": "a function cited in a rule's why (SP@v1.2.2:pkg/ipam/allocate.go)",
}


@functools.cache
def _crd_fields() -> frozenset[str]:
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    files = sorted(CRDS.rglob("*.yaml"))
    assert files, f"no CRD schemas under {CRDS}"
    for path in files:
        for doc in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            walk(doc)
    return frozenset(names)


def _literal_text(node: ast.expr) -> str:
    """The constant parts of a string literal, f-string or concatenation (placeholders become spaces)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) if isinstance(v, ast.Constant) else " " for v in node.values)
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + " " + _literal_text(node.orelse)
    return " "


def _texts() -> list[tuple[str, str]]:
    """(where, text) of every registered rule's summary/why/fix and every ``fix=`` keyword in the rule modules."""
    out = [(f"{r.code} {part}", getattr(r, part)) for r in all_rules() for part in ("summary", "why", "fix")]
    for path in sorted(RULES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "fix":
                out.append((f"{path.name}:{node.value.lineno} fix=", _literal_text(node.value)))
    return out


def test_rule_texts_name_only_real_fields() -> None:
    fields = _crd_fields() | set(NOT_CRD_FIELDS)
    unknown = [
        f"{where}: {name}"
        for where, text in _texts()
        for name in FIELD_LIKE.findall(QUOTED.sub(" ", text))
        if name not in fields and name.removesuffix("s") not in fields  # "apiVersions": the plural of a field
    ]
    assert unknown == [], f"rule texts name fields no CRD schema declares: {unknown}"


def test_the_check_sees_fix_keywords_and_catches_a_made_up_field() -> None:
    texts = _texts()
    assert sum(1 for where, _ in texts if where.endswith("fix=")) >= 10
    assert "userDataSecretRef" not in _crd_fields()  # the name issue 9 found: the test would report it
    assert {"secretRef", "networkDataSecretRef", "macAddress"} <= _crd_fields()
