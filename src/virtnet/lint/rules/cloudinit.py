"""Rules about cloud-init volumes: networkData KubeVirt rejects or the guest cannot apply, and credentials in user data.

Facts: KubeVirt's volume admission (``KV@v1.0.1:pkg/virt-api/webhooks/validating-webhook/admitters/
vmi-create-admitter.go validateVolumes``; ``KV@v1.9.0:pkg/virt-api/webhooks/validating-webhook/admitters/
vmi-create-admitter.go``) and how KubeVirt writes the data into the guest (``KV@v1.0.1:pkg/cloud-init/cloud-init.go``:
NoCloud ``networkData`` verbatim to ``network-config``, ConfigDrive ``networkData`` verbatim to
``openstack/latest/network_data.json``). Embedded YAML is read with PyYAML's safe loader, as cloud-init reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from virtnet.formats.yamlio import load_yaml11
from virtnet.lint.context import LintContext, Workload, workload_of
from virtnet.lint.model import LintObject, Path, Severity, Violation
from virtnet.lint.registry import rule
from virtnet.lint.rules.kubevirt import binding_of
from virtnet.model.capabilities import Binding
from virtnet.model.manifest import as_list, as_map

_CACHED_TEXTS = 1024  # parsed cloud-init texts kept per context (VMs often share user data verbatim)

SOURCES = ("cloudInitNoCloud", "cloudInitConfigDrive")
NETWORK_DATA_MAX = 2048  # cloudInitNetworkMaxLen
UG_STARTUP = "UG:docs/user_workloads/startup_scripts.md"
ADMITTER = "KV@v1.9.0:pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go"
# Guest NIC names that depend on where the NIC lands (PCI slot / probe order), not on the NIC itself.
NAME_LIKE = re.compile(r"^(eth\d+|enp\d+s\d+\w*|ens\d+\w*|eno\d+|enP\d+p\d+s\d+\w*)$")
ENO = re.compile(r"^eno(\d+)$")
RANDOM_PASSWORDS = frozenset({"R", "RANDOM"})


def cloud_init_volumes(w: Workload) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """(volume index, ``cloudInitNoCloud``/``cloudInitConfigDrive``, its source) of every cloud-init volume."""
    for i, vol in w.volumes:
        for src in SOURCES:
            if src in vol:
                yield i, src, as_map(vol.get(src))


def decode_base64(text: str) -> bytes | None:
    """Go's ``base64.StdEncoding.DecodeString`` (padding required; CR and LF ignored); None when invalid."""
    try:
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(value: Any, default: str = "?") -> str:
    """A scalar as text; containers (possibly alias-expanded, hostile) are never stringified."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return default


def _mac(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("-", ":")


# --- VN019 -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nic:
    name: str
    mac: str | None
    sriov: bool
    acpi_index: int | None


def _guest_nics(w: Workload) -> list[_Nic]:
    """The NICs the guest will see: every interface but ``state: absent`` ones (KubeVirt adds one when none)."""
    if not w.interfaces and not w.networks:
        devices = as_map(as_map(w.spec.get("domain")).get("devices"))
        return [] if devices.get("autoattachPodInterface") is False else [_Nic("default", None, False, None)]
    out: list[_Nic] = []
    for _, iface in w.interfaces:
        if iface.get("state") == "absent":
            continue
        binding, _key = binding_of(iface)
        acpi = iface.get("acpiIndex")
        out.append(
            _Nic(
                str(iface.get("name")),
                _mac(iface.get("macAddress")),
                binding is Binding.SRIOV,
                acpi if isinstance(acpi, int) and not isinstance(acpi, bool) else None,
            )
        )
    return out


@dataclass(frozen=True)
class _Entry:
    """One ethernet of a network config: what it is called and how the guest matches it."""

    label: str  # the v2 key or v1 name
    device_name: str | None  # the guest device name it matches by (None: matched otherwise)
    mac: str | None
    wildcard: bool  # may match several NICs (glob name, driver-only match)


def _v2_entries(cfg: Mapping[str, Any]) -> list[_Entry] | None:
    ethernets = cfg.get("ethernets")
    if not isinstance(ethernets, Mapping):
        return None
    out: list[_Entry] = []
    for key, value in ethernets.items():
        match = as_map(as_map(value).get("match"))
        mac = _mac(match.get("macaddress"))
        name = match.get("name")
        if not match:
            out.append(_Entry(_text(key), _text(key), None, False))
        elif isinstance(name, str) and name:
            out.append(_Entry(_text(key), None if mac else name, mac, any(c in name for c in "*?[")))
        else:
            out.append(_Entry(_text(key), None, mac, mac is None))
    return out


def _v1_entries(cfg: Mapping[str, Any]) -> list[_Entry] | None:
    config = cfg.get("config")
    if not isinstance(config, list):
        return None
    out: list[_Entry] = []
    for item in config:
        entry = as_map(item)
        if entry.get("type") != "physical":
            continue
        name = _text(entry.get("name"), "")
        mac = _mac(entry.get("mac_address"))
        out.append(_Entry(name, None if mac else name, mac, False))
    return out


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _parsed(text: str, ctx: LintContext) -> tuple[Any, yaml.YAMLError | RecursionError | None]:
    """``text`` read as cloud-init reads it (PyYAML safe loader), once per distinct text and context: the value,
    or None and the error."""
    cache: dict[str, tuple[Any, yaml.YAMLError | RecursionError | None]] = ctx.memo(_parsed, dict)
    hit = cache.get(text)
    if hit is None:
        try:
            hit = (load_yaml11(text), None)
        except (yaml.YAMLError, RecursionError) as err:
            hit = (None, err)
        if len(cache) >= _CACHED_TEXTS:
            cache.clear()
        cache[text] = hit
    return hit


def _check_nocloud(text: str, path: Path, nics: list[_Nic], ctx: LintContext) -> Iterator[Violation]:
    data, error = _parsed(text, ctx)
    if isinstance(error, yaml.MarkedYAMLError):
        err = error
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1} of the networkData" if mark is not None else ""
        yield Violation(
            f"networkData is not valid YAML ({err.problem or err.context}{where}); cloud-init will ignore it",
            path,
            Severity.ERROR,
        )
        return
    if error is not None:
        yield Violation(f"networkData is not valid YAML ({error}); cloud-init will ignore it", path, Severity.ERROR)
        return
    if data is None:
        return
    cfg = as_map(data)
    if isinstance(cfg.get("network"), Mapping):
        cfg = as_map(cfg.get("network"))
    if not cfg:
        yield Violation(
            "networkData is not a cloud-init network config (expected a mapping with 'version: 1' or 'version: 2')",
            path,
            Severity.WARNING,
        )
        return
    if cfg.get("config") == "disabled":
        return
    version = cfg.get("version")
    if version in (2, "2"):
        entries = _v2_entries(cfg)
        what = "ethernet entries"
    elif version in (1, "1"):
        entries = _v1_entries(cfg)
        what = "physical interfaces"
    else:
        said = "no version" if version is None else f"version '{_text(version, type(version).__name__)}'"
        yield Violation(
            f"networkData has {said}; cloud-init network config must say 'version: 1' or 'version: 2'",
            path,
            Severity.WARNING,
        )
        return
    if entries is None:
        return
    yield from _check_entries(entries, what, path, nics)


def _one(what: str) -> str:
    """``ethernet entries`` → ``ethernet entry``, ``physical interfaces`` → ``physical interface``."""
    return what[: -len("ies")] + "y" if what.endswith("ies") else what.removesuffix("s")


def _check_entries(entries: list[_Entry], what: str, path: Path, nics: list[_Nic]) -> Iterator[Violation]:
    plain = [n for n in nics if not n.sriov]
    labels = [e.label for e in entries]
    if not any(e.wildcard for e in entries) and not len(plain) <= len(entries) <= len(nics):
        wanted = f"{len(plain)}" if len(plain) == len(nics) else f"{len(plain)} to {len(nics)}"
        yield Violation(
            f"networkData configures {len(entries)} {_one(what) if len(entries) == 1 else what} ({_names(labels)}) "
            f"but the VM has {len(nics)} "
            f"{'interface' if len(nics) == 1 else 'interfaces'} ({_names([n.name for n in nics])}); expected "
            f"{wanted}, one per NIC",
            path,
            Severity.WARNING,
            fix="Give every non-SR-IOV interface one entry in networkData (and no entry for NICs the VM lacks).",
        )
    fixed = {n.mac for n in nics if n.mac}
    acpi = {n.acpi_index for n in nics if n.acpi_index}
    all_fixed = bool(nics) and all(n.mac for n in nics)
    if len(nics) >= 2:
        for e in entries:
            name = e.device_name
            if name is None or not NAME_LIKE.match(name):
                continue
            eno = ENO.match(name)
            if eno and int(eno.group(1)) in acpi:
                continue  # enoN follows the interface's acpiIndex: stable
            how = (
                f"add match: {{macaddress: …}} with one of the fixed MACs ({', '.join(sorted(fixed))})"
                if all_fixed
                else "set macAddress on each interface and add match: {macaddress: …} to the entry"
            )
            yield Violation(
                f"networkData entry '{e.label}' matches the guest NIC by the name '{name}', which depends on PCI "
                f"placement of the VM's {len(nics)} NICs; match it by MAC instead",
                path,
                Severity.WARNING,
                fix=f"{how[0].upper()}{how[1:]} (kubevirt#16693: NIC order on the PCI bus is not guaranteed).",
            )
    for e in entries:
        if e.mac is None or e.mac in fixed:
            continue
        if all_fixed:
            yield Violation(
                f"networkData entry '{e.label}' matches MAC {e.mac}, which no interface has "
                f"(the interfaces' macAddress values are {', '.join(sorted(fixed))})",
                path,
                Severity.ERROR,
                fix="Use the macAddress of the interface this entry is meant for.",
            )
        else:
            random_nics = [n.name for n in nics if not n.mac]
            yield Violation(
                f"networkData entry '{e.label}' matches MAC {e.mac}, which no interface sets; "
                f"{_names(random_nics)} get a generated MAC at start, so set that MAC as their macAddress",
                path,
                Severity.WARNING,
                fix="Set the matched MAC as macAddress on the interface the entry is meant for.",
            )


@rule(
    code="VN019",
    slug="cloudinit-network-mismatch",
    severity=Severity.ERROR,
    summary="cloud-init networkData KubeVirt rejects (several sources, over 2048 bytes, bad base64) or the guest "
    "cannot apply (unparseable, ethernets that do not match the VM's NICs)",
    why="KubeVirt rejects the VM: '… must have only one networkdata source set.', '… networkdata exceeds 2048 byte "
    "limit. Should use NetworkDataSecretRef for larger data.', '… networkDataBase64 is not a valid base64 value.'. "
    "KubeVirt writes networkData verbatim (it never generates it): unparseable YAML/JSON is ignored by cloud-init, "
    "and entries keyed by guest names like enp1s0/eth1 break when the NICs land on other PCI slots (kubevirt#16693).",
    fix="Keep one networkData source, move data over 2048 bytes into a Secret (networkDataSecretRef), give each NIC "
    "one entry and match it by MAC (set macAddress on the interface, match: {macaddress: …} in the entry). "
    "ConfigDrive networkData is OpenStack network_data.json.",
    references=(ADMITTER, "KV@v1.0.1:pkg/cloud-init/cloud-init.go", UG_STARTUP, "kubevirt/kubevirt#16693",
                "kubevirt/kubevirt#6351"),
)  # fmt: skip
def cloudinit_network_mismatch(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        nics: list[_Nic] | None = None
        without_network_data: list[tuple[int, str]] = []  # cloud-init volumes that set no networkData at all
        for i, src, ci in cloud_init_volumes(w):
            present = [k for k in ("networkData", "networkDataBase64") if isinstance(ci.get(k), str) and ci.get(k)]
            if as_map(ci.get("networkDataSecretRef")).get("name"):
                present.append("networkDataSecretRef")
            if not present:
                without_network_data.append((i, src))
            if len(present) > 1:
                yield Violation(
                    f"{src} sets {' and '.join(present)}, but it must have only one networkdata source set; "
                    f"keep one of them",
                    w.volume_path(i, src, present[1]),
                )
            for key in ("networkData", "networkDataBase64"):
                if key not in present:
                    continue
                raw = str(ci.get(key))
                path = w.volume_path(i, src, key)
                data = decode_base64(raw) if key == "networkDataBase64" else raw.encode()
                if data is None:
                    yield Violation(f"{src}.networkDataBase64 is not a valid base64 value", path)
                    continue
                if len(data) > NETWORK_DATA_MAX:
                    yield Violation(
                        f"{src} {key} is {len(data)} bytes, over KubeVirt's {NETWORK_DATA_MAX}-byte networkdata "
                        "limit; put it in a Secret referenced by networkDataSecretRef",
                        path,
                    )
                text = data.decode("utf-8", "replace")
                if src == "cloudInitConfigDrive":
                    try:
                        json.loads(text)
                    except (ValueError, RecursionError) as err:
                        yield Violation(
                            f"cloudInitConfigDrive {key} is not JSON ({err.args[0] if err.args else err}); ConfigDrive "
                            "networkData must be OpenStack network_data.json",
                            path,
                            fix="Write OpenStack network_data.json (links/networks/services), or use cloudInitNoCloud "
                            "for cloud-init network config v1/v2 YAML.",
                        )
                    continue
                if nics is None:
                    nics = _guest_nics(w)
                yield from _check_nocloud(text, path, nics, ctx)
        if without_network_data and len(without_network_data) == sum(1 for _ in cloud_init_volumes(w)):
            yield from _missing_network_data(w, *without_network_data[0])


def _missing_network_data(w: Workload, i: int, src: str) -> Iterator[Violation]:
    """Several NICs, one of them bridged onto a Multus network, and no networkData: cloud-init's fallback
    configuration brings up the first NIC only (issue 9), so the bridged NIC stays unconfigured in the guest."""
    nics = [n for n in _guest_nics(w) if not n.sriov]
    if len(nics) < 2:
        return
    multus = {str(net.get("name")) for _, net in w.networks if "multus" in net}
    bridged = [
        str(iface.get("name"))
        for _, iface in w.interfaces
        if binding_of(iface)[0] is Binding.BRIDGE
        and str(iface.get("name")) in multus
        and iface.get("state") != "absent"
    ]
    if not bridged:
        return
    yield Violation(
        f"the VM has {len(nics)} NICs ({_names([n.name for n in nics])}) but {src} sets no networkData; cloud-init "
        f"then configures only the first NIC, so the bridged {_names(bridged)} stays down in the guest",
        w.volume_path(i, src),
        Severity.WARNING,
        fix="Add networkData (cloud-init network config v2) with one entry per NIC, matched by MAC (set macAddress on "
        "each interface); `virtnet new vm` renders it.",
    )


# --- VN020 -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Secret:
    where: str  # the cloud-config key, e.g. ``chpasswd.list``
    user: str
    hashed: bool


def _is_hash(value: str) -> bool:
    return value.startswith("$")


def _cloud_config(text: str, ctx: LintContext) -> Mapping[str, Any] | None:
    """The parsed ``#cloud-config`` document, or None for scripts, MIME archives and unparseable text."""
    lines = text.lstrip().splitlines()
    if lines and lines[0].strip().lower().startswith("## template:"):
        lines = lines[1:]
    if (
        not lines
        or not lines[0].strip().startswith("#cloud-config")
        or lines[0].strip().startswith("#cloud-config-archive")
    ):
        return None
    data, error = _parsed(text, ctx)
    return data if error is None and isinstance(data, Mapping) else None


def _scalar(value: Any) -> str | None:
    return _text(value, "") or None


def _secrets(cfg: Mapping[str, Any]) -> list[_Secret]:
    out: list[_Secret] = []
    password = _scalar(cfg.get("password"))
    if password is not None and password not in RANDOM_PASSWORDS:
        out.append(_Secret("password", "the default user", False))
    chpasswd = as_map(cfg.get("chpasswd"))
    entries = chpasswd.get("list")
    items = entries.splitlines() if isinstance(entries, str) else [_text(x, "") for x in as_list(entries)]
    for item in items:
        user, sep, secret = item.strip().partition(":")
        if not sep or not secret or secret in RANDOM_PASSWORDS:
            continue
        out.append(_Secret("chpasswd.list", user, _is_hash(secret)))
    for entry in as_list(chpasswd.get("users")):
        e = as_map(entry)
        given = _scalar(e.get("password"))
        kind = _text(e.get("type"), "hash")
        if given is None or kind == "RANDOM" or given in RANDOM_PASSWORDS:
            continue
        out.append(_Secret("chpasswd.users", _text(e.get("name")), kind != "text" and _is_hash(given)))
    for entry in as_list(cfg.get("users")):
        e = as_map(entry)
        user = _text(e.get("name"))
        if _scalar(e.get("plain_text_passwd")) is not None:
            out.append(_Secret("users[].plain_text_passwd", user, False))
        passwd = _scalar(e.get("passwd"))
        if passwd is not None:
            out.append(_Secret("users[].passwd", user, _is_hash(passwd)))
        if _scalar(e.get("hashed_passwd")) is not None:
            out.append(_Secret("users[].hashed_passwd", user, True))
    return out


PERMIT_ROOT = re.compile(r"PermitRootLogin\s+yes", re.IGNORECASE)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "on"))


def _falsy(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no", "off"))


def _root_login(cfg: Mapping[str, Any]) -> str | None:
    """How the cloud-config allows root to log in over SSH, or None."""
    if _falsy(cfg.get("disable_root")):
        return "disable_root: false"
    for key in ("runcmd", "bootcmd"):
        for cmd in as_list(cfg.get(key)):
            text = " ".join(_text(x, "") for x in cmd) if isinstance(cmd, list) else _text(cmd, "")
            if PERMIT_ROOT.search(text):
                return f"{key} sets PermitRootLogin yes"
    for item in as_list(cfg.get("write_files")):
        if PERMIT_ROOT.search(_text(as_map(item).get("content"), "")):
            return "write_files sets PermitRootLogin yes"
    return None


def _user_data(ci: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    text = ci.get("userData")
    if isinstance(text, str) and text:
        yield "userData", text
    encoded = ci.get("userDataBase64")
    if isinstance(encoded, str) and encoded:
        data = decode_base64(encoded)
        if data is not None:
            yield "userDataBase64", data.decode("utf-8", "replace")


def _describe(secrets: list[_Secret]) -> str:
    seen: dict[str, None] = {}
    for s in secrets:
        seen.setdefault(f"{s.where} for {s.user}", None)
    return ", ".join(seen)


@rule(
    code="VN020",
    slug="plaintext-credentials",
    severity=Severity.WARNING,
    summary="passwords in inline cloud-init user data; an error when SSH password login for root is enabled too",
    why="Inline userData/userDataBase64 is part of the VM object: everyone who can read VMs (and every backup or Git "
    "copy of the manifest) reads the password. With ssh_pwauth: true and root login allowed (disable_root: false or "
    "PermitRootLogin yes), that password opens root SSH on an address that, with SpiderPool underlay NICs, is "
    "usually reachable from outside the cluster. Hashes are safer but can be cracked offline.",
    fix="Put user data in a Secret (cloudInitNoCloud.secretRef), log in with ssh_authorized_keys, keep ssh_pwauth "
    "false and disable_root true.",
    references=(UG_STARTUP, "cloud-init docs: modules cc_set_passwords (chpasswd, ssh_pwauth), cc_users_groups",
                "KV@v1.0.1:pkg/cloud-init/cloud-init.go"),
)  # fmt: skip
def plaintext_credentials(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    for w in workload_of(obj, ctx):
        for i, src, ci in cloud_init_volumes(w):
            for key, text in _user_data(ci):
                cfg = _cloud_config(text, ctx)
                if cfg is None:
                    continue
                path = w.volume_path(i, src, key)
                secrets = _secrets(cfg)
                plain = [s for s in secrets if not s.hashed]
                root = _root_login(cfg)
                if plain and root and _truthy(cfg.get("ssh_pwauth")):
                    yield Violation(
                        f"{key} enables SSH password login (ssh_pwauth: true) with root login allowed ({root}) and "
                        f"a plaintext password in the manifest ({_describe(plain)}); use SSH keys and keep "
                        "ssh_pwauth false",
                        path,
                        Severity.ERROR,
                    )
                    continue
                if plain:
                    yield Violation(
                        f"{key} holds a plaintext password ({_describe(plain)}); move user data to a Secret "
                        "(cloudInitNoCloud.secretRef) or use SSH keys",
                        path,
                    )
                hashed = [s for s in secrets if s.hashed]
                if hashed:
                    yield Violation(
                        f"{key} holds a password hash ({_describe(hashed)}) readable by anyone who can read the VM; "
                        "prefer cloudInitNoCloud.secretRef",
                        path,
                        Severity.INFO,
                    )
