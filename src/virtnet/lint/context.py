"""LintContext: every input object indexed once, so rules look across objects in O(1).

Indexes: objects by (kind, namespace, name); NetworkAttachmentDefinitions by ``ns/name`` — both real NADs and the
NADs SpiderPool will generate from SpiderMultusConfigs (named by annotation ``multus.spidernet.io/cr-name`` or the
SMC name, in the SMC's namespace); SpiderIPPools by name; the KubeVirt CR and the ``spiderpool-conf`` ConfigMap.

Everything else a rule derives from the input is kept in the context's memos (:meth:`LintContext.memo`,
:meth:`LintContext.object_memo`, :func:`per_context`), never in module state, so it goes with the context.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, update_wrapper
from typing import Any, TypeVar

from virtnet.errors import InputError, UnsupportedVersionError
from virtnet.lint.objects import LintObject, Path
from virtnet.lint.schema import Catalog
from virtnet.model import annotations as keys
from virtnet.model.ippool import PoolSpec
from virtnet.model.manifest import as_list, as_map
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, TargetVersions

CR_NAME_ANNOTATION = keys.CR_NAME
DEFAULT_NETWORK_ANNOTATION = keys.DEFAULT_NETWORK
IPPOOLS_ANNOTATION = keys.IPPOOLS
IPPOOL_ANNOTATION = keys.IPPOOL
WORKLOAD_KINDS = ("VirtualMachine", "VirtualMachineInstance")
# SpiderMultusConfig cniType -> JSON key of its block (SP@v1.2.2:pkg/k8s/apis/.../spidermultus_types.go;
# note ib-sriov's block is `ibsriov`, custom's is the `customCNI` string).
SMC_BLOCKS = {
    "macvlan": "macvlan",
    "ipvlan": "ipvlan",
    "sriov": "sriov",
    "ovs": "ovs",
    "ib-sriov": "ibsriov",
    "ipoib": "ipoib",
    "vlan": "vlan",
    "custom": "customCNI",
}
NAMESPACED_DEFAULT = "default"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Nad:
    """A network attachment a VM can reference: a real NAD or one a SpiderMultusConfig will generate."""

    namespace: str
    name: str
    source: LintObject
    cni_type: str | None  # macvlan, ipvlan, ovs, sriov, bridge, … (a custom SMC: its config's; None: unknown)
    coordinator: bool | None  # does the chain run SpiderPool's coordinator (None: unknown)
    ipv4_pools: tuple[str, ...] = ()
    ipv6_pools: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Workload:
    """A VirtualMachine or VirtualMachineInstance seen as a VMI spec plus the pod annotations it carries."""

    obj: LintObject
    spec: Mapping[str, Any]
    spec_path: Path
    annotations: Mapping[str, Any]
    annotations_path: Path

    @property
    def namespace(self) -> str:
        return self.obj.ref.namespace or NAMESPACED_DEFAULT

    # computed once per view (each rule asks again; a frozen dataclass still takes cached_property's __dict__ write)
    @cached_property
    def interfaces(self) -> list[tuple[int, Mapping[str, Any]]]:
        devices = as_map(as_map(self.spec.get("domain")).get("devices"))
        return [(i, x) for i, x in enumerate(as_list(devices.get("interfaces"))) if isinstance(x, Mapping)]

    @cached_property
    def networks(self) -> list[tuple[int, Mapping[str, Any]]]:
        return [(i, x) for i, x in enumerate(as_list(self.spec.get("networks"))) if isinstance(x, Mapping)]

    @cached_property
    def volumes(self) -> list[tuple[int, Mapping[str, Any]]]:
        return [(i, x) for i, x in enumerate(as_list(self.spec.get("volumes"))) if isinstance(x, Mapping)]

    def interface_path(self, i: int, *rest: str | int) -> Path:
        return (*self.spec_path, "domain", "devices", "interfaces", i, *rest)

    def network_path(self, i: int, *rest: str | int) -> Path:
        return (*self.spec_path, "networks", i, *rest)

    def volume_path(self, i: int, *rest: str | int) -> Path:
        return (*self.spec_path, "volumes", i, *rest)

    def annotation_path(self, key: str) -> Path:
        return (*self.annotations_path, key)

    def pod_network(self) -> tuple[int, Mapping[str, Any]] | None:
        for i, net in self.networks:
            if "pod" in net:
                return i, net
        return None

    def multus_default(self) -> tuple[int, Mapping[str, Any]] | None:
        for i, net in self.networks:
            if as_map(net.get("multus")).get("default") is True:
                return i, net
        return None


def workload(obj: LintObject) -> Workload | None:
    if obj.kind == "VirtualMachine":
        template = as_map(as_map(obj.data.get("spec")).get("template"))
        return Workload(
            obj=obj,
            spec=as_map(template.get("spec")),
            spec_path=("spec", "template", "spec"),
            annotations=as_map(as_map(template.get("metadata")).get("annotations")),
            annotations_path=("spec", "template", "metadata", "annotations"),
        )
    if obj.kind == "VirtualMachineInstance":
        return Workload(
            obj=obj,
            spec=as_map(obj.data.get("spec")),
            spec_path=("spec",),
            annotations=obj.annotations,
            annotations_path=("metadata", "annotations"),
        )
    return None


def workload_of(obj: LintObject, ctx: LintContext | None = None) -> Iterator[Workload]:
    """The object's workload view, if it is a VM/VMI with a spec: ``for w in workload_of(obj, ctx)`` in rules (with
    ``ctx`` the view is built once per object, not once per rule)."""
    w = ctx.workload(obj) if ctx is not None else workload(obj)
    if w is not None and w.spec:
        yield w


def _chain(text: object) -> tuple[str | None, bool | None, tuple[str, ...], tuple[str, ...]]:
    """(main CNI type, runs the coordinator, SpiderPool IPv4 pools, IPv6 pools) of a CNI config or conflist text;
    (None, None, (), ()) when it cannot be read."""
    try:
        config = json.loads(text) if isinstance(text, str) and text.strip() else {}
    except (ValueError, RecursionError):
        config = {}
    plugins = as_list(config.get("plugins")) if isinstance(config, Mapping) else []
    if isinstance(config, Mapping) and "type" in config:
        plugins = [config]
    types = [str(p.get("type")) for p in plugins if isinstance(p, Mapping)]
    main = [t for t in types if t not in ("ifacer", "coordinator", "tuning", "sbr", "portmap", "bandwidth")]
    if not main:
        return None, None, (), ()
    v4: tuple[str, ...] = ()
    v6: tuple[str, ...] = ()
    for p in plugins:
        ipam = as_map(as_map(p).get("ipam"))
        if ipam.get("type") == "spiderpool":
            v4 = tuple(str(x) for x in as_list(ipam.get("default_ipv4_ippool")))
            v6 = tuple(str(x) for x in as_list(ipam.get("default_ipv6_ippool")))
    return main[0], "coordinator" in types, v4, v6


def _nad_from_config(obj: LintObject) -> Nad:
    cni_type, coordinator, v4, v6 = _chain(as_map(obj.data.get("spec")).get("config"))
    meta_ns = obj.ref.namespace or NAMESPACED_DEFAULT
    return Nad(meta_ns, obj.ref.name, obj, cni_type, coordinator, v4, v6)


def is_custom(smc_spec: Mapping[str, Any]) -> bool:
    """A SpiderMultusConfig whose NAD is its spec.customCNI config as written (cniType custom, the default when
    the field is missing from SpiderPool v0.9: SP@v1.2.2:pkg/multuscniconfig/multusconfig_informer.go
    generateNetAttachDef, multusconfig_mutate.go)."""
    return smc_spec.get("cniType") in (None, "custom")


def _nad_from_multus_config(obj: LintObject) -> Nad:
    spec = as_map(obj.data.get("spec"))
    name = obj.annotations.get(CR_NAME_ANNOTATION) or obj.ref.name
    namespace = obj.ref.namespace or NAMESPACED_DEFAULT
    if is_custom(spec):  # the generated NAD is the custom config: read it like a NAD's
        cni_type, coordinator, v4, v6 = _chain(spec.get("customCNI"))
        return Nad(namespace, str(name), obj, cni_type, coordinator, v4, v6)
    cni = spec.get("cniType")
    cni_type = str(cni) if isinstance(cni, str) else None
    block = as_map(spec.get(SMC_BLOCKS.get(cni_type or "", ""), {}))
    pools = as_map(block.get("ippools"))
    coordinator = spec.get("enableCoordinator")
    if not isinstance(coordinator, bool):
        coordinator = True  # the CRD default
    return Nad(
        namespace,
        str(name),
        obj,
        cni_type,
        coordinator,
        tuple(str(x) for x in as_list(pools.get("ipv4"))),
        tuple(str(x) for x in as_list(pools.get("ipv6"))),
    )


@dataclass
class LintContext:
    objects: Sequence[LintObject]
    versions: TargetVersions
    versions_from: str = "defaults: the newest supported"
    by_key: dict[tuple[str, str, str], LintObject] = field(default_factory=dict)
    nads: dict[tuple[str, str], Nad] = field(default_factory=dict)
    pools: dict[str, LintObject] = field(default_factory=dict)
    kubevirt_cr: LintObject | None = None
    spiderpool_conf: LintObject | None = None
    # Memos, the one caching mechanism of rules (no module-level caches): ``_memo`` lives as long as the context
    # (``memo``, ``@per_context``), ``_object_memo`` only while the engine checks one object (it clears it before
    # the next). Values are of the type the caller's key stands for (typed at ``memo``).
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)
    _object_memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)
    _workload_of: LintObject | None = field(default=None, repr=False, compare=False)
    _workload: Workload | None = field(default=None, repr=False, compare=False)
    # the schemas of the schema rules; None: the shipped ones of ``versions`` (lint --cluster sets the cluster's)
    schema_catalog: Catalog | None = None

    @classmethod
    def build(
        cls, objects: Sequence[LintObject], kubevirt: str | None = None, spiderpool: str | None = None
    ) -> LintContext:
        ctx = cls(objects=objects, versions=TargetVersions())
        for obj in objects:
            ns = obj.ref.namespace or ""
            ctx.by_key.setdefault((obj.kind, ns, obj.ref.name), obj)
            if obj.kind == "NetworkAttachmentDefinition":
                nad = _nad_from_config(obj)
                ctx.nads.setdefault((nad.namespace, nad.name), nad)
            elif obj.kind == "SpiderMultusConfig":
                nad = _nad_from_multus_config(obj)
                ctx.nads[(nad.namespace, nad.name)] = nad  # SpiderPool overwrites a same-named NAD
            elif obj.kind == "SpiderIPPool":
                ctx.pools.setdefault(obj.ref.name, obj)
            elif obj.kind == "KubeVirt" and ctx.kubevirt_cr is None:
                ctx.kubevirt_cr = obj
            elif obj.kind == "ConfigMap" and obj.ref.name == "spiderpool-conf":
                ctx.spiderpool_conf = obj
        ctx.versions, ctx.versions_from = ctx._detect_versions(kubevirt, spiderpool)
        return ctx

    def _detect_versions(self, kubevirt: str | None, spiderpool: str | None) -> tuple[TargetVersions, str]:
        sources: list[str] = []
        kv_text = kubevirt
        if kv_text:
            sources.append("KubeVirt from --kubevirt-version")
        elif self.kubevirt_cr is not None:
            status = as_map(self.kubevirt_cr.data.get("status"))
            found = status.get("observedKubeVirtVersion") or status.get("targetKubeVirtVersion")
            if isinstance(found, str):
                kv_text = found
                sources.append(f"KubeVirt from {self.kubevirt_cr.ref} status")
        sp_text = spiderpool
        if sp_text:
            sources.append("SpiderPool from --spiderpool-version")
        elif self.spiderpool_conf is not None:
            labels = as_map(as_map(self.spiderpool_conf.data.get("metadata")).get("labels"))
            found = labels.get("app.kubernetes.io/version")
            if isinstance(found, str):
                sp_text = found
                sources.append("SpiderPool from the spiderpool-conf ConfigMap label app.kubernetes.io/version")
        try:
            kv = KUBEVIRT.parse(kv_text) if kv_text else KUBEVIRT.newest
            sp = SPIDERPOOL.parse(sp_text) if sp_text else SPIDERPOOL.newest
        except UnsupportedVersionError as err:
            raise InputError(str(err)) from None
        if not sources:
            return TargetVersions(kv, sp), "defaults: the newest supported"
        # name both sources: "SpiderPool v1.2.2 (KubeVirt from --kubevirt-version)" reads as if one came from the other
        if not kv_text:
            sources.insert(0, "defaults for KubeVirt: the newest supported")
        if not sp_text:
            sources.append("defaults for SpiderPool: the newest supported")
        return TargetVersions(kv, sp), "; ".join(sources)

    # --- memos -------------------------------------------------------------------------------------------------

    def memo(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """``build()`` once per context and ``key`` (e.g. ``(function, text)``)."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]  # the caller's key fixes the type
        except KeyError:
            value = self._memo[key] = build()
            return value

    def object_memo(self, obj: object, key: Hashable, build: Callable[[], _T]) -> _T:
        """``build()`` once per ``obj`` and ``key`` while the engine checks one object (dropped after it)."""
        slot = (id(obj), key)
        try:
            return self._object_memo[slot]  # type: ignore[no-any-return]
        except KeyError:
            value = self._object_memo[slot] = build()
            return value

    def object_done(self) -> None:
        """Called by the engine after the rules of one object ran: its per-object memos go."""
        if self._object_memo:
            self._object_memo.clear()
        self._workload_of = self._workload = None

    def workload(self, obj: LintObject) -> Workload | None:
        """The VM/VMI view of ``obj``, built once per object (a one-object slot: rules ask for the object being
        checked, ~18 times in a row)."""
        if obj is self._workload_of:
            return self._workload
        view = workload(obj)
        self._workload_of, self._workload = obj, view
        return view

    # --- lookups -----------------------------------------------------------------------------------------------

    def nad(self, ref: str, default_namespace: str) -> Nad | None:
        ns, _, name = ref.partition("/") if "/" in ref else (default_namespace, "/", ref)
        return self.nads.get((ns, name))

    def nad_names(self) -> Iterator[str]:
        for ns, name in self.nads:
            yield f"{ns}/{name}"

    @cached_property
    def pool_specs(self) -> dict[str, PoolSpec | None]:
        """Each input pool parsed once; None where the manifest is malformed (its own rule reports that)."""
        out: dict[str, PoolSpec | None] = {}
        for name, obj in self.pools.items():
            try:
                out[name] = PoolSpec.from_manifest(obj.data)
            except InputError:
                out[name] = None
        return out

    @cached_property
    def workloads(self) -> list[Workload]:
        return [w for obj in self.objects if (w := workload(obj)) is not None]


def per_context(build: Callable[[LintContext], _T]) -> Callable[[LintContext], _T]:
    """``build(ctx)`` computed once per :class:`LintContext`: a whole-input index a rule needs (kept in the context's
    memo, so it goes with the context). ``@per_context`` on a function of the context; ``__wrapped__`` is ``build``."""

    def get(ctx: LintContext) -> _T:
        return ctx.memo(build, lambda: build(ctx))

    return update_wrapper(get, build)
