"""The flags that describe an intent (``virtnet new vm``, ``virtnet set network``): the options both commands take,
handed over as typed values (:func:`collect`, :class:`TargetFlags`); ``--nic KEY=VALUE,…`` parsed into intent-document
NICs; and errors about the intent they build worded as the flags (``--nic #2 gateway``, ``--ippool-interfaces
named``) instead of intent fields."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from virtnet.errors import InputError, Location
from virtnet.formats.intent import NicDocument, PoolDocument
from virtnet.formats.intentdoc import FLAGS_SOURCE, IntentValues
from virtnet.model.modes import Cni, Mode, default_cni

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

NIC_KEYS = {
    "name": "KubeVirt interface/network name",
    "master": "macvlan/ipvlan parent interface on the node, e.g. ens192 (at most 15 bytes)",
    "bridge": "OVS bridge on the node, e.g. br1 (bridge mode, or an OVS NIC after a masquerade/passt one)",
    "vlan": "VLAN ID (0-4094, 0 = untagged)",
    "subnet": "subnet of a new SpiderIPPool, e.g. 10.7.0.0/16",
    "gateway": "gateway of the new pool, e.g. 10.7.0.1",
    "ips": "addresses of the new pool, 'a' or 'a-b' (repeat the key for several)",
    "exclude": "addresses to leave out of the new pool (repeatable)",
    "pool": "name of the new pool, or of an existing SpiderIPPool when no subnet is given",
    "pool6": "name of an existing IPv6 SpiderIPPool",
    "network": "existing NetworkAttachmentDefinition to use, namespace/name",
    "multus-config": "name of the SpiderMultusConfig to render",
    "mac": "MAC address (default: derived from namespace/VM/NIC)",
}
_REPEATABLE = {"ips", "exclude"}
MODES = [m.value for m in Mode]  # the --mode choices
CNIS = [c.value for c in Cni]  # the --cni choices


F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D", bound="DataclassInstance")


def collect(cls: type[D], name: str) -> Callable[[F], F]:
    """Hand the options named like the fields of the dataclass ``cls`` to the command as one ``cls`` value, its
    argument ``name`` (click passes every option as a keyword argument). Put it right above the function."""
    names = [f.name for f in dataclasses.fields(cls)]

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **options: Any) -> Any:
            options[name] = cls(**{n: options.pop(n) for n in names})
            return func(*args, **options)

        return cast(F, command)

    return decorate


@dataclass(frozen=True)
class TargetFlags:
    """The target network as `new vm` and `set network` take it (:func:`mode_options`, :func:`rendering_options`
    and the namespace options; the ``--nic`` values not yet parsed)."""

    mode: str
    cni: str | None
    nics: tuple[str, ...]
    passt: str | None
    ippool_interfaces: str | None
    no_coordinator: bool
    without_spiderpool: bool
    spiderpool_namespace: str | None
    kubevirt_namespace: str | None

    def values(self, name: str, namespace: str | None, nics: Sequence[NicDocument]) -> IntentValues:
        """The intent these flags describe for VM ``name`` (``nics``: the parsed ``--nic`` values)."""
        return IntentValues(
            name=name,
            namespace=namespace,
            mode=self.mode,
            cni=self.cni,
            nics=tuple(nics),
            passt=self.passt,
            ippool_interfaces=self.ippool_interfaces,
            coordinator=not self.no_coordinator,
            spiderpool_namespace=self.spiderpool_namespace,
            spiderpool_installed=not self.without_spiderpool,
            kubevirt_namespace=self.kubevirt_namespace,
        )


def mode_options(nic_help: str) -> Callable[[F], F]:
    """``--mode``, ``--cni`` and ``--nic``: the network a VM is rendered for."""

    def decorate(func: F) -> F:
        func = click.option("--nic", "nics", multiple=True, metavar="KEY=VALUE,…", help=nic_help)(func)
        func = click.option(
            "--cni",
            type=click.Choice(CNIS),
            help=f"CNI behind the mode (default: {', '.join(f'{default_cni(m).value} for {m.value}' for m in Mode)}).",
        )(func)
        return click.option("--mode", required=True, type=click.Choice(MODES), help="Network mode.")(func)

    return decorate


def rendering_options(func: F) -> F:
    """``--passt``, ``--ippool-interfaces``, ``--no-coordinator``, ``--without-spiderpool``: how the mode's
    objects are rendered."""
    for option in reversed(  # the option applied last is listed first
        (
            click.option(
                "--passt", type=click.Choice(["auto", "core", "plugin", "passtBinding"]), help="passt flavour."
            ),
            click.option("--ippool-interfaces", type=click.Choice(["named", "ordered"]), help="ippools entry style."),
            click.option(
                "--no-coordinator", is_flag=True, help="Render SpiderMultusConfigs with enableCoordinator: false."
            ),
            click.option("--without-spiderpool", is_flag=True, help="masquerade: the cluster has no SpiderPool."),
        )
    ):
        func = option(func)
    return func


def parse_nics(texts: Sequence[str]) -> list[NicDocument]:
    """Every ``--nic`` value, in order."""
    return [parse_nic(text, i) for i, text in enumerate(texts)]


def parse_nic(text: str, index: int) -> NicDocument:
    """``master=ens192,subnet=10.7.0.0/16,…`` → an intent NIC mapping. ``index`` is 0-based."""
    flag = f"--nic #{index + 1}"
    values: dict[str, list[str]] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise InputError(f"'{part}' is not KEY=VALUE", Location(path=flag))
        if key not in NIC_KEYS:
            raise InputError(f"unknown key '{key}'; known keys: {', '.join(NIC_KEYS)}", Location(path=flag))
        if key in values and key not in _REPEATABLE:
            raise InputError(f"key '{key}' is given twice", Location(path=flag))
        values.setdefault(key, []).append(value)
    one = {k: v[0] for k, v in values.items()}
    nic = cast(NicDocument, {key: one[key] for key in ("name", "master", "bridge", "network", "mac") if key in one})
    if "multus-config" in one:
        nic["multusConfig"] = one["multus-config"]
    if "vlan" in one:
        try:
            nic["vlan"] = int(one["vlan"])
        except ValueError:
            raise InputError(f"vlan '{one['vlan']}' is not a number", Location(path=f"{flag} vlan")) from None
    pools = _pools(one, values, flag)
    if pools:
        nic["pools"] = pools
    return nic


def _pools(one: dict[str, str], values: dict[str, list[str]], flag: str) -> list[PoolDocument]:
    """The NIC's pools: a new one (``subnet=`` and its keys) or an existing one (``pool=``), and ``pool6=``."""
    pools: list[PoolDocument] = []
    if "subnet" in one:
        pool = PoolDocument(subnet=one["subnet"])
        if "pool" in one:
            pool = PoolDocument(name=one["pool"], subnet=one["subnet"])
        if "gateway" in one:
            pool["gateway"] = one["gateway"]
        if "ips" in values:
            pool["ips"] = values["ips"]
        if "exclude" in values:
            pool["excludeIPs"] = values["exclude"]
        pools.append(pool)
    else:
        for key in ("gateway", "ips", "exclude"):
            if key in values:
                raise InputError(f"'{key}' describes a new pool and needs subnet=", Location(path=f"{flag} {key}"))
        if "pool" in one:
            pools.append(PoolDocument(name=one["pool"]))
    if "pool6" in one:
        pools.append(PoolDocument(name=one["pool6"], ipVersion=6))
    return pools


def pool_keys(nic: NicDocument) -> list[str]:
    """The --nic key that names each of the NIC's pools (``pool`` or ``pool6``), by pool index."""
    return ["pool6" if p.get("ipVersion") == 6 and "subnet" not in p else "pool" for p in nic.get("pools", [])]


# --- errors worded as flags --------------------------------------------------------------------------------------

_FLAG_FOR_FIELD = [
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools$"), "--nic #{n}"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools\[\d+\]\.excludeIPs.*"), "--nic #{n} exclude"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools\[\d+\]\.(\w+).*"), "--nic #{n} {key}"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.multusConfig"), "--nic #{n} multus-config"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.(\w+)"), "--nic #{n} {key}"),
    (re.compile(r"^spec\.nics\[(\d+)\]$"), "--nic #{n}"),
    (re.compile(r"^spec\.nics$"), "--nic"),
    (re.compile(r"^metadata\.name$"), "NAME"),
    (re.compile(r"^metadata\.namespace$"), "--namespace"),
    (re.compile(r"^spec\.kubevirt\.namespace$"), "--kubevirt-namespace"),
    (re.compile(r"^spec\.spiderpool\.namespace$"), "--spiderpool-namespace"),
    (re.compile(r"^spec\.versions\.kubevirt"), "--kubevirt-version"),
    (re.compile(r"^spec\.versions\.spiderpool"), "--spiderpool-version"),
    (re.compile(r"^spec\.vm\.disk\.size"), "--disk-size"),
    (re.compile(r"^spec\.vm\.disk\.storageClass"), "--storage-class"),
    (re.compile(r"^spec\.vm\.disk\.accessMode"), "--access-mode"),
    (re.compile(r"^spec\.vm\.evictionStrategy"), "--eviction-strategy"),
    (re.compile(r"^spec\.vm\.disk\.type"), "--disk"),
    (re.compile(r"^spec\.vm\.nodeSelector"), "--node-selector"),
    (re.compile(r"^spec\.spiderpool\.installed"), "--without-spiderpool"),
    (re.compile(r"^spec\.vm\.(\w+)"), "--{key}"),
    (re.compile(r"^spec\.cloudInit\.user"), "--user"),
    (re.compile(r"^spec\.options\.passt"), "--passt"),
    (re.compile(r"^spec\.options\.ippoolInterfaces"), "--ippool-interfaces"),
    (re.compile(r"^spec\.(mode|cni)"), "--{key}"),
]

# Advice in intent-file words (what `virtnet render` users edit) → the flag that does the same.
_FLAG_WORDS = [
    (re.compile(r"\bippoolInterfaces: (\w+)"), r"--ippool-interfaces \1"),
    (re.compile(r"\bvm\.disk\.accessMode: (\w+)"), r"--access-mode \1"),
    (re.compile(r"\bevictionStrategy (\w+)"), r"--eviction-strategy \1"),
    (re.compile(r"\btype: containerDisk\b"), "--disk containerdisk"),
    (re.compile(r"\btype: dataVolume\b"), "--disk datavolume"),
    (re.compile(r"\bspiderpool\.installed: false\b"), "--without-spiderpool"),
    (re.compile(r"'excludeIPs'|\bexcludeIPs\b"), "exclude="),
    (re.compile(r"'multusConfig'|\bmultusConfig\b"), "multus-config="),
    (re.compile(r"'pools'"), "the pool keys (subnet=, pool=, …)"),
    (re.compile(r"\bfrom ips\b"), "from ips="),
    (re.compile(r"\buse mode (\w+)"), r"use --mode \1"),
]

_POOL_NAME = re.compile(r"^spec\.nics\[(\d+)\]\.pools\[(\d+)\]\.name$")


def flag_words(message: str) -> str:
    """An error message about a flag-built intent, with its advice in flags instead of intent fields."""
    for pattern, replacement in _FLAG_WORDS:
        message = pattern.sub(replacement, message)
    return message


def flag_error(err: InputError, nics: Sequence[NicDocument]) -> InputError:
    """An error about the intent the flags built (``nics``: the parsed ``--nic`` values), naming the flag instead of
    the intent field and giving flag advice. An error about a file the flags read (``--ssh-key``, a VM file) is
    returned as it is: it names the file already."""
    if err.location.file not in (None, FLAGS_SOURCE):
        return err
    path = err.location.path or ""
    message = flag_words(err.message)
    pool = _POOL_NAME.match(path)
    if pool:
        n, j = int(pool.group(1)), int(pool.group(2))
        keys = pool_keys(nics[n]) if n < len(nics) else []
        return InputError(message, Location(path=f"--nic #{n + 1} {keys[j] if j < len(keys) else 'pool'}"))
    for pattern, template in _FLAG_FOR_FIELD:
        match = pattern.match(path)
        if match:
            groups = match.groups()
            n = int(groups[0]) + 1 if groups and groups[0].isdigit() else 0
            key = groups[-1] if groups and not groups[-1].isdigit() else ""
            if key == "cpu":
                key = "cpu-cores"
            return InputError(message, Location(path=template.format(n=n, key=key)))
    return InputError(message, Location(path=path or None))
