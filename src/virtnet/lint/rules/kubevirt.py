"""Rules about a VM's own network spec: interfaces, networks, bindings, migration, probes.

Facts: KubeVirt admission webhooks (``KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/``,
``KV@v1.3.0+:pkg/network/admitter/``), the migratability check (``pkg/network/vmispec/interface.go``) and the
binding version table in :mod:`virtnet.model.capabilities`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from virtnet.lint.context import LintContext, Workload, workload_of
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.model.capabilities import (
    BINDING_PLUGINS_FIRST,
    PASST_CORE_LAST,
    PLUGIN_GATE_LAST,
    Binding,
    BindingSupport,
    Status,
    binding_support,
    passt_binding_for,
)
from virtnet.model.manifest import as_list, as_map
from virtnet.model.versions import Version

BINDING_KEYS = {
    "masquerade": Binding.MASQUERADE,
    "bridge": Binding.BRIDGE,
    "passt": Binding.PASST_CORE,
    "passtBinding": Binding.PASST_BINDING,
    "slirp": Binding.SLIRP,
    "macvtap": Binding.MACVTAP,
    "sriov": Binding.SRIOV,
}
ALLOW_POD_BRIDGE_MIGRATION = "kubevirt.io/allow-pod-bridge-network-live-migration"
UG_INTERFACES = "UG:docs/network/interfaces_and_networks.md"


def _support(ctx: LintContext, binding: Binding, kv: Version) -> BindingSupport:
    """``binding_support`` (a pure function of its arguments) once per context."""
    return ctx.memo((binding_support, binding, kv), lambda: binding_support(binding, kv))


def binding_of(iface: Mapping[str, Any]) -> tuple[Binding | None, str | None]:
    """The binding an interface uses and its key (``binding`` for plugins); (None, None) when it has none."""
    for key, binding in BINDING_KEYS.items():
        if key in iface:
            return binding, key
    plugin = as_map(iface.get("binding")).get("name")
    if plugin == "passt":
        return Binding.PASST_PLUGIN, "binding"
    if plugin:
        return None, "binding"
    return None, None


@rule(
    code="VN001",
    slug="interface-network-mismatch",
    severity=Severity.ERROR,
    summary="an interface without a network of the same name, a network no interface uses, or duplicate names",
    why="KubeVirt's admission webhook rejects the VM ('… not found.', 'Network with name … already exists').",
    fix="Give every spec.domain.devices.interfaces[] entry exactly one spec.networks[] entry with the same name.",
    references=("KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go", UG_INTERFACES),
)
def interface_network_mismatch(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        iface_names = Counter(str(x.get("name")) for _, x in w.interfaces)
        net_names = Counter(str(x.get("name")) for _, x in w.networks)
        for i, iface in w.interfaces:
            name = str(iface.get("name"))
            if name not in net_names:
                yield Violation(f"interface '{name}' has no network of that name", w.interface_path(i, "name"))
            if iface_names[name] > 1:
                yield Violation(f"interface name '{name}' is used more than once", w.interface_path(i, "name"))
        for i, net in w.networks:
            name = str(net.get("name"))
            if name not in iface_names and w.interfaces:
                yield Violation(f"network '{name}' is not used by any interface", w.network_path(i, "name"))
            if net_names[name] > 1:
                yield Violation(f"network name '{name}' is used more than once", w.network_path(i, "name"))


@rule(
    code="VN002",
    slug="network-source-invalid",
    severity=Severity.ERROR,
    summary="a network with none or several of pod/multus, or multus without networkName",
    why="KubeVirt rejects the VM: 'should have a network type', 'should have only one network type', "
    "'CNI delegating plugin must have a networkName'.",
    fix="Give each network exactly one source: `pod: {}` or `multus: {networkName: namespace/name}`.",
    references=("KV@v1.9.0:pkg/network/admitter/netsource.go", UG_INTERFACES),
)
def network_source_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        for i, net in w.networks:
            sources = [k for k in ("pod", "multus", "resourceClaim") if k in net]
            name = net.get("name")
            if not sources:
                yield Violation(f"network '{name}' has no source (pod or multus)", w.network_path(i))
            elif len(sources) > 1:
                yield Violation(f"network '{name}' has several sources: {', '.join(sources)}", w.network_path(i))
            if "multus" in net and not as_map(net.get("multus")).get("networkName"):
                yield Violation(f"multus network '{name}' has no networkName", w.network_path(i, "multus"))


@rule(
    code="VN003",
    slug="multiple-primary-networks",
    severity=Severity.ERROR,
    summary="more than one pod network, more than one multus default network, or both",
    why="A VM has one primary network. KubeVirt rejects more: 'Multus CNI should only have one default network', "
    "'Pod network cannot be defined when Multus default network is defined'.",
    fix="Keep a single `pod: {}` network or a single `multus: {default: true}` network.",
    references=("KV@v1.9.0:pkg/network/admitter/netsource.go", UG_INTERFACES),
)
def multiple_primary_networks(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        pods = [i for i, n in w.networks if "pod" in n]
        defaults = [i for i, n in w.networks if as_map(n.get("multus")).get("default") is True]
        for i in pods[1:]:
            yield Violation("more than one pod network", w.network_path(i, "pod"))
        for i in defaults[1:]:
            yield Violation("more than one Multus default network", w.network_path(i, "multus", "default"))
        if pods and defaults:
            yield Violation(
                "a pod network and a Multus default network cannot both be defined",
                w.network_path(defaults[0], "multus", "default"),
            )


@rule(
    code="VN004",
    slug="binding-network-mismatch",
    severity=Severity.ERROR,
    summary="masquerade / passt / passtBinding on a non-pod network; core passt not the single interface where "
    "required",
    why="KubeVirt rejects it: 'Masquerade interface only implemented with pod network', 'Passt interface only "
    "implemented with pod network', 'Passt interface is only supported as the single interface of the VMI'.",
    fix="Bind the pod network with masquerade or passt; bind Multus networks with bridge (or SR-IOV).",
    references=("KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go",
                "KV@v1.9.0:pkg/network/admitter/passt.go", UG_INTERFACES),
)  # fmt: skip
def binding_network_mismatch(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    kv = ctx.versions.kubevirt
    for w in workload_of(obj, ctx):
        nets = {str(n.get("name")): n for _, n in w.networks}
        for i, iface in w.interfaces:
            binding, key = binding_of(iface)
            if binding is None or key is None:
                continue
            net = nets.get(str(iface.get("name")))
            if net is None:
                continue  # interface-network-mismatch reports it
            support = _support(ctx, binding, kv)
            on_pod = "pod" in net
            if on_pod and not support.pod_network and binding is not Binding.SRIOV:
                yield Violation(f"{binding.title} cannot bind the pod network", w.interface_path(i, key))
            if not on_pod and not support.multus_network:
                yield Violation(
                    f"{binding.title} only binds the pod network, but '{iface.get('name')}' is a Multus network",
                    w.interface_path(i, key),
                )
            if binding is Binding.PASST_CORE and len(w.interfaces) > 1 and kv <= PASST_CORE_LAST:
                yield Violation(
                    "core passt must be the VMI's only interface on this KubeVirt version",
                    w.interface_path(i, key),
                    fix=f"Remove the other {len(w.interfaces) - 1} interface(s), or bind the pod network with "
                    f"masquerade to keep several NICs on KubeVirt {kv} (core passt allows more from v1.3.0).",
                )


_PASST_NEEDS = {
    Binding.PASST_BINDING: "(feature gate PasstBinding)",
    Binding.PASST_PLUGIN: "with the passt binding plugin registered in the KubeVirt CR",
    Binding.PASST_CORE: "with the Passt feature gate",
}


def _passt_suggestion(kv: Version) -> str:
    best = passt_binding_for(kv)
    return f"use `{best.interface_field}` {_PASST_NEEDS[best]}"


@rule(
    code="VN005",
    slug="binding-unsupported-version",
    severity=Severity.ERROR,
    summary="a binding the target KubeVirt version rejects or has deprecated (core passt >= v1.3, passtBinding < v1.8, "
    "slirp/macvtap >= v1.3, plugins < v1.1)",
    why="The VM is rejected at admission ('Passt network binding is discontinued since v1.3') or works today and "
    "breaks on the next upgrade.",
    fix="Use the binding the version supports; `virtnet modes --kubevirt-version V` shows which.",
    references=("KV@v1.3.0:pkg/virt-config/deprecation/passt.go (PR #11915)",
                "KV@v1.8.0:pkg/network/admitter/discontinued.go (PR #16428)", "PR #16475 (passtBinding)"),
    versions="per binding: core passt v1.0-v1.2, plugins v1.1+, passtBinding v1.8+, slirp/macvtap <= v1.2",
)  # fmt: skip
def binding_unsupported_version(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    kv = ctx.versions.kubevirt
    for w in workload_of(obj, ctx):
        for i, iface in w.interfaces:
            binding, key = binding_of(iface)
            if key == "binding" and kv < BINDING_PLUGINS_FIRST:
                yield Violation(f"network binding plugins need KubeVirt v1.1 or later, target is {kv}",
                                w.interface_path(i, key))  # fmt: skip
                continue
            if binding is None or key is None:
                continue
            support = _support(ctx, binding, kv)
            if support.status is Status.SUPPORTED:
                continue
            severity = Severity.ERROR if support.status is Status.UNAVAILABLE else Severity.WARNING
            fix = _passt_suggestion(kv) if binding in (Binding.PASST_CORE, Binding.PASST_PLUGIN) else None
            yield Violation(
                f"{binding.title} on KubeVirt {kv}: {support.reason}", w.interface_path(i, key), severity, fix
            )


def _configuration(cr: LintObject) -> Mapping[str, Any]:
    """``spec.configuration`` of the KubeVirt CR."""
    return as_map(as_map(cr.data.get("spec")).get("configuration"))


def _gates(cr: LintObject, key: str) -> set[str]:
    """The gates listed under ``developerConfiguration.<key>`` (featureGates or disabledFeatureGates)."""
    return {str(g) for g in as_list(as_map(_configuration(cr).get("developerConfiguration")).get(key))}


@rule(
    code="VN006",
    slug="feature-gate-missing",
    severity=Severity.ERROR,
    summary="the KubeVirt CR in the input lacks the feature gate or binding registration the VM needs",
    why="Without the gate the VM is rejected ('Passt feature gate is not enabled'); an unregistered binding plugin "
    "fails only when the pod is rendered ('couldn't find configuration for network binding').",
    fix="Add the gate to spec.configuration.developerConfiguration.featureGates, or register the plugin under "
    "spec.configuration.network.binding (`virtnet new vm` renders the change).",
    references=("KV@v1.0.1:pkg/virt-config/feature-gates.go", "KV@v1.9.0:pkg/network/netbinding/netbinding.go",
                "UG:docs/network/network_binding_plugins.md"),
    versions="only when a KubeVirt CR is part of the input",
)  # fmt: skip
def feature_gate_missing(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if ctx.kubevirt_cr is None:
        return
    kv = ctx.versions.kubevirt
    gates = _gates(ctx.kubevirt_cr, "featureGates")
    disabled = _gates(ctx.kubevirt_cr, "disabledFeatureGates")
    cr = ctx.kubevirt_cr.ref
    registered = as_map(as_map(_configuration(ctx.kubevirt_cr).get("network")).get("binding"))
    for w in workload_of(obj, ctx):
        for i, iface in w.interfaces:
            binding, key = binding_of(iface)
            if key is None:
                continue
            if key == "binding":
                plugin = str(as_map(iface.get("binding")).get("name"))
                if plugin not in registered:
                    yield Violation(
                        f"binding plugin '{plugin}' is not registered in {cr} spec.configuration.network.binding",
                        w.interface_path(i, "binding", "name"),
                    )
                if kv <= PLUGIN_GATE_LAST and "NetworkBindingPlugins" not in gates:
                    yield Violation(f"{cr} does not enable feature gate NetworkBindingPlugins (needed before v1.5)",
                                    w.interface_path(i, "binding"))  # fmt: skip
                continue
            if binding is None:
                continue
            support = _support(ctx, binding, kv)
            for gate in support.feature_gates:
                if gate not in gates:
                    yield Violation(f"{cr} does not enable feature gate {gate}, needed by {binding.title}",
                                    w.interface_path(i, key))  # fmt: skip
            if binding is Binding.PASST_BINDING and "PasstBinding" in disabled:
                yield Violation(f"{cr} lists PasstBinding in disabledFeatureGates", w.interface_path(i, key))


def _volume_claims(w: Workload) -> list[tuple[str, Path]]:
    """(claim or DataVolume name, path) of every persistent volume of the workload."""
    out: list[tuple[str, Path]] = []
    for i, vol in w.volumes:
        for key in ("persistentVolumeClaim", "dataVolume"):
            ref = as_map(vol.get(key))
            name = ref.get("claimName") or ref.get("name")
            if name:
                out.append((str(name), w.volume_path(i, key)))
    return out


def _pvc_modes(ctx: LintContext, namespace: str, name: str) -> list[str]:
    """Access modes of a PersistentVolumeClaim or DataVolume of the input ([] when it is not in the input)."""
    for kind in ("PersistentVolumeClaim", "DataVolume"):
        found = ctx.by_key.get((kind, namespace, name))
        if found is not None:
            spec = as_map(found.data.get("spec"))
            if kind == "DataVolume":
                spec = as_map(spec.get("pvc")) or as_map(spec.get("storage"))
            return [str(m) for m in as_list(spec.get("accessModes"))]
    return []


def _rwo_templates(obj: LintObject) -> dict[str, tuple[list[str], Path]]:
    out: dict[str, tuple[list[str], Path]] = {}
    if obj.kind != "VirtualMachine":
        return out
    for i, dvt in enumerate(as_list(as_map(obj.data.get("spec")).get("dataVolumeTemplates"))):
        meta, spec = as_map(as_map(dvt).get("metadata")), as_map(as_map(dvt).get("spec"))
        modes = as_list(as_map(spec.get("pvc")).get("accessModes")) or as_list(
            as_map(spec.get("storage")).get("accessModes")
        )
        if modes and "ReadWriteMany" not in modes:
            out[str(meta.get("name"))] = ([str(m) for m in modes], ("spec", "dataVolumeTemplates", i))
    return out


@rule(
    code="VN018",
    slug="not-live-migratable",
    severity=Severity.ERROR,
    summary="evictionStrategy LiveMigrate on a VM that KubeVirt will not migrate (bridge on the pod network "
    "without the annotation, core passt, RWO volumes): node drains hang",
    why="KubeVirt creates a PodDisruptionBudget for LiveMigrate and denies the eviction ('VMI … is configured with "
    "an eviction strategy but is not live-migratable'), so `kubectl drain` never finishes.",
    fix="Use masquerade, passtBinding or a migratable binding plugin on the pod network and ReadWriteMany volumes, or "
    "set evictionStrategy to LiveMigrateIfPossible / None.",
    references=("KV@v1.9.0:pkg/network/vmispec/interface.go VerifyVMIMigratable",
                "KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/pod-eviction-admitter.go",
                "UG:docs/compute/live_migration.md"),
)  # fmt: skip
def not_live_migratable(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    kv = ctx.versions.kubevirt
    for w in workload_of(obj, ctx):
        if w.spec.get("evictionStrategy") != "LiveMigrate":
            continue
        where = (*w.spec_path, "evictionStrategy")
        pod = w.pod_network()
        if pod is not None:
            pod_name = pod[1].get("name")
            for _, iface in w.interfaces:
                if iface.get("name") != pod_name:
                    continue
                binding, _ = binding_of(iface)
                if binding is Binding.BRIDGE:
                    if (
                        ALLOW_POD_BRIDGE_MIGRATION not in w.annotations
                        and ALLOW_POD_BRIDGE_MIGRATION not in obj.annotations
                    ):
                        yield Violation(
                            "bridge binding on the pod network is not migratable without the annotation "
                            f"{ALLOW_POD_BRIDGE_MIGRATION}",
                            where,
                        )
                elif binding is not None and not _support(ctx, binding, kv).migratable_on_pod_network:
                    yield Violation(f"{binding.title} on the pod network is not migratable on KubeVirt {kv}", where)
                elif binding is Binding.PASST_PLUGIN and ctx.kubevirt_cr is not None:
                    bindings = as_map(as_map(_configuration(ctx.kubevirt_cr).get("network")).get("binding"))
                    reg = as_map(bindings.get("passt"))
                    if reg and "migration" not in reg:
                        yield Violation("the passt plugin registration has no 'migration': not migratable", where)
        rwo = _rwo_templates(obj)
        for name, _path in _volume_claims(w):
            modes = rwo[name][0] if name in rwo else _pvc_modes(ctx, w.namespace, name)
            if modes and "ReadWriteMany" not in modes:
                yield Violation(f"volume '{name}' is {'/'.join(modes)}; live migration needs ReadWriteMany", where)


@rule(
    code="VN022",
    slug="probe-without-pod-network",
    severity=Severity.ERROR,
    summary="HTTP/TCP readiness or liveness probes on a VM with no pod network",
    why="KubeVirt rejects them ('… is only allowed if the Pod Network is attached'): probes run from the pod network.",
    fix="Use an exec or guest-agent probe, or attach the pod network.",
    references=("KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go", UG_INTERFACES),
)
def probe_without_pod_network(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        if w.pod_network() is not None or not w.networks:
            continue
        for probe in ("readinessProbe", "livenessProbe"):
            spec = as_map(w.spec.get(probe))
            for kind in ("httpGet", "tcpSocket"):
                if kind in spec:
                    yield Violation(f"{probe}.{kind} needs the pod network, and this VM has none",
                                    (*w.spec_path, probe, kind))  # fmt: skip
