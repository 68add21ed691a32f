"""Rewrite an existing cloud-init network config for a VM whose NICs change (``virtnet set network``).

KubeVirt writes ``networkData`` verbatim (NoCloud: ``network-config``, cloud-init network config v1 or v2 YAML;
ConfigDrive: ``openstack/latest/network_data.json``, OpenStack JSON) and never generates it
(KV@v1.0.1:pkg/cloud-init/cloud-init.go). The rewrite keeps what the user configured and only changes what the NICs
decide:

- each NIC that stays (same interface name) keeps its entry and its settings (``mtu``, ``nameservers``,
  ``set-name``, …); the entry is matched by the NIC's MAC from then on and gets the addressing of the new mode
  (DHCP: every binding virtnet renders hands the NIC its IP by DHCP; static addresses are replaced, with a warning);
- a new NIC gets the entry ``virtnet new vm`` writes (:func:`virtnet.render.cloudinit.network_data`);
- the entry of a removed NIC goes — refused when routes, bonds, bridges or VLANs depend on it;
- routes of a NIC whose network changes are refused (they point at the old network's gateways);
- entries that match several NICs (globs, driver matches) and every other section stay as they are.

Entries are tied to NICs by MAC, else by a guest name that follows PCI order (``eth0``/``enp1s0`` is the first
NIC, as on q35 — KubeVirt builds the domain's interfaces in spec order, KV@v1.9.0:pkg/virt-launcher/virtwrap/
converter/network/configurator.go), else — one entry, one NIC — to that NIC.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

OPENSTACK_SOURCE = "cloud-init cloudinit/sources/helpers/openstack.py convert_net_json"
PHYSICAL_LINK_TYPES = frozenset(
    {"bgpovs", "bridge", "cascading", "dvs", "ethernet", "hw_veb", "hyperv", "ovs", "phy", "tap", "vhostuser", "vif"}
)
# v2 ethernet keys that say how the NIC gets its address: the mode decides them
_V2_ADDRESSING = ("match", "dhcp4", "dhcp6", "addresses", "gateway4", "gateway6", "dhcp4-overrides", "dhcp6-overrides")
_GUEST_NAME = re.compile(r"^(?:eth(\d+)|enp(\d+)s0)$")


@dataclass(frozen=True)
class OldNic:
    """A NIC of the VM before the edit."""

    name: str
    mac: str | None
    guest_index: int | None  # position among the guest-visible NICs (SR-IOV NICs become host devices)


@dataclass(frozen=True)
class NewNic:
    """A NIC of the VM after the edit."""

    name: str
    mac: str
    primary: bool
    kept: bool  # the VM had a NIC of this name
    network_changed: bool  # binding or network source differs from before (False for new NICs)
    ipv6: bool  # one of its pools is IPv6
    bridge: bool  # bridge binding: KubeVirt's DHCP serves IPv4 only (KV@v1.9.0:pkg/network/dhcp/bridge.go)


@dataclass
class Rewrite:
    """The new config (None: unchanged) and what the caller must tell the user."""

    data: Any = None
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


class NetworkDataError(ValueError):
    """The network config cannot be read (not YAML/JSON, not a network config)."""


# --- parsing and writing ---------------------------------------------------------------------------------------


def parse(text: str, config_drive: bool) -> Any:
    """The network config as data: OpenStack JSON for ConfigDrive, cloud-init YAML for NoCloud."""
    if config_drive:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise NetworkDataError(f"it is not OpenStack network_data.json ({err})") from None
        if not isinstance(data, dict):
            raise NetworkDataError("it is not an OpenStack network_data.json object")
        return data
    try:
        data = yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError) as err:
        raise NetworkDataError(f"it is not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise NetworkDataError("it is not a cloud-init network config (a mapping with 'version: 1' or 'version: 2')")
    return data


def dump(data: Any, config_drive: bool) -> str:
    if config_drive:
        return json.dumps(data, separators=(",", ":"))
    text: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
    return text


def _mac(value: Any) -> str | None:
    return value.strip().lower().replace("-", ":") if isinstance(value, str) and value.strip() else None


def _by_guest_name(name: Any, old: Sequence[OldNic]) -> OldNic | None:
    match = _GUEST_NAME.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    index = int(match.group(1)) if match.group(1) is not None else int(match.group(2)) - 1
    return next((n for n in old if n.guest_index == index), None)


def _by_mac(mac: str | None, old: Sequence[OldNic]) -> OldNic | None:
    return next((n for n in old if mac and n.mac == mac), None) if mac else None


# --- v2 ----------------------------------------------------------------------------------------------------------


def _v2_owner(key: str, entry: Mapping[str, Any], old: Sequence[OldNic]) -> OldNic | str | None:
    """The old NIC an ethernet entry configures; ``"*"`` when it may match several; None when none."""
    match = entry.get("match") if isinstance(entry.get("match"), Mapping) else None
    if match is None:
        return _by_guest_name(key, old)
    mac = _mac(match.get("macaddress"))
    if mac:
        return _by_mac(mac, old)
    name = match.get("name")
    if isinstance(name, str) and not any(c in name for c in "*?["):
        return _by_guest_name(name, old)
    return "*"


def rewrite_v2(
    cfg: Mapping[str, Any], old: Sequence[OldNic], new: Sequence[NewNic], rendered: Mapping[str, Any]
) -> Rewrite:
    """``cfg``: the v2 config (without a ``network:`` wrapper); ``rendered``: NIC name → the entry virtnet writes."""
    out = Rewrite()
    ethernets: Mapping[str, Any] = cfg["ethernets"] if isinstance(cfg.get("ethernets"), Mapping) else {}
    owners: dict[str, OldNic | str | None] = {
        str(k): _v2_owner(str(k), v if isinstance(v, Mapping) else {}, old) for k, v in ethernets.items()
    }
    if len(ethernets) == 1 and len(old) == 1 and next(iter(owners.values())) is None:
        owners = dict.fromkeys(owners, old[0])  # one entry, one NIC
    key_of: dict[str, str] = {}
    for key, owner in owners.items():
        if isinstance(owner, OldNic):
            key_of.setdefault(owner.name, key)
    new_names = {n.name for n in new}
    removed_keys: set[str] = set()
    for key, owner in owners.items():
        if isinstance(owner, OldNic) and owner.name not in new_names:
            removed_keys.add(key)
            entry = ethernets[key] if isinstance(ethernets[key], Mapping) else {}
            if entry.get("routes"):
                out.refusals.append(
                    f"networkData entry '{key}' (NIC {owner.name}, which the edit removes) carries routes "
                    f"{_routes_text(entry.get('routes'))}: the guest would lose them"
                )
            out.changes.append(f"entry '{key}' of removed NIC {owner.name} dropped")
    result: dict[str, Any] = {}
    used_keys = set(owners) - removed_keys
    for nic in new:
        found_key = key_of.get(nic.name) if nic.kept else None
        base = ethernets.get(found_key) if found_key is not None else None
        entry = copy.deepcopy(dict(rendered[nic.name]))
        if isinstance(base, Mapping):
            key = str(found_key)
            static = [k for k in ("addresses", "gateway4", "gateway6") if k in base]
            if static:
                out.warnings.append(
                    f"networkData entry '{key}' (NIC {nic.name}) set {', '.join(static)}: replaced by DHCP, "
                    "because the new mode hands the NIC its address by DHCP"
                )
            if base.get("routes") and nic.network_changed:
                out.refusals.append(
                    f"networkData entry '{key}' (NIC {nic.name}) carries routes {_routes_text(base.get('routes'))} "
                    "through its current network, which the edit replaces"
                )
            for k, v in base.items():
                if k not in _V2_ADDRESSING and k not in entry:
                    entry[k] = copy.deepcopy(v)
            if _strip(base) != _strip(entry):
                out.changes.append(f"entry '{key}' (NIC {nic.name}) matched by MAC {nic.mac}, DHCP")
        else:
            key = nic.name
            while key in used_keys:
                key += "-new"
            out.changes.append(f"entry '{key}' added for NIC {nic.name} (MAC {nic.mac}, DHCP)")
        used_keys.add(key)
        result[key] = entry
    for key, value in ethernets.items():
        if str(key) not in result and str(key) not in removed_keys:
            result[str(key)] = copy.deepcopy(value)  # entries for several or no NICs: kept as they are
    for section in ("bonds", "bridges", "vlans"):
        devices = cfg.get(section)
        if not isinstance(devices, Mapping):
            continue
        for name, dev in devices.items():
            dev = dev if isinstance(dev, Mapping) else {}
            refs = [str(x) for x in dev.get("interfaces") or [] if isinstance(x, str)]
            if isinstance(dev.get("link"), str):
                refs.append(dev["link"])
            gone = sorted(set(refs) & removed_keys)
            if gone:
                out.refusals.append(
                    f"networkData {section[:-1]} '{name}' is built on {', '.join(gone)}, the entry of a NIC the "
                    "edit removes"
                )
    new_cfg: dict[str, Any] = {}
    for k, v in cfg.items():
        new_cfg[k] = result if k == "ethernets" else copy.deepcopy(v)
    if "ethernets" not in new_cfg:
        new_cfg["ethernets"] = result
    out.data = new_cfg
    return out


def _strip(entry: Any) -> Any:
    return json.loads(json.dumps(entry, sort_keys=True, default=str))


def _routes_text(routes: Any) -> str:
    items = routes if isinstance(routes, list) else [routes]
    texts = []
    for r in items[:3]:
        if isinstance(r, Mapping):
            to = r.get("to") or r.get("destination") or r.get("network") or "?"
            via = r.get("via") or r.get("gateway")
            texts.append(f"{to} via {via}" if via else str(to))
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return "(" + ", ".join(texts) + more + ")" if texts else "(routes)"


# --- v1 ----------------------------------------------------------------------------------------------------------


def rewrite_v1(cfg: Mapping[str, Any], old: Sequence[OldNic], new: Sequence[NewNic]) -> Rewrite:
    out = Rewrite()
    items: list[Any] = cfg["config"] if isinstance(cfg.get("config"), list) else []
    physical = [i for i, x in enumerate(items) if isinstance(x, Mapping) and x.get("type") == "physical"]
    owners: dict[int, OldNic | None] = {}
    for i in physical:
        entry = items[i]
        owners[i] = _by_mac(_mac(entry.get("mac_address")), old) or (
            None if entry.get("mac_address") else _by_guest_name(entry.get("name"), old)
        )
    if len(physical) == 1 and len(old) == 1 and owners[physical[0]] is None:
        owners[physical[0]] = old[0]
    index_of: dict[str, int] = {}
    for i, owner in owners.items():
        if owner is not None:
            index_of.setdefault(owner.name, i)
    new_names = {n.name for n in new}
    removed: set[str] = set()
    for i, owner in owners.items():
        if owner is not None and owner.name not in new_names:
            entry = items[i]
            removed.add(str(entry.get("name")))
            routes = [r for s in entry.get("subnets") or [] if isinstance(s, Mapping) for r in s.get("routes") or []]
            if routes:
                out.refusals.append(
                    f"networkData interface '{entry.get('name')}' (NIC {owner.name}, which the edit removes) carries "
                    f"routes {_routes_text(routes)}: the guest would lose them"
                )
            out.changes.append(f"interface '{entry.get('name')}' of removed NIC {owner.name} dropped")
    names_in_use = {str(items[i].get("name")) for i in physical} - removed
    new_entries: list[dict[str, Any]] = []
    for position, nic in enumerate(new):
        index = index_of.get(nic.name) if nic.kept else None
        base = items[index] if index is not None else None
        subnets: list[dict[str, Any]] = [{"type": "dhcp"}]
        if nic.ipv6 and not nic.bridge:
            subnets.append({"type": "dhcp6"})
        if isinstance(base, Mapping):
            entry = {k: copy.deepcopy(v) for k, v in base.items()}
            old_subnets = [s for s in base.get("subnets") or [] if isinstance(s, Mapping)]
            if any(str(s.get("type", "")).startswith("static") for s in old_subnets):
                out.warnings.append(
                    f"networkData interface '{base.get('name')}' (NIC {nic.name}) had static subnets: replaced by "
                    "DHCP, because the new mode hands the NIC its address by DHCP"
                )
            if nic.network_changed and any(s.get("routes") for s in old_subnets):
                out.refusals.append(
                    f"networkData interface '{base.get('name')}' (NIC {nic.name}) carries routes through its current "
                    "network, which the edit replaces"
                )
            entry["mac_address"] = nic.mac
            entry["subnets"] = subnets
            if _strip(entry) != _strip(base):
                out.changes.append(f"interface '{entry.get('name')}' (NIC {nic.name}) matched by MAC {nic.mac}, DHCP")
        else:
            guest = f"eth{position}"
            while guest in names_in_use:
                position += 1
                guest = f"eth{position}"
            names_in_use.add(guest)
            entry = {"type": "physical", "name": guest, "mac_address": nic.mac, "subnets": subnets}
            out.changes.append(f"interface '{guest}' added for NIC {nic.name} (MAC {nic.mac}, DHCP)")
        new_entries.append(entry)
    result: list[Any] = []
    placed = False
    for i, x in enumerate(items):
        if i in owners and owners[i] is not None:
            if not placed:
                result.extend(new_entries)
                placed = True
            continue
        if isinstance(x, Mapping):
            refs = [x.get("vlan_link"), *list(x.get("bond_interfaces") or []), *list(x.get("bridge_interfaces") or [])]
            gone = sorted({str(r) for r in refs if r} & removed)
            if gone:
                out.refusals.append(
                    f"networkData {x.get('type')} '{x.get('name')}' is built on {', '.join(gone)}, the interface of a "
                    "NIC the edit removes"
                )
            if x.get("type") == "route":
                out.warnings.append(
                    f"networkData route {_routes_text([x])} is not tied to a NIC: virtnet left it as it is; check it "
                    "fits the new network"
                )
        result.append(copy.deepcopy(x))
    if not placed:
        result = new_entries + result
    new_cfg = {k: (result if k == "config" else copy.deepcopy(v)) for k, v in cfg.items()}
    new_cfg.setdefault("config", result)
    out.data = new_cfg
    return out


# --- OpenStack network_data.json (ConfigDrive) -------------------------------------------------------------------


def openstack_config(new: Sequence[NewNic]) -> dict[str, Any]:
    """network_data.json for NICs matched by MAC, each by DHCP (``ipv4_dhcp``/``ipv6_dhcp``; OPENSTACK_SOURCE)."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    for nic in new:
        links.append({"id": nic.name, "type": "phy", "ethernet_mac_address": nic.mac})
        networks.extend(_os_networks(nic, nic.name))
    return {"links": links, "networks": networks, "services": []}


def _os_networks(nic: NewNic, link: str) -> list[dict[str, Any]]:
    nets = [{"id": f"{link}-ipv4", "link": link, "type": "ipv4_dhcp"}]
    if nic.ipv6 and not nic.bridge:
        nets.append({"id": f"{link}-ipv6", "link": link, "type": "ipv6_dhcp"})
    return nets


def rewrite_openstack(cfg: Mapping[str, Any], old: Sequence[OldNic], new: Sequence[NewNic]) -> Rewrite:
    out = Rewrite()
    links = [x for x in cfg.get("links") or [] if isinstance(x, Mapping)]
    networks = [x for x in cfg.get("networks") or [] if isinstance(x, Mapping)]
    phys = [x for x in links if x.get("type") in PHYSICAL_LINK_TYPES or x.get("type") is None]
    owners: dict[str, OldNic | None] = {}
    for position, link in enumerate(phys):
        owner = _by_mac(_mac(link.get("ethernet_mac_address")), old)
        if owner is None and not link.get("ethernet_mac_address"):
            owner = next((n for n in old if n.guest_index == position), None)
        owners[str(link.get("id"))] = owner
    link_of: dict[str, str] = {}
    for link_id, owner in owners.items():
        if owner is not None:
            link_of.setdefault(owner.name, link_id)
    new_names = {n.name for n in new}
    removed = {lid for lid, o in owners.items() if o is not None and o.name not in new_names}
    for lid in sorted(removed):
        owner = owners[lid]
        assert owner is not None
        routes = [r for net in networks if net.get("link") == lid for r in net.get("routes") or []]
        if routes:
            out.refusals.append(
                f"networkData link '{lid}' (NIC {owner.name}, which the edit removes) carries routes "
                f"{_routes_text(routes)}: the guest would lose them"
            )
        out.changes.append(f"link '{lid}' of removed NIC {owner.name} dropped")
    for link in links:
        refs = [str(x) for x in link.get("bond_links") or []] + (
            [str(link["vlan_link"])] if link.get("vlan_link") else []
        )
        gone = sorted(set(refs) & removed)
        if gone:
            out.refusals.append(
                f"networkData link '{link.get('id')}' is built on {', '.join(gone)}, the link of a NIC the edit removes"
            )
    new_links: list[dict[str, Any]] = []
    new_networks: list[dict[str, Any]] = []
    by_id = {str(link.get("id")): link for link in links}
    for nic in new:
        found = link_of.get(nic.name) if nic.kept else None
        if found is not None:
            lid = found
            link = dict(copy.deepcopy(by_id[lid]))
            link["ethernet_mac_address"] = nic.mac
            mine = [n for n in networks if n.get("link") == lid]
            if any(not str(n.get("type", "")).endswith("dhcp") for n in mine):
                out.warnings.append(
                    f"networkData link '{lid}' (NIC {nic.name}) had static networks: replaced by DHCP, because the "
                    "new mode hands the NIC its address by DHCP"
                )
            if nic.network_changed and any(n.get("routes") for n in mine):
                out.refusals.append(
                    f"networkData link '{lid}' (NIC {nic.name}) carries routes through its current network, which "
                    "the edit replaces"
                )
            wanted = _os_networks(nic, lid)
            kept = [n for n in mine if n.get("type") in {w["type"] for w in wanted}]
            nets = kept if len(kept) == len(wanted) else wanted
            if _strip(link) != _strip(by_id[lid]) or _strip(nets) != _strip(mine):
                out.changes.append(f"link '{lid}' (NIC {nic.name}) matched by MAC {nic.mac}, DHCP")
        else:
            lid = nic.name
            while lid in by_id:
                lid += "-new"
            link = {"id": lid, "type": "phy", "ethernet_mac_address": nic.mac}
            nets = _os_networks(nic, lid)
            out.changes.append(f"link '{lid}' added for NIC {nic.name} (MAC {nic.mac}, DHCP)")
        new_links.append(link)
        new_networks.extend(dict(copy.deepcopy(n)) for n in nets)
    other_links = [
        copy.deepcopy(x) for x in links if str(x.get("id")) not in owners or owners[str(x.get("id"))] is None
    ]
    handled = set(owners)
    other_networks = [
        copy.deepcopy(n)
        for n in networks
        if str(n.get("link")) not in handled or owners.get(str(n.get("link"))) is None
    ]
    result = {k: copy.deepcopy(v) for k, v in cfg.items()}
    result["links"] = new_links + other_links
    result["networks"] = new_networks + other_networks
    result.setdefault("services", [])
    out.data = result
    return out


# --- entry point -------------------------------------------------------------------------------------------------


def rewrite(
    data: Any, config_drive: bool, old: Sequence[OldNic], new: Sequence[NewNic], rendered_v2: Mapping[str, Any]
) -> Rewrite:
    """Rewrite a parsed network config for the new NICs. Raises :class:`NetworkDataError` for a config virtnet
    cannot rewrite."""
    if config_drive:
        return rewrite_openstack(data, old, new)
    if data is None:
        raise NetworkDataError("it is empty")
    wrapped = isinstance(data.get("network"), Mapping)
    cfg = data["network"] if wrapped else data
    if cfg.get("config") == "disabled":
        return Rewrite()
    version = cfg.get("version")
    if version in (2, "2"):
        result = rewrite_v2(cfg, old, new, rendered_v2)
    elif version in (1, "1"):
        result = rewrite_v1(cfg, old, new)
    else:
        raise NetworkDataError("it has no 'version: 1' or 'version: 2'")
    if wrapped and result.data is not None:
        result.data = {k: (result.data if k == "network" else copy.deepcopy(v)) for k, v in data.items()}
    return result
