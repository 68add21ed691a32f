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
from typing import Any, TypeVar

import yaml

_Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

OPENSTACK_SOURCE = "cloud-init cloudinit/sources/helpers/openstack.py convert_net_json"
PHYSICAL_LINK_TYPES = frozenset(
    {"bgpovs", "bridge", "cascading", "dvs", "ethernet", "hw_veb", "hyperv", "ovs", "phy", "tap", "vhostuser", "vif"}
)
# v2 ethernet keys that say how the NIC gets its address: the mode decides them
_V2_ADDRESSING = ("match", "dhcp4", "dhcp6", "addresses", "gateway4", "gateway6", "dhcp4-overrides", "dhcp6-overrides")
_GUEST_NAME = re.compile(r"^(?:eth(\d+)|enp(\d+)s0)$")

# A network config as parsed: its values come from the user's networkData (YAML or JSON) and have any shape, so
# they stay `Any` and are checked where they are read. What the rewrite builds is typed (entries, links, networks).
Config = Mapping[str, Any]
Entry = dict[str, object]  # an entry virtnet writes (kept settings of the user's entry included)
OsNetwork = dict[str, str]  # an OpenStack network virtnet writes: id, link, type


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

    data: dict[str, object] | None = None
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


class NetworkDataError(ValueError):
    """The network config cannot be read (not YAML/JSON, not a network config)."""


# --- parsing and writing ---------------------------------------------------------------------------------------


def parse(text: str, config_drive: bool) -> dict[str, Any] | None:
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


def dump(data: object, config_drive: bool) -> str:
    if config_drive:
        return json.dumps(data, separators=(",", ":"))
    text: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
    return text


def _mac(value: object) -> str | None:
    return value.strip().lower().replace("-", ":") if isinstance(value, str) and value.strip() else None


def _by_guest_name(name: object, old: Sequence[OldNic]) -> OldNic | None:
    match = _GUEST_NAME.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    index = int(match.group(1)) if match.group(1) is not None else int(match.group(2)) - 1
    return next((n for n in old if n.guest_index == index), None)


def _by_mac(mac: str | None, old: Sequence[OldNic]) -> OldNic | None:
    return next((n for n in old if mac and n.mac == mac), None) if mac else None


# --- what the three formats share ------------------------------------------------------------------------------
#
# Each rewrite: tie the config's units (v2 ethernet entries, v1 physical interfaces, OpenStack links) to the VM's
# NICs (``owners``); drop the units of removed NICs (refused when routes or other devices depend on them); give each
# NIC that stays its unit with the new addressing and each new NIC a new unit; keep everything else as it was.

K = TypeVar("K")


def _sole_owner(
    owners: dict[K, OldNic | str | None], units: int, old: Sequence[OldNic]
) -> dict[K, OldNic | str | None]:
    """One unit and one NIC, not tied by MAC or name: the unit is that NIC's."""
    if units == 1 and len(old) == 1 and next(iter(owners.values())) is None:
        return dict.fromkeys(owners, old[0])
    return owners


def _removed(owners: Mapping[K, OldNic | str | None], new: Sequence[NewNic]) -> list[tuple[K, OldNic]]:
    """The units of NICs the edit removes, with their NIC, in config order."""
    new_names = {n.name for n in new}
    return [(k, o) for k, o in owners.items() if isinstance(o, OldNic) and o.name not in new_names]


def _unit_of(owners: Mapping[K, OldNic | str | None]) -> dict[str, K]:
    """NIC name → the first unit tied to it."""
    out: dict[str, K] = {}
    for key, owner in owners.items():
        if isinstance(owner, OldNic):
            out.setdefault(owner.name, key)
    return out


def _free_name(name: str, taken: set[str] | Mapping[str, object]) -> str:
    """``name``, or ``name-new`` (``-new-new``, …) when a unit of that name exists."""
    while name in taken:
        name += "-new"
    return name


def _with(cfg: Mapping[Any, Any], sections: Mapping[str, object]) -> dict[Any, object]:
    """A copy of ``cfg`` with ``sections`` replaced in place (added at the end when missing)."""
    out = {k: (sections[k] if k in sections else copy.deepcopy(v)) for k, v in cfg.items()}
    for k, v in sections.items():
        out.setdefault(k, v)
    return out


@dataclass(frozen=True)
class _Say:
    """The messages of one rewrite, naming the config's unit: ``entry``, ``interface`` or ``link``."""

    out: Rewrite
    unit: str

    def removed(self, key: object, nic: str, routes: object) -> None:
        if routes:
            self.out.refusals.append(
                f"networkData {self.unit} '{key}' (NIC {nic}, which the edit removes) carries routes "
                f"{_routes_text(routes)}: the guest would lose them"
            )
        self.out.changes.append(f"{self.unit} '{key}' of removed NIC {nic} dropped")

    def built_on(self, kind: object, name: object, gone: Sequence[str]) -> None:
        self.out.refusals.append(
            f"networkData {kind} '{name}' is built on {', '.join(gone)}, the {self.unit} of a NIC the edit removes"
        )

    def static(self, key: object, nic: NewNic, what: str) -> None:
        self.out.warnings.append(
            f"networkData {self.unit} '{key}' (NIC {nic.name}) {what}: replaced by DHCP, because the new mode hands "
            "the NIC its address by DHCP"
        )

    def routes_replaced(self, key: object, nic: NewNic, routes: str = "") -> None:
        self.out.refusals.append(
            f"networkData {self.unit} '{key}' (NIC {nic.name}) carries routes {routes + ' ' if routes else ''}"
            "through its current network, which the edit replaces"
        )

    def matched(self, key: object, nic: NewNic) -> None:
        self.out.changes.append(f"{self.unit} '{key}' (NIC {nic.name}) matched by MAC {nic.mac}, DHCP")

    def added(self, key: str, nic: NewNic) -> None:
        self.out.changes.append(f"{self.unit} '{key}' added for NIC {nic.name} (MAC {nic.mac}, DHCP)")


def _strip(entry: object) -> object:
    return json.loads(json.dumps(entry, sort_keys=True, default=str))


def _routes_text(routes: object) -> str:
    items = routes if isinstance(routes, list) else [routes]
    texts = []
    for r in items[:3]:
        if isinstance(r, Mapping):
            to = r.get("to") or r.get("destination") or r.get("network") or "?"
            via = r.get("via") or r.get("gateway")
            texts.append(f"{to} via {via}" if via else str(to))
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return "(" + ", ".join(texts) + more + ")" if texts else "(routes)"


# --- v2 ----------------------------------------------------------------------------------------------------------


def _v2_owner(key: str, entry: Config, old: Sequence[OldNic]) -> OldNic | str | None:
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


def rewrite_v2(cfg: Config, old: Sequence[OldNic], new: Sequence[NewNic], rendered: Config) -> Rewrite:
    """``cfg``: the v2 config (without a ``network:`` wrapper); ``rendered``: NIC name → the entry virtnet writes."""
    out = Rewrite()
    say = _Say(out, "entry")
    ethernets: Config = cfg["ethernets"] if isinstance(cfg.get("ethernets"), Mapping) else {}
    owners = _sole_owner(
        {str(k): _v2_owner(str(k), v if isinstance(v, Mapping) else {}, old) for k, v in ethernets.items()},
        len(ethernets),
        old,
    )
    removed = _removed(owners, new)
    for key, owner in removed:
        entry = ethernets[key] if isinstance(ethernets[key], Mapping) else {}
        say.removed(key, owner.name, entry.get("routes"))
    removed_keys = {key for key, _ in removed}
    key_of = _unit_of(owners)
    result: dict[str, object] = {}
    used_keys = set(owners) - removed_keys
    for nic in new:
        found_key = key_of.get(nic.name) if nic.kept else None
        base = ethernets.get(found_key) if found_key is not None else None
        entry = copy.deepcopy(dict(rendered[nic.name]))
        if isinstance(base, Mapping):
            key = str(found_key)
            _v2_keep(say, key, base, nic, entry)
        else:
            key = _free_name(nic.name, used_keys)
            say.added(key, nic)
        used_keys.add(key)
        result[key] = entry
    for key, value in ethernets.items():
        if str(key) not in result and str(key) not in removed_keys:
            result[str(key)] = copy.deepcopy(value)  # entries for several or no NICs: kept as they are
    _v2_devices_on(say, cfg, removed_keys)
    out.data = _with(cfg, {"ethernets": result})
    return out


def _v2_keep(say: _Say, key: str, base: Config, nic: NewNic, entry: Entry) -> None:
    """The entry of a NIC that stays: the rendered addressing plus every other setting the user's entry had."""
    static = [k for k in ("addresses", "gateway4", "gateway6") if k in base]
    if static:
        say.static(key, nic, f"set {', '.join(static)}")
    if base.get("routes") and nic.network_changed:
        say.routes_replaced(key, nic, _routes_text(base.get("routes")))
    for k, v in base.items():
        if k not in _V2_ADDRESSING and k not in entry:
            entry[k] = copy.deepcopy(v)
    if _strip(base) != _strip(entry):
        say.matched(key, nic)


def _v2_devices_on(say: _Say, cfg: Config, removed_keys: set[str]) -> None:
    """Bonds, bridges and VLANs built on the entry of a removed NIC are refused."""
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
                say.built_on(section[:-1], name, gone)


# --- v1 ----------------------------------------------------------------------------------------------------------


def _v1_owner(entry: Config, old: Sequence[OldNic]) -> OldNic | None:
    """The old NIC a physical interface configures: by its MAC, else (no MAC given) by its guest name."""
    return _by_mac(_mac(entry.get("mac_address")), old) or (
        None if entry.get("mac_address") else _by_guest_name(entry.get("name"), old)
    )


def rewrite_v1(cfg: Config, old: Sequence[OldNic], new: Sequence[NewNic]) -> Rewrite:
    out = Rewrite()
    say = _Say(out, "interface")
    items: list[Any] = cfg["config"] if isinstance(cfg.get("config"), list) else []
    physical = [i for i, x in enumerate(items) if isinstance(x, Mapping) and x.get("type") == "physical"]
    owners = _sole_owner({i: _v1_owner(items[i], old) for i in physical}, len(physical), old)
    removed: set[str] = set()
    for i, owner in _removed(owners, new):
        entry = items[i]
        removed.add(str(entry.get("name")))
        routes = [r for s in entry.get("subnets") or [] if isinstance(s, Mapping) for r in s.get("routes") or []]
        say.removed(entry.get("name"), owner.name, routes)
    index_of = _unit_of(owners)
    names_in_use = {str(items[i].get("name")) for i in physical} - removed
    new_entries: list[Entry] = []
    for position, nic in enumerate(new):
        index = index_of.get(nic.name) if nic.kept else None
        base = items[index] if index is not None else None
        if isinstance(base, Mapping):
            new_entries.append(_v1_keep(say, base, nic))
        else:
            guest = _free_guest_name(position, names_in_use)
            names_in_use.add(guest)
            new_entries.append({"type": "physical", "name": guest, "mac_address": nic.mac, "subnets": _v1_subnets(nic)})
            say.added(guest, nic)
    out.data = _with(cfg, {"config": _v1_config(say, items, owners, new_entries, removed)})
    return out


def _v1_subnets(nic: NewNic) -> list[dict[str, str]]:
    subnets = [{"type": "dhcp"}]
    if nic.ipv6 and not nic.bridge:
        subnets.append({"type": "dhcp6"})
    return subnets


def _free_guest_name(position: int, names_in_use: set[str]) -> str:
    """``eth<position>``, or the next free ``ethN`` after it."""
    guest = f"eth{position}"
    while guest in names_in_use:
        position += 1
        guest = f"eth{position}"
    return guest


def _v1_keep(say: _Say, base: Config, nic: NewNic) -> Entry:
    """The interface of a NIC that stays: matched by the NIC's MAC, DHCP subnets, every other setting kept."""
    entry = {k: copy.deepcopy(v) for k, v in base.items()}
    old_subnets = [s for s in base.get("subnets") or [] if isinstance(s, Mapping)]
    if any(str(s.get("type", "")).startswith("static") for s in old_subnets):
        say.static(base.get("name"), nic, "had static subnets")
    if nic.network_changed and any(s.get("routes") for s in old_subnets):
        say.routes_replaced(base.get("name"), nic)
    entry["mac_address"] = nic.mac
    entry["subnets"] = _v1_subnets(nic)
    if _strip(entry) != _strip(base):
        say.matched(entry.get("name"), nic)
    return entry


def _v1_config(
    say: _Say, items: list[Any], owners: Mapping[int, OldNic | str | None], entries: list[Entry], removed: set[str]
) -> list[object]:
    """The new ``config`` list: the NICs' interfaces where the first one tied to a NIC was, every other item as it
    was (refused when built on a removed interface; a route not tied to a NIC is warned about)."""
    result: list[object] = []
    placed = False
    for i, x in enumerate(items):
        if i in owners and owners[i] is not None:
            if not placed:
                result.extend(entries)
                placed = True
            continue
        if isinstance(x, Mapping):
            refs = [x.get("vlan_link"), *list(x.get("bond_interfaces") or []), *list(x.get("bridge_interfaces") or [])]
            gone = sorted({str(r) for r in refs if r} & removed)
            if gone:
                say.built_on(x.get("type"), x.get("name"), gone)
            if x.get("type") == "route":
                say.out.warnings.append(
                    f"networkData route {_routes_text([x])} is not tied to a NIC: virtnet left it as it is; check it "
                    "fits the new network"
                )
        result.append(copy.deepcopy(x))
    return result if placed else [*entries, *result]


# --- OpenStack network_data.json (ConfigDrive) -------------------------------------------------------------------


def openstack_config(new: Sequence[NewNic]) -> dict[str, list[dict[str, str]]]:
    """network_data.json for NICs matched by MAC, each by DHCP (``ipv4_dhcp``/``ipv6_dhcp``; OPENSTACK_SOURCE)."""
    links: list[dict[str, str]] = []
    networks: list[OsNetwork] = []
    for nic in new:
        links.append({"id": nic.name, "type": "phy", "ethernet_mac_address": nic.mac})
        networks.extend(_os_networks(nic, nic.name))
    return {"links": links, "networks": networks, "services": []}


def _os_networks(nic: NewNic, link: str) -> list[OsNetwork]:
    nets = [{"id": f"{link}-ipv4", "link": link, "type": "ipv4_dhcp"}]
    if nic.ipv6 and not nic.bridge:
        nets.append({"id": f"{link}-ipv6", "link": link, "type": "ipv6_dhcp"})
    return nets


def _os_owners(phys: Sequence[Config], old: Sequence[OldNic]) -> dict[str, OldNic | str | None]:
    """Link id → the old NIC it is: by MAC, else (no MAC given) by its position among the physical links."""
    owners: dict[str, OldNic | str | None] = {}
    for position, link in enumerate(phys):
        owner = _by_mac(_mac(link.get("ethernet_mac_address")), old)
        if owner is None and not link.get("ethernet_mac_address"):
            owner = next((n for n in old if n.guest_index == position), None)
        owners[str(link.get("id"))] = owner
    return owners


def rewrite_openstack(cfg: Config, old: Sequence[OldNic], new: Sequence[NewNic]) -> Rewrite:
    out = Rewrite()
    say = _Say(out, "link")
    links = [x for x in cfg.get("links") or [] if isinstance(x, Mapping)]
    networks = [x for x in cfg.get("networks") or [] if isinstance(x, Mapping)]
    owners = _os_owners([x for x in links if x.get("type") in PHYSICAL_LINK_TYPES or x.get("type") is None], old)
    removed = sorted(_removed(owners, new), key=lambda item: item[0])
    for lid, owner in removed:
        say.removed(lid, owner.name, [r for net in networks if net.get("link") == lid for r in net.get("routes") or []])
    removed_ids = {lid for lid, _ in removed}
    for link in links:
        refs = [str(x) for x in link.get("bond_links") or []] + (
            [str(link["vlan_link"])] if link.get("vlan_link") else []
        )
        gone = sorted(set(refs) & removed_ids)
        if gone:
            say.built_on("link", link.get("id"), gone)
    link_of = _unit_of(owners)
    by_id = {str(link.get("id")): link for link in links}
    new_links: list[object] = []
    new_networks: list[object] = []
    for nic in new:
        found = link_of.get(nic.name) if nic.kept else None
        if found is not None:
            link, nets = _os_keep(say, found, by_id[found], networks, nic)
        else:
            lid = _free_name(nic.name, by_id)
            link, nets = {"id": lid, "type": "phy", "ethernet_mac_address": nic.mac}, _os_networks(nic, lid)
            say.added(lid, nic)
        new_links.append(link)
        new_networks.extend(dict(copy.deepcopy(n)) for n in nets)
    other_links = [
        copy.deepcopy(x) for x in links if str(x.get("id")) not in owners or owners[str(x.get("id"))] is None
    ]
    other_networks = [
        copy.deepcopy(n) for n in networks if str(n.get("link")) not in owners or owners.get(str(n.get("link"))) is None
    ]
    data = _with(cfg, {"links": new_links + other_links, "networks": new_networks + other_networks})
    data.setdefault("services", [])
    out.data = data
    return out


def _os_keep(
    say: _Say, lid: str, old_link: Config, networks: Sequence[Config], nic: NewNic
) -> tuple[dict[str, object], Sequence[Config]]:
    """The link of a NIC that stays, matched by the NIC's MAC, and its networks: the ones it had when they are the
    DHCP networks the mode wants, else those."""
    link = dict(copy.deepcopy(old_link))
    link["ethernet_mac_address"] = nic.mac
    mine = [n for n in networks if n.get("link") == lid]
    if any(not str(n.get("type", "")).endswith("dhcp") for n in mine):
        say.static(lid, nic, "had static networks")
    if nic.network_changed and any(n.get("routes") for n in mine):
        say.routes_replaced(lid, nic)
    wanted = _os_networks(nic, lid)
    kept = [n for n in mine if n.get("type") in {w["type"] for w in wanted}]
    nets = kept if len(kept) == len(wanted) else wanted
    if _strip(link) != _strip(old_link) or _strip(nets) != _strip(mine):
        say.matched(lid, nic)
    return link, nets


# --- entry point -------------------------------------------------------------------------------------------------


def rewrite(
    data: Config | None, config_drive: bool, old: Sequence[OldNic], new: Sequence[NewNic], rendered_v2: Config
) -> Rewrite:
    """Rewrite a parsed network config for the new NICs. Raises :class:`NetworkDataError` for a config virtnet
    cannot rewrite."""
    if data is None:
        raise NetworkDataError("it is empty")
    if config_drive:
        return rewrite_openstack(data, old, new)
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
        result.data = _with(data, {"network": result.data})
    return result
