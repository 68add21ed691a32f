"""cloud-init user data and network data (v2), matched to NICs by MAC."""

from __future__ import annotations

from typing import Any

import yaml

from virtnet.model.capabilities import Binding
from virtnet.model.intent import CloudInitIntent
from virtnet.render.plan import NicPlan

# KubeVirt rejects inline networkData over 2048 bytes ("networkdata exceeds 2048 byte limit. Should use
# NetworkDataSecretRef for larger data", KV@v1.0.1 admitters); larger data goes to the Secret.
INLINE_NETWORK_DATA_LIMIT = 2048


def _dump(data: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
    return text


def user_data(ci: CloudInitIntent) -> str:
    """#cloud-config with SSH keys; a password only when the user gave one. Root login stays disabled."""
    config: dict[str, Any] = {"ssh_pwauth": False, "disable_root": True}
    if ci.user:
        user: dict[str, Any] = {
            "name": ci.user,
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "shell": "/bin/bash",
            "lock_passwd": not ci.has_password,
        }
        if ci.ssh_authorized_keys:
            user["ssh_authorized_keys"] = list(ci.ssh_authorized_keys)
        if ci.password is not None:
            user["plain_text_passwd"] = ci.password
        config["users"] = ["default", user]
    else:
        if ci.ssh_authorized_keys:
            config["ssh_authorized_keys"] = list(ci.ssh_authorized_keys)
        if ci.password is not None:
            # the image's default user (centos, fedora, ubuntu…), console login; never root
            config["password"] = ci.password
            config["chpasswd"] = {"expire": False}
    return "#cloud-config\n" + _dump(config)


def network_data(nics: tuple[NicPlan, ...]) -> str:
    """netplan-style v2 config: one entry per NIC, matched by its fixed MAC, so guest NIC names don't matter.

    DHCP is what each binding offers: masquerade and passt serve DHCPv4 (and DHCPv6 for IPv6), bridge gets
    KubeVirt's DHCPv4 only (KV@v1.9.0:pkg/network/dhcp/bridge.go), so IPv6 on bridge NICs is left to the guest.
    """
    ethernets: dict[str, Any] = {}
    for nic in nics:
        entry: dict[str, Any] = {"match": {"macaddress": nic.mac}, "dhcp4": True}
        if 6 in nic.families and nic.binding is not Binding.BRIDGE:
            entry["dhcp6"] = True
        if not nic.primary:
            # one default route, through the first NIC; the others only carry their own subnet
            entry["dhcp4-overrides"] = {"use-routes": False}
        ethernets[nic.name] = entry
    return _dump({"version": 2, "ethernets": ethernets})
