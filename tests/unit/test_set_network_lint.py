"""What lint says of a `set network` edit (virtnet.cluster.setnetwork_lint): only what the edit brings counts."""

from __future__ import annotations

import copy
from typing import Any

from virtnet.cluster.setnetwork_lint import edit_findings, refusing
from virtnet.lint.engine import lint_objects, live_object
from virtnet.render.setnetwork import Context

NS = "vms"


def vm(mac: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": NS},
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {
                    "domain": {
                        "devices": {"interfaces": [{"name": "default", "masquerade": {}, "macAddress": mac}]},
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                },
            },
        },
    }


def pool(name: str, **spec: Any) -> dict[str, Any]:
    base = {"subnet": "10.9.0.0/16", "ips": ["10.9.1.10-10.9.1.20"], "gateway": "10.9.0.1"}
    return {"apiVersion": "spiderpool.spidernet.io/v2beta1", "kind": "SpiderIPPool", "metadata": {"name": name},
            "spec": {**base, **spec}}  # fmt: skip


def codes(findings: Any) -> list[str]:
    return sorted(f.rule.code for f in findings)


def test_an_error_the_vm_already_had_is_not_the_edits_but_one_it_brings_is() -> None:
    before = vm("02:00:00:00:00:0g")  # VN023: not a MAC, before and after the edit
    after = copy.deepcopy(before)
    after["spec"]["template"]["metadata"]["annotations"]["ipam.spidernet.io/ippools"] = (
        '[{"interface":"eth0","ipv4":["fenced-v4"]}]'
    )
    assert "VN023" in codes(lint_objects([live_object(after, namespaced=True)]).findings)  # it is there after too
    context = Context(pools=(pool("fenced-v4", namespaceName=["other"]),), known=frozenset({"SpiderIPPool"}))
    assert codes(edit_findings(before, before, (), context, None, None)) == []
    assert codes(edit_findings(before, after, (), context, None, None)) == ["VN027"]
    allowed = Context(pools=(pool("fenced-v4", namespaceName=[NS]),), known=frozenset({"SpiderIPPool"}))
    assert codes(edit_findings(before, after, (), allowed, None, None)) == []


def test_the_objects_the_edit_writes_replace_the_clusters_and_are_checked_themselves() -> None:
    before = vm("02:00:00:00:00:01")
    after = copy.deepcopy(before)
    after["spec"]["template"]["metadata"]["annotations"]["ipam.spidernet.io/ippools"] = (
        '[{"interface":"eth0","ipv4":["lan-v4"]}]'
    )
    live = Context(pools=(pool("lan-v4", namespaceName=["other"]),), known=frozenset({"SpiderIPPool"}))
    # the edit rewrites the pool without the namespace fence: the VM is fine with the pool as written
    assert codes(edit_findings(before, after, [pool("lan-v4")], live, None, None)) == []
    # a pool the edit writes with its gateway outside its subnet is the edit's finding too
    bad = pool("lan-v4", gateway="10.10.0.1")
    assert "VN012" in codes(edit_findings(before, after, [bad], live, None, None))


def test_lint_errors_refuse_only_when_lint_saw_every_pool_smc_and_nad() -> None:
    before = vm("02:00:00:00:00:01")
    after = copy.deepcopy(before)
    after["spec"]["template"]["metadata"]["annotations"]["ipam.spidernet.io/ippools"] = (
        '[{"interface":"eth0","ipv4":["fenced-v4"]}]'
    )
    context = Context(pools=(pool("fenced-v4", namespaceName=["other"]),), known=frozenset({"SpiderIPPool"}))
    found = edit_findings(before, after, (), context, None, None)
    errors, note = refusing(found, ())
    assert (codes(errors), note) == (["VN027"], None)
    errors, note = refusing(found, ("SpiderIPPool",))
    assert errors == []
    assert note == "lint errors not enforced: the cluster did not let virtnet list SpiderIPPool"
    assert refusing((), ("SpiderIPPool",)) == ([], None)  # nothing to say when lint found no error
