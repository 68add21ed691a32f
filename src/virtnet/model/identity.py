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
_HEX = frozenset("0123456789abcdefABCDEF")

# Linux interface names (dev_valid_name in net/core/dev.c): not empty, shorter than IFNAMSIZ (16, so at most 15
# bytes), not "." or "..", and no '/', ':' or whitespace. The kernel allows any other byte; virtnet also refuses
# what no udev/ip name uses and what cannot become part of a Kubernetes name (a SpiderMultusConfig is named after
# the interface): anything but letters, digits, '.', '-' and '_'.
IFNAMSIZ = 16
_LINUX_NAME_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")
# Kubernetes label keys and values (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue).
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")


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


# --- MAC addresses -------------------------------------------------------------------------------------------------


def parse_mac(text: str) -> bytes | None:
    """Go's ``net.ParseMAC`` (which KubeVirt uses): 6, 8 or 20 bytes as ``aa:bb:…``, ``aa-bb-…`` or
    ``aabb.ccdd.…``; None if malformed."""
    if len(text) < 14:
        return None
    if text[2] in ":-":
        parts = text.split(text[2])
        if (len(text) + 1) % 3 or len(parts) not in (6, 8, 20):
            return None
        if any(len(p) != 2 or not set(p) <= _HEX for p in parts):
            return None
        return bytes(int(p, 16) for p in parts)
    if text[4] == ".":
        parts = text.split(".")
        if (len(text) + 1) % 5 or 2 * len(parts) not in (6, 8, 20):
            return None
        if any(len(p) != 4 or not set(p) <= _HEX for p in parts):
            return None
        return bytes.fromhex("".join(parts))
    return None


def mac_problem(mac: str, *, masquerade: bool = False) -> str | None:
    """Why KubeVirt or libvirt would refuse ``mac`` on an interface, as the rest of a sentence that starts with the
    interface (``interface 'x' <problem>``); None if it is fine. ``masquerade``: the interface binds masquerade,
    whose in-pod bridge owns 02:00:00:00:00:00.

    One function for both sides: ``virtnet lint`` (rule VN023) and the intent checks of ``virtnet new vm`` /
    ``virtnet render``, so what virtnet renders always passes its own lint.
    """
    parsed = parse_mac(mac)
    if parsed is None:
        return f"has malformed MAC address '{mac}'; write six hex bytes like 02:6e:7e:00:00:01"
    if len(parsed) > 6:
        return f"has MAC address '{mac}' that is too long ({len(parsed)} bytes); a NIC MAC has 6 bytes"
    if parsed[0] & 1:
        return (
            f"has multicast MAC address '{mac}' (lowest bit of the first byte set), which libvirt rejects; use a "
            "unicast, locally administered MAC such as 02:…"
        )
    if masquerade and ":".join(f"{b:02x}" for b in parsed) in RESERVED_MACS:
        return f"uses MAC {mac}, which is reserved for the in-pod bridge of masquerade; choose another one"
    return None


# --- Linux interface names and Kubernetes labels -------------------------------------------------------------------


def interface_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a node's network interface (a macvlan master, an OVS bridge); None if it can.

    The kernel's rule is ``dev_valid_name`` in net/core/dev.c (at most IFNAMSIZ - 1 = 15 bytes, not '.' or '..',
    no '/', ':' or whitespace); see the comment on :data:`IFNAMSIZ` for the characters virtnet refuses on top.
    """
    if not name:
        return "is empty; give the interface name, e.g. ens192"
    for char in name:
        if char.isspace():
            return (
                f"'{name}' contains a space, which no Linux interface name can; separate --nic keys with ',' "
                "(master=ens192,subnet=…)"
            )
        if char in "/:":
            return f"'{name}' contains '{char}', which no Linux interface name can (net/core/dev.c dev_valid_name)"
    size = len(name.encode())
    if size >= IFNAMSIZ:
        return f"'{name}' is {size} bytes; Linux interface names are at most {IFNAMSIZ - 1} (IFNAMSIZ {IFNAMSIZ})"
    if name in (".", ".."):
        return f"'{name}' is not a valid Linux interface name"
    if not _LINUX_NAME_CHARS.match(name):
        bad = next(c for c in name if not _LINUX_NAME_CHARS.match(c))
        return (
            f"'{name}' contains '{bad}'; virtnet takes interface names of letters, digits, '.', '-' and '_' "
            "(the names udev and ip give NICs)"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a Kubernetes label key (optional DNS-subdomain prefix + '/' + a name of at most 63)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not is_dns1123_subdomain(prefix)):
        return f"'{key}' has an invalid prefix '{prefix}': use a lower-case DNS name such as kubernetes.io"
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"'{key}' is not a label key: at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
            "letter or digit (optionally after a DNS prefix and '/')"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a Kubernetes label value (empty, or at most 63 characters like a label name)."""
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        return (
            f"'{value}' is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with "
            "a letter or digit"
        )
    return None
