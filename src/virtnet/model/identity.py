"""Names and addresses derived deterministically from an object's identity."""

from __future__ import annotations

import hashlib
import re

# KubeVirt reserves this MAC for the in-pod bridge of masquerade (KV@v1.0.1:pkg/network/link/reserved_macs.go).
RESERVED_MACS = frozenset({"02:00:00:00:00:00"})

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# KubeVirt: "Network interface name can only contain alphabetical characters, numbers, dashes (-) or
# underscores (_)" (KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go)
_IFACE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def mac_address(namespace: str, vm: str, nic: str) -> str:
    """A stable, locally administered unicast MAC for NIC ``nic`` of VM ``namespace/vm``.

    The first octet has the locally-administered bit set and the multicast bit cleared (``x2``, ``x6``, ``xa``,
    ``xe``), so it never collides with a vendor OUI; the rest is sha256 of ``namespace/vm/nic``. Recreating the
    VM gives the same MAC, so cloud-init can match NICs by MAC on every boot.
    """
    digest = bytearray(hashlib.sha256(f"{namespace}/{vm}/{nic}".encode()).digest()[:6])
    digest[0] = (digest[0] & 0b1111_1100) | 0b0000_0010
    mac = ":".join(f"{b:02x}" for b in digest)
    if mac in RESERVED_MACS:  # pragma: no cover - one chance in 2**46
        digest[5] ^= 0x01
        mac = ":".join(f"{b:02x}" for b in digest)
    return mac


def is_dns1123_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1123_LABEL.match(name) is not None


def is_dns1123_subdomain(name: str) -> bool:
    return len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name) is not None


def is_interface_name(name: str) -> bool:
    return _IFACE_NAME.match(name) is not None


def split_ref(ref: str, default_namespace: str) -> tuple[str, str]:
    """Split a Multus ``networkName`` the way KubeVirt does: on the first ``/``; no namespace = the default."""
    if "/" in ref:
        namespace, _, name = ref.partition("/")
        return namespace, name
    return default_namespace, ref
