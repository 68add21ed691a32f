"""The executor's bookkeeping with an in-memory cluster: the KubeVirt CR read-modify-write retried on 409, the
requests made per object, and what the report says when a step fails. (The real server: tests/cluster/test_apply.py.)"""

from __future__ import annotations

import copy
from typing import Any, cast

from virtnet.cluster.apply import Item, Ref, Report
from virtnet.cluster.apply_run import Options, run
from virtnet.cluster.client import Applied, Cluster
from virtnet.errors import ConflictError, ServerError

KV = "kubevirt.io/v1"


class FakeCluster:
    """Just enough of :class:`virtnet.cluster.client.Cluster` for the executor; records every call."""

    namespace = "default"

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.store = {self.key(o): copy.deepcopy(o) for o in objects}
        self.calls: list[tuple[str, str]] = []
        self.replace_conflicts = 0  # answer 409 to this many replaces, changing the CR each time like a rival writer
        self.fail_apply: str | None = None

    @staticmethod
    def key(o: dict[str, Any]) -> tuple[str, str | None, str]:
        return (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        self.calls.append(("get", f"{kind}/{name}"))
        found = self.store.get((kind, namespace, name))
        return copy.deepcopy(found)

    def list(self, api_version: str, kind: str, namespace: str | None = None, *, all_namespaces: bool = False) -> Any:
        return [copy.deepcopy(o) for k, o in self.store.items() if k[0] == kind]

    def apply(self, obj: dict[str, Any], *, force: bool = False, dry_run: bool = False) -> Applied:
        self.calls.append(("apply-dry" if dry_run else "apply", f"{obj['kind']}/{obj['metadata']['name']}"))
        if obj["metadata"]["name"] == self.fail_apply:
            raise ServerError("the API server failed (500)", "retry")
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = "1"
        if not dry_run:
            self.store[self.key(obj)] = stored
        return Applied(stored)

    def replace(self, obj: dict[str, Any], *, dry_run: bool = False) -> Any:
        self.calls.append(("replace", f"{obj['kind']}/{obj['metadata']['name']}"))
        current = self.store[self.key(obj)]
        if self.replace_conflicts:
            self.replace_conflicts -= 1
            current["spec"]["configuration"]["developerConfiguration"]["featureGates"].append(
                f"Rival{self.replace_conflicts}"
            )
            current["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
            raise ConflictError("the object has been modified; please apply your changes to the latest version")
        assert obj["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]  # optimistic concurrency
        if not dry_run:
            self.store[self.key(obj)] = copy.deepcopy(obj)
        return obj


def apply_with(cluster: FakeCluster, items: list[Item]) -> Report:
    return run(cast(Cluster, cluster), items, Options())


def kubevirt_cr(gates: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": KV,
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt", "resourceVersion": "10"},
        "spec": {"configuration": {"developerConfiguration": {"featureGates": gates}}},
    }


def change(gates: list[str]) -> Item:
    obj = {
        "apiVersion": KV,
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt", "annotations": {"virtnet.io/patch-type": "merge"}},
        "spec": {"configuration": {"developerConfiguration": {"featureGates": gates}}},
    }
    return Item(obj, Ref(KV, "KubeVirt", "kubevirt", "kubevirt"))


def test_kubevirt_change_is_read_again_and_retried_when_someone_else_wrote_meanwhile() -> None:
    cluster = FakeCluster([kubevirt_cr(["Snapshot"])])
    cluster.replace_conflicts = 2
    report = apply_with(cluster, [change(["PasstBinding"])])
    assert report.ok
    (outcome,) = report.objects
    assert outcome.action == "configured"
    stored = cluster.store[("KubeVirt", "kubevirt", "kubevirt")]
    assert stored["spec"]["configuration"]["developerConfiguration"]["featureGates"] == [
        "Snapshot",
        "Rival1",
        "Rival0",
        "PasstBinding",
    ]  # neither virtnet's nor the rival's gates lost
    assert [c for c, _ in cluster.calls] == ["get", "replace", "get", "replace", "get", "replace"]


def test_kubevirt_change_gives_up_after_a_few_conflicts() -> None:
    cluster = FakeCluster([kubevirt_cr(["Snapshot"])])
    cluster.replace_conflicts = 99
    report = apply_with(cluster, [change(["PasstBinding"])])
    assert report.failure is not None
    assert "changed every time virtnet wrote it" in report.failure.message
    assert [c for c, _ in cluster.calls].count("replace") == 5


def test_unchanged_objects_cost_a_read_and_a_dry_run_and_new_ones_a_read_and_a_write() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"},
        "data": {"a": "1"},
    }
    cluster = FakeCluster([])
    apply_with(cluster, [Item(cm, Ref("v1", "ConfigMap", "default", "c"))])
    assert cluster.calls == [("get", "ConfigMap/c"), ("apply", "ConfigMap/c")]
    cluster.calls.clear()
    report = apply_with(cluster, [Item(cm, Ref("v1", "ConfigMap", "default", "c"))])
    assert report.objects[0].action == "unchanged"
    assert cluster.calls == [("get", "ConfigMap/c"), ("apply-dry", "ConfigMap/c")]  # no write


def test_a_failure_stops_the_walk_and_names_the_rest() -> None:
    def cm(name: str) -> Item:
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}
        return Item(obj, Ref("v1", "ConfigMap", "default", name))

    vm = {"apiVersion": KV, "kind": "VirtualMachine", "metadata": {"name": "vm", "namespace": "default"}}
    cluster = FakeCluster([])
    cluster.fail_apply = "b"
    report = apply_with(cluster, [Item(vm, Ref(KV, "VirtualMachine", "default", "vm")), cm("a"), cm("b"), cm("c")])
    assert [(o.ref.name, o.action) for o in report.objects] == [("a", "created")]
    assert report.failure is not None
    assert report.failure.ref.name == "b"
    assert [r.name for r in report.not_applied] == ["c", "vm"]
    assert not report.ok


def test_kubevirt_change_goes_to_the_clusters_kubevirt_cr_when_the_named_one_does_not_exist() -> None:
    other = kubevirt_cr(["Snapshot"])
    other["metadata"].update(name="kubevirt-kubevirt-hyperconverged", namespace="kubevirt-hyperconverged")
    cluster = FakeCluster([other])
    report = apply_with(cluster, [change(["PasstBinding"])])
    assert report.ok
    assert report.objects[0].ref == Ref(KV, "KubeVirt", "kubevirt-hyperconverged", "kubevirt-kubevirt-hyperconverged")
    assert "the change goes there" in report.notes[0]
    stored = cluster.store[("KubeVirt", "kubevirt-hyperconverged", "kubevirt-kubevirt-hyperconverged")]
    assert stored["spec"]["configuration"]["developerConfiguration"]["featureGates"] == ["Snapshot", "PasstBinding"]


def test_kubevirt_change_without_any_kubevirt_cr_fails_and_creates_nothing() -> None:
    cluster = FakeCluster([])
    report = apply_with(cluster, [change(["PasstBinding"])])
    assert report.failure is not None
    assert "never creates it" in (report.failure.hint or "")
    assert cluster.store == {}
