"""Rules about SpiderPool's own configuration objects: SpiderMultusConfig and the ``spiderpool-conf`` ConfigMap.

Facts: the SpiderMultusConfig webhook (``SP@v1.2.2`` and ``SP@v0.8.13:pkg/multuscniconfig/multusconfig_validate.go``,
``multusconfig_mutate.go``), its CRD (``spidermultus_types.go``, enum per version) and the agent configuration
(``SP@v1.2.2:pkg/types/k8s.go``, ``cmd/spiderpool-agent/cmd/config.go``,
``charts/spiderpool/templates/configmap.yaml``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from virtnet.lint.context import CR_NAME_ANNOTATION, SMC_BLOCKS, LintContext
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.spiderpool import FAMILIES, fixed_ip_workloads, pool_family
from virtnet.model.capabilities import (
    SMC_ALL_BLOCKS_CHECKED,
    SMC_CNITYPE_IB_FIRST,
    SMC_CNITYPE_OPTIONAL,
    SMC_CNITYPE_VLAN_FIRST,
    SMC_VLAN_MODE_FIRST,
    static_ip_off_crashes_agent,
)
from virtnet.model.identity import is_dns1123_subdomain
from virtnet.model.manifest import as_int, as_list, as_map
from virtnet.model.text import listed
from virtnet.model.versions import Version

CNI_VERSION_ANNOTATION = "multus.spidernet.io/cni-version"
CNI_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")  # SP@v1.2.2:cmd/spiderpool/cmd/cni_types.go SupportCNIVersions

# cniType → JSON key of its block; upstream error messages name the Go fields in _UPSTREAM.
BLOCKS = SMC_BLOCKS
_UPSTREAM = {
    "macvlan": "spec.macvlanConfig",
    "ipvlan": "spec.ipvlanConfig",
    "sriov": "spec.sriovConfig",
    "ovs": "spec.ovsConfig",
    "ibsriov": "spec.ibsriovConfig",
    "ipoib": "spec.ipoibConfig",
    "vlan": "spec.vlanConfig",
    "customCNI": "spec.customCniTypeConfig",
}
_V08_CHECKED = {"macvlan", "ipvlan", "sriov", "customCNI", "ibsriov"}  # what the v0.8 webhook looks for
SMC_VALIDATE = "SP@v1.2.2:pkg/multuscniconfig/multusconfig_validate.go"
# VLAN IDs: the webhook's validateVlanId and its trunk minID/maxID checks stop at 4094 (SMC_VALIDATE), but it checks
# a trunk's single ``id`` against 4096 ("incorrect trunk id parameter"), so this rule does too; the CRD schema
# (SP@v1.2.2 and SP@v0.8.13 spidermultus_types.go Trunk: Maximum=4094 on all three) refuses 4095-4096 before the
# webhook runs, and rule schema-invalid reports that.
VLAN_ID_MAX = 4094
TRUNK_ID_WEBHOOK_MAX = 4096
BOND_MODE_MAX = 6  # Linux bonding modes 0 (balance-rr) to 6 (balance-alb); the CRD: BondConfig.mode Maximum=6


def cni_types(sp: Version) -> tuple[str, ...]:
    """The cniType enum of the SpiderMultusConfig CRD of SpiderPool ``sp``."""
    types = ["macvlan", "ipvlan", "sriov", "ovs", "custom"]
    if sp >= SMC_CNITYPE_IB_FIRST:
        types += ["ib-sriov", "ipoib"]
    if sp >= SMC_CNITYPE_VLAN_FIRST:
        types.append("vlan")
    return tuple(types)


def _vlan(block: Mapping[str, Any], key: str, path: Path, upstream: str) -> Iterator[Violation]:
    if key not in block or block[key] is None:
        return
    value = as_int(block[key])
    if value is None:
        yield Violation(f"{upstream} {key} {block[key]!r} must be an integer from 0 to {VLAN_ID_MAX}", (*path, key))
    elif not 0 <= value <= VLAN_ID_MAX:
        yield Violation(
            f"{key} {value} is out of range; SpiderPool rejects it ('invalid vlanId {value}, please make "
            f"sure vlanId in range [0,{VLAN_ID_MAX}]')",
            (*path, key),
        )


def _masters(block: Mapping[str, Any], path: Path, cni: str) -> Iterator[Violation]:
    masters = block.get("master")
    if isinstance(masters, str):
        masters = [masters] if cni == "ipoib" else masters
    if cni == "ipoib":
        if not isinstance(masters, list) or not any(isinstance(m, str) and m for m in masters):
            yield Violation("cniType ipoib needs spec.ipoib.master (the node's IPoIB interface)", (*path, "master"))
        return
    if not isinstance(masters, list) or not masters:
        yield Violation(
            f"spec.{path[-1]}.master is empty; SpiderPool rejects it ('master can't be empty'): name the "
            "node interface(s), e.g. [ens192]",
            (*path, "master"),
        )
        return
    for i, m in enumerate(masters):
        if not isinstance(m, str) or not m.strip():
            yield Violation(f"spec.{path[-1]}.master[{i}] {m!r} is not an interface name", (*path, "master", i))
    if len(masters) >= 2:
        bond = block.get("bond")
        if not isinstance(bond, Mapping):
            yield Violation(
                f"{len(masters)} masters ({', '.join(map(str, masters))}) need a bond; SpiderPool rejects "
                "it ('the bond property is nil with multiple Interfaces')",
                (*path, "master"),
            )
        elif not isinstance(bond.get("name"), str) or not bond.get("name"):
            yield Violation(
                "bond.name is empty; SpiderPool rejects it ('bond name can't be empty')",
                (*path, "bond", "name") if "name" in bond else (*path, "bond"),
            )
    bond = as_map(block.get("bond"))
    if "mode" in bond and bond["mode"] is not None:
        mode = as_int(bond["mode"])
        if mode is None or not 0 <= mode <= BOND_MODE_MAX:
            yield Violation(
                f"bond.mode {bond['mode']!r} must be an integer from 0 to {BOND_MODE_MAX}", (*path, "bond", "mode")
            )


def _block_fields(cni: str, key: str, block: Mapping[str, Any], sp: Version) -> Iterator[Violation]:
    path: Path = ("spec", key)
    upstream = _UPSTREAM[key]
    if cni in ("macvlan", "ipvlan", "vlan", "ipoib"):
        yield from _masters(block, path, cni)
    if cni in ("macvlan", "ipvlan", "vlan", "sriov"):
        yield from _vlan(block, "vlanID", path, upstream)
    if cni == "vlan" and sp >= SMC_VLAN_MODE_FIRST:
        mode = block.get("vlanMode")
        has_id = block.get("vlanID") is not None
        if mode == "manual" and not has_id:
            yield Violation("vlanMode manual needs spec.vlan.vlanID", (*path, "vlanMode"))
        elif mode == "auto" and has_id:
            yield Violation(
                "vlanMode auto takes no spec.vlan.vlanID; remove it or use vlanMode manual", (*path, "vlanID")
            )
    if cni in ("sriov", "ib-sriov"):
        if not isinstance(block.get("resourceName"), str) or not block.get("resourceName"):
            yield Violation(
                f"cniType {cni} needs spec.{key}.resourceName (the device plugin resource); SpiderPool "
                f"rejects it ('no {upstream}[resourceName] specified')",
                (*path, "resourceName"),
            )
        low, high = as_int(block.get("minTxRateMbps")), as_int(block.get("maxTxRateMbps"))
        if low is not None and high is not None and low > high:
            yield Violation(
                f"minTxRateMbps {low} is above maxTxRateMbps {high}; SpiderPool rejects it", (*path, "minTxRateMbps")
            )
    if cni == "ovs":
        if not isinstance(block.get("bridge"), str) or not block.get("bridge"):
            yield Violation(
                "cniType ovs needs spec.ovs.bridge (the OVS bridge on the nodes, e.g. br1)", (*path, "bridge")
            )
        yield from _vlan(block, "vlan", path, upstream)
        for i, trunk in enumerate(as_list(block.get("trunk"))):
            t = as_map(trunk)
            low, high, single = as_int(t.get("minID")), as_int(t.get("maxID")), as_int(t.get("id"))
            where: Path = (*path, "trunk", i)
            if low is not None and low > VLAN_ID_MAX:
                yield Violation(f"trunk[{i}].minID {low} is above {VLAN_ID_MAX}", (*where, "minID"))
            if high is not None and high > VLAN_ID_MAX:
                yield Violation(f"trunk[{i}].maxID {high} is above {VLAN_ID_MAX}", (*where, "maxID"))
            if low is not None and high is not None and high < low:
                yield Violation(
                    f"trunk[{i}] minID {low} is greater than maxID {high}; SpiderPool rejects it", (*where, "minID")
                )
            if single is not None and single > TRUNK_ID_WEBHOOK_MAX:
                yield Violation(f"trunk[{i}].id {single} is above {TRUNK_ID_WEBHOOK_MAX}", (*where, "id"))


def _custom_config(spec: Mapping[str, Any]) -> Iterator[Violation]:
    text = spec.get("customCNI")
    if text is None or text == "":
        return
    if not isinstance(text, str):
        yield Violation("spec.customCNI must be a string holding the CNI configuration JSON", ("spec", "customCNI"))
        return
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        yield Violation(
            "spec.customCNI is not valid JSON; SpiderPool rejects it ('customCniConfig isn't a valid JSON encoding')",
            ("spec", "customCNI"),
        )


def _pools_family(key: str, block: Mapping[str, Any], ctx: LintContext) -> Iterator[Violation]:
    pools = as_map(block.get("ippools"))
    for family, fam_key in FAMILIES:
        for i, name in enumerate(as_list(pools.get(fam_key))):
            path: Path = ("spec", key, "ippools", fam_key, i)
            if not isinstance(name, str) or not name:
                yield Violation(f"spec.{key}.ippools.{fam_key}[{i}] {name!r} is not a pool name", path)
                continue
            actual = pool_family(ctx, name) if name in ctx.pools else None
            if actual is not None and actual != family:
                yield Violation(
                    f"spec.{key}.ippools.{fam_key} names '{name}', an IPv{actual} pool; SpiderPool fails "
                    f"every pod on this network ('expect an IPv{family} IPPool, but the version of the "
                    f"IPPool {name} is IPv{actual}')",
                    path,
                )


def _annotations(obj: LintObject) -> Iterator[Violation]:
    annotations = obj.annotations
    if CR_NAME_ANNOTATION in annotations:
        name = annotations[CR_NAME_ANNOTATION]
        path: Path = ("metadata", "annotations", CR_NAME_ANNOTATION)
        if not isinstance(name, str) or not name:
            yield Violation(
                f"{CR_NAME_ANNOTATION} is empty; SpiderPool rejects it ('invalid custom net-attach-def "
                "resource empty name')",
                path,
            )
        elif not is_dns1123_subdomain(name):
            yield Violation(
                f"{CR_NAME_ANNOTATION} '{name}' is not a DNS-1123 subdomain (lowercase letters, digits, "
                "'-', '.', at most 253 characters), so the NAD cannot be created ('invalid custom "
                "net-attach-def resource name')",
                path,
            )
    if CNI_VERSION_ANNOTATION in annotations:
        version = annotations[CNI_VERSION_ANNOTATION]
        if version not in CNI_VERSIONS:
            yield Violation(
                f"{CNI_VERSION_ANNOTATION} {version!r} is not one of {', '.join(CNI_VERSIONS)}; SpiderPool "
                f"rejects it ('unsupported CNI version {version}')",
                ("metadata", "annotations", CNI_VERSION_ANNOTATION),
            )


@rule(
    code="VN016",
    slug="multusconfig-invalid",
    severity=Severity.ERROR,
    summary="SpiderMultusConfigs the webhook rejects or that cannot work: missing or foreign CNI blocks, cniType not "
    "in the version's enum, empty master, several masters without bond, VLAN IDs out of range, pools of the wrong "
    "family, an invalid cr-name",
    why="The SpiderMultusConfig webhook refuses the object ('no spec.macvlanConfig specified', 'the cniType %s only "
    "supports %s, please remove other CNI configs', 'master can't be empty', 'invalid vlanId') so its NAD is never "
    "generated and every VM that references it fails to start; pools of the wrong family fail at CNI ADD.",
    fix="Set spec.cniType and exactly its block (spec.macvlan for macvlan, …) with master, vlanID 0-4094 and "
    "ippools of the right family; remove other blocks (including a leftover customCNI).",
    references=(SMC_VALIDATE, "SP@v0.8.13:pkg/multuscniconfig/multusconfig_validate.go",
                "SP@v1.2.2:pkg/k8s/apis/spiderpool.spidernet.io/v2beta1/spidermultus_types.go",
                "issue #2700 (leftover customCNI)", "PR #5511 (cniType vlan)", "PR #5693 (vlanMode)",
                "SP:docs/usage/spider-multus-config.md"),
    versions="cniType required on SpiderPool v0.8; ib-sriov/ipoib from v0.9; vlan from v1.2",
    kinds=("SpiderMultusConfig",),
)  # fmt: skip
def multusconfig_invalid(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    sp = ctx.versions.spiderpool
    yield from _annotations(obj)
    for key in ("cniType", *BLOCKS.values()):
        if key in obj.data:
            yield Violation(f"'{key}' is at the top level of the SpiderMultusConfig; it belongs under spec", (key,))
    spec = as_map(obj.data.get("spec"))
    present = [k for k in BLOCKS.values() if spec.get(k) is not None]
    raw = spec.get("cniType")
    if raw is None:
        if sp < SMC_CNITYPE_OPTIONAL:
            yield Violation(
                f"spec.cniType is required on SpiderPool {sp} (one of {', '.join(cni_types(sp))})",
                ("spec",) if spec else (),
            )
            return
        cni = "custom"  # the v0.9+ CRD default
        foreign = [k for k in present if k != "customCNI"]
        if foreign:
            yield Violation(
                f"spec.cniType is not set, so SpiderPool {sp} defaults it to custom and rejects "
                f"spec.{foreign[0]} ('the cniType custom only supports {_UPSTREAM['customCNI']}'); set "
                f"cniType: {_type_of(foreign[0])}",
                ("spec", foreign[0]),
            )
            return
    elif not isinstance(raw, str) or raw not in cni_types(sp):
        later = " (needs SpiderPool v0.9+)" if raw in ("ib-sriov", "ipoib") else ""
        later = " (needs SpiderPool v1.2+)" if raw == "vlan" else later
        yield Violation(
            f"spec.cniType {raw!r} is not one of {', '.join(cni_types(sp))} on SpiderPool {sp}{later}",
            ("spec", "cniType"),
        )
        return
    else:
        cni = raw
    key = BLOCKS[cni]
    for other in present:
        if other == key or (cni == "custom" and other == "customCNI"):
            continue
        rejected = sp >= SMC_ALL_BLOCKS_CHECKED or other in _V08_CHECKED - (
            {"customCNI", "ibsriov"} if cni == "custom" else set()
        )
        if rejected:
            yield Violation(
                f"cniType {cni} also has spec.{other}; SpiderPool rejects it ('the cniType {cni} only "
                f"supports {_UPSTREAM[key]}, please remove other CNI configs')",
                ("spec", other),
            )
        else:
            yield Violation(
                f"cniType {cni} also has spec.{other}, which SpiderPool {sp} ignores (v1.0+ rejects it); remove it",
                ("spec", other),
                Severity.WARNING,
            )
    if cni == "custom":
        yield from _custom_config(spec)
        return
    block = spec.get(key)
    if not isinstance(block, Mapping):
        yield Violation(
            f"cniType {cni} needs spec.{key}; SpiderPool rejects it ('no {_UPSTREAM[key]} specified')",
            ("spec", key) if key in spec else ("spec", "cniType"),
        )
        return
    yield from _block_fields(cni, key, block, sp)
    yield from _pools_family(key, block, ctx)


def _type_of(block_key: str) -> str:
    return next(cni for cni, key in BLOCKS.items() if key == block_key)


@rule(
    code="VN021",
    slug="static-ip-disabled",
    severity=Severity.ERROR,
    summary="a spiderpool-conf ConfigMap whose conf.yml does not set enableKubevirtStaticIP: true while VMs of the "
    "input rely on fixed IPs (or whose conf.yml cannot be parsed)",
    why="SpiderPool reads conf.yml into Go booleans, so a missing key means false: VM pods are then treated as "
    "stateless and every restart or migration of a VM gets a new address from the pool (on v0.8.0-v0.8.3 disabling "
    "it even crashed spiderpool-agent, issue #2966). An unparseable conf.yml stops the agent and controller.",
    fix="Set `enableKubevirtStaticIP: true` in data.conf.yml (Helm value ipam.enableKubevirtStaticIP, default true) "
    "and restart spiderpool-agent and spiderpool-controller.",
    references=("SP@v1.2.2:charts/spiderpool/templates/configmap.yaml", "SP@v1.2.2:pkg/types/k8s.go",
                "SP@v1.2.2:cmd/spiderpool-agent/cmd/config.go", "PR #2360 (KubeVirt static IP, v0.8.0)",
                "issue #2966", "SP:docs/usage/kubevirt.md"),
    versions="all supported SpiderPool versions",
    kinds=("ConfigMap",),
)  # fmt: skip
def static_ip_disabled(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    if obj.ref.name != "spiderpool-conf":
        return
    data = as_map(obj.data.get("data"))
    if "conf.yml" not in data:
        return  # a stub (e.g. only for version detection): nothing to judge
    path: Path = ("data", "conf.yml")
    text = data["conf.yml"]
    if not isinstance(text, str):
        yield Violation("data.conf.yml must be a string holding SpiderPool's YAML configuration", path)
        return
    try:
        conf = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1} of conf.yml" if mark is not None else ""
        yield Violation(f"data.conf.yml is not valid YAML{where}; spiderpool-agent cannot start with it", path)
        return
    if conf is not None and not isinstance(conf, Mapping):
        yield Violation("data.conf.yml is not a YAML mapping of settings; spiderpool-agent cannot start with it", path)
        return
    value = as_map(conf).get("enableKubevirtStaticIP")
    if value is True:
        return
    if value is not None and not isinstance(value, bool):
        yield Violation(f"enableKubevirtStaticIP in conf.yml is {value!r}, not a boolean; write true (unquoted)", path)
        return
    users = fixed_ip_workloads(ctx)
    if not users:
        return
    state = "false" if value is False else "missing (which means false)"
    sp = ctx.versions.spiderpool
    crash = " and spiderpool-agent crashes at start (issue #2966)" if static_ip_off_crashes_agent(sp) else ""
    yield Violation(
        f"enableKubevirtStaticIP is {state} in conf.yml, so the VMs that take SpiderPool addresses "
        f"({listed(users)}) get a new IP on every restart{crash}; set it to true",
        path,
    )
