"""`virtnet modes`, `virtnet new vm`, `virtnet render`, `virtnet schema`: the rendering verbs."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from virtnet.cli.app import CONTEXT, cli, read_text, version_options, versions_from_flags
from virtnet.cli.output import check_out_dir, emit_objects, note, warn
from virtnet.errors import InputError, Location
from virtnet.formats.intent import INTENT_SCHEMA, intent_document, intent_from_document
from virtnet.formats.yamlio import Document, dump_json, dump_yaml, load_documents
from virtnet.model.modes import MODE_CNIS, Cni, Mode
from virtnet.render import Bundle, render_bundle

MODES = [m.value for m in Mode]
CNIS = [c.value for m in Mode for c in MODE_CNIS[m]]

# --- modes -----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@version_options
@click.option("--mode", "mode_name", type=click.Choice(MODES), help="Only this mode.")
@click.option("--cni", "cni_name", type=click.Choice(CNIS), help="Only this CNI.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def modes(
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    mode_name: str | None,
    cni_name: str | None,
    output: str,
) -> None:
    """Show the network-mode matrix: binding and CNI → VM IP, fixed IP, live migration, multi-NIC, secondary OVS
    NICs, requirements.

    Live migration is shown twice because KubeVirt and SpiderPool disagree: KubeVirt decides from the
    pod-network interface only, SpiderPool's KubeVirt guide (cited for the target SpiderPool release) calls it
    unavailable for its underlay modes. +OVS NICS says whether OVS networks bound with bridge may follow the
    primary NIC (`virtnet new vm --mode passt --nic master=… --nic bridge=…`).

    \b
    Examples:
      virtnet modes
      virtnet modes --kubevirt-version v1.0.1 --spiderpool-version v0.8.0
      virtnet modes --mode passt --cni macvlan --kubevirt-version v1.5.0
      virtnet modes -o json | jq '.modes[] | select(.fixedIP)'
    """
    from virtnet.cli.tables import modes_text
    from virtnet.model.modes import Mode, mode_matrix, parse_cni

    versions = versions_from_flags(kubevirt_version, spiderpool_version)
    mode = Mode(mode_name) if mode_name else None
    cni = None
    if cni_name:
        try:
            cni = parse_cni(cni_name, mode) if mode else Cni(cni_name)
        except InputError as err:
            raise InputError(err.message, Location(path="--cni")) from None
    matrix = mode_matrix(versions, mode, cni)
    if output == "json":
        click.echo(
            dump_json(
                {
                    "kubevirtVersion": str(versions.kubevirt),
                    "spiderpoolVersion": str(versions.spiderpool),
                    "modes": [m.to_dict() for m in matrix],
                }
            ),
            nl=False,
        )
    else:
        click.echo(modes_text(versions, matrix), nl=False)


# --- new vm ----------------------------------------------------------------------------------------------------

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
FLAGS_SOURCE = "<flags>"
OUT_DIR_HELP = (
    "Write one file per object into DIR instead of stdout (the KubeVirt CR patch into DIR/patches/). DIR must be new, "
    "empty or hold only the bundle virtnet wrote there before, which is replaced."
)
INCLUDE_PATCH_HELP = (
    "Print the KubeVirt CR change (a merge patch, partial object) on stdout too: for `virtnet apply -f -`, never for "
    "`kubectl apply`."
)


def parse_nic(text: str, index: int) -> dict[str, Any]:
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
    nic: dict[str, Any] = {}
    for key in ("name", "master", "bridge", "network", "mac"):
        if key in one:
            nic[key] = one[key]
    if "multus-config" in one:
        nic["multusConfig"] = one["multus-config"]
    if "vlan" in one:
        try:
            nic["vlan"] = int(one["vlan"])
        except ValueError:
            raise InputError(f"vlan '{one['vlan']}' is not a number", Location(path=f"{flag} vlan")) from None
    pools: list[dict[str, Any]] = []
    if "subnet" in one:
        pool: dict[str, Any] = {"subnet": one["subnet"]}
        if "pool" in one:
            pool = {"name": one["pool"], **pool}
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
            pools.append({"name": one["pool"]})
    if "pool6" in one:
        pools.append({"name": one["pool6"], "ipVersion": 6})
    if pools:
        nic["pools"] = pools
    return nic


def pool_keys(nic: dict[str, Any]) -> list[str]:
    """The --nic key that names each of the NIC's pools (``pool`` or ``pool6``), by pool index."""
    return ["pool6" if p.get("ipVersion") == 6 and "subnet" not in p else "pool" for p in nic.get("pools", [])]


_FLAG_FOR_FIELD = [
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools$"), "--nic #{n}"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools\[\d+\]\.excludeIPs.*"), "--nic #{n} exclude"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.pools\[\d+\]\.(\w+).*"), "--nic #{n} {key}"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.multusConfig"), "--nic #{n} multus-config"),
    (re.compile(r"^spec\.nics\[(\d+)\]\.(\w+)"), "--nic #{n} {key}"),
    (re.compile(r"^spec\.nics\[(\d+)\]$"), "--nic #{n}"),
    (re.compile(r"^spec\.nics$"), "--nic"),
    (re.compile(r"^metadata\.name"), "NAME"),
    (re.compile(r"^metadata\.namespace"), "--namespace"),
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


def flag_words(message: str) -> str:
    """An error message about a flag-built intent, with its advice in flags instead of intent fields."""
    for pattern, replacement in _FLAG_WORDS:
        message = pattern.sub(replacement, message)
    return message


_POOL_NAME = re.compile(r"^spec\.nics\[(\d+)\]\.pools\[(\d+)\]\.name$")


def _flag_location(err: InputError, keys: list[list[str]] | None = None) -> InputError:
    """Errors about a flag-built intent name the flag, not the intent field, and give flag advice. ``keys``: per
    NIC, the --nic key that named each pool (``pool`` / ``pool6``)."""
    if err.location.file not in (None, FLAGS_SOURCE):
        return err  # from a file the flags read (--ssh-key, --password-file): it names the file already
    path = err.location.path or ""
    message = flag_words(err.message)
    pool = _POOL_NAME.match(path)
    if pool and keys is not None:
        n, j = int(pool.group(1)), int(pool.group(2))
        key = keys[n][j] if n < len(keys) and j < len(keys[n]) else "pool"
        return InputError(message, Location(path=f"--nic #{n + 1} {key}"))
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


_PUBKEY = re.compile(r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)\s+\S+")


def read_ssh_keys(path: str) -> list[str]:
    text = read_text(path, "SSH public key", "--ssh-key")
    if "PRIVATE KEY" in text:
        raise InputError(
            "this is a private key; pass the public key (the .pub file) instead",
            Location(file=path, path="--ssh-key"),
        )
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for n, key in enumerate(keys, start=1):
        if not _PUBKEY.match(key):
            raise InputError(
                "not an OpenSSH public key (expected 'ssh-ed25519 AAAA…' or similar)",
                Location(file=path, line=n, path="--ssh-key"),
            )
    if not keys:
        raise InputError("the file holds no SSH public key", Location(file=path, path="--ssh-key"))
    return keys


def read_password(path: str) -> str:
    text = read_text(path, "password", "--password-file")
    password = text.splitlines()[0] if text.splitlines() else ""
    if not password:
        raise InputError("the password file is empty", Location(file=path, path="--password-file"))
    return password


def default_ssh_keys(quiet: bool) -> list[str]:
    """The user's own public key when --ssh-key is not given: ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub."""
    for name in ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"):
        candidate = Path.home() / ".ssh" / name
        if candidate.is_file():
            if not quiet:
                note(f"SSH key from {candidate} (--ssh-key FILE to choose another)")
            return read_ssh_keys(str(candidate))
    return []


def _report(bundle: Bundle, quiet: bool, *, to_stdout: bool, include_patch: bool) -> None:
    for message in bundle.warnings:
        warn(message)
    if to_stdout and bundle.kubevirt_reason is not None and not include_patch:
        intent = bundle.plan.intent
        warn(
            f"the KubeVirt CR change ({bundle.kubevirt_reason}) is left out of stdout: it is a merge patch for "
            f"{intent.kubevirt_namespace}/{intent.kubevirt_name}, and `kubectl apply` would take it as the whole "
            "object and replace the CR's feature gates; --out-dir writes it to DIR/patches/ for `kubectl patch "
            "--type merge`, --include-kubevirt-patch prints it for `virtnet apply -f -` (which merges it)"
        )
    if not quiet:
        for message in bundle.notes:
            note(message)


def patch_comment(bundle: Bundle) -> str | None:
    """The comment heading the KubeVirt CR patch file of --out-dir: what it is, why, how to apply it."""
    if bundle.kubevirt_reason is None:
        return None
    intent = bundle.plan.intent
    name, namespace = intent.kubevirt_name, intent.kubevirt_namespace
    return (
        f"JSON merge patch for the KubeVirt CR {namespace}/{name}; not a whole object: never `kubectl apply` it.\n"
        f"Why: {bundle.kubevirt_reason}.\n"
        "A merge patch replaces a list whole: first add the featureGates the CR already lists, then\n"
        f"  kubectl patch kubevirt {name} -n {namespace} --type merge --patch-file THIS_FILE\n"
        "or let `virtnet apply -f THIS_FILE` merge it (it adds what is missing and removes nothing)."
    )


@cli.group(context_settings=CONTEXT)
def new() -> None:
    """Create manifests from flags."""


NEW_VM_HELP = """Render the bundle for one VM: SpiderIPPool(s), SpiderMultusConfig(s), KubeVirt CR change, cloud-init
    Secret and VirtualMachine, in apply order.

    The KubeVirt CR change (feature gates, binding plugin registration) is a JSON merge patch, not a whole object:
    stdout leaves it out (a warning says what it holds) so that `virtnet new vm … | kubectl apply -f -` never
    replaces the CR's feature gates; --include-kubevirt-patch prints it for `virtnet apply -f -`, which merges it;
    --out-dir writes it to DIR/patches/ for `kubectl patch --type merge`. --out-dir refuses a directory holding
    files it did not write and replaces the bundle it wrote there before (naming the files it removed).

    NICs: the first is the primary. masquerade and passt bind it on the pod network; OVS NICs (bridge=) may follow
    it, bound with bridge, where KubeVirt allows it (`virtnet modes` column +OVS NICS: not with core passt). bridge
    mode: every NIC is an OVS NIC. Each --nic value is checked itself (interface names: at most 15 bytes, letters,
    digits, '.', '-', '_'; MACs as KubeVirt and libvirt take them) and an error names the NIC and key.

    \b
    --nic keys:
{nic_keys}

    \b
    Examples (the guide's three VMs):
      virtnet new vm masquerade-calico --mode masquerade --cni calico
      virtnet new vm passt-macvlan-spiderpool --mode passt --cni macvlan \\
        --nic master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.120.100-10.7.120.200,pool=10-7-v4
      virtnet new vm bridge-ovs-spiderpool --mode bridge --cni ovs \\
        --nic bridge=br1,vlan=30,subnet=10.30.0.0/16,gateway=10.30.0.1,ips=10.30.1.10-10.30.1.200 \\
        --nic bridge=br1,vlan=40,subnet=10.40.0.0/16,gateway=10.40.0.1,ips=10.40.1.10-10.40.1.200

    \b
    passt primary + an OVS NIC, on the nodes that carry br1, with a persistent disk:
      virtnet new vm app --mode passt --nic master=ens192,subnet=10.7.0.0/16,gateway=10.7.0.1,ips=10.7.1.10-10.7.1.99 \\
        --nic bridge=br1,vlan=30,subnet=10.30.0.0/24,gateway=10.30.0.1,ips=10.30.0.10-10.30.0.99 \\
        --node-selector ovs.example.com/br1=true --disk datavolume --storage-class fast
""".format(nic_keys="\n".join(f"      {k:<14}{v}" for k, v in NIC_KEYS.items()))


@new.command("vm", context_settings=CONTEXT, help=NEW_VM_HELP)
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of the VM.")
@click.option("--mode", required=True, type=click.Choice(["masquerade", "passt", "bridge"]), help="Network mode.")
@click.option(
    "--cni",
    type=click.Choice(["calico", "cilium", "flannel", "macvlan", "ipvlan", "ovs"]),
    help="CNI behind the mode (default: calico for masquerade, macvlan for passt, ovs for bridge).",
)
@click.option("--nic", "nics", multiple=True, metavar="KEY=VALUE,…", help="One NIC, in order (repeat for more).")
@click.option(
    "--disk",
    "disk_kind",
    type=click.Choice(["containerdisk", "datavolume"]),
    help="Root disk: containerdisk runs the image itself (ephemeral, no CDI needed); datavolume has CDI import it "
    "into a persistent PVC. Default: containerdisk, or datavolume when --disk-size, --storage-class or "
    "--access-mode is given.",
)
@click.option(
    "--image",
    help="Container image of the root disk (default: quay.io/containerdisks/fedora:latest; CDI imports it from "
    "docker://… for --disk datavolume).",
)
@click.option("--disk-size", help="DataVolume size (default 10Gi).")
@click.option("--storage-class", help="StorageClass of the DataVolume (default: the cluster's default).")
@click.option("--access-mode", type=click.Choice(["ReadWriteOnce", "ReadWriteMany"]), help="DataVolume access mode.")
@click.option(
    "--node-selector",
    "node_selector",
    multiple=True,
    metavar="KEY=VALUE",
    help="Run the VM only on nodes with this label, e.g. the nodes that carry the NIC or OVS bridge (repeatable).",
)
@click.option("--cpu-cores", type=int, help="CPU cores per socket (default 1).")
@click.option("--sockets", type=int, help="CPU sockets (default 1).")
@click.option("--threads", type=int, help="Threads per core (default 1).")
@click.option("--cpu-model", help="CPU model, e.g. host-model.")
@click.option("--memory", help="Memory request (default 1Gi).")
@click.option("--run-strategy", type=click.Choice(["Always", "RerunOnFailure", "Manual", "Halted", "Once"]))
@click.option(
    "--eviction-strategy",
    type=click.Choice(["None", "LiveMigrate", "LiveMigrateIfPossible", "External"]),
    help="Leave unset to use the cluster's (None by default). LiveMigrate needs a migratable mode and, with --disk "
    "datavolume, --access-mode ReadWriteMany.",
)
@click.option(
    "--ssh-key",
    "ssh_key",
    metavar="FILE",
    help="SSH public key(s) (default: ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub, named on stderr).",
)
@click.option("--password-file", metavar="FILE", help="Set a login password from FILE (discouraged; warns).")
@click.option("--user", help="Create this user instead of using the image's default user.")
@click.option("--passt", type=click.Choice(["auto", "core", "plugin", "passtBinding"]), help="passt flavour.")
@click.option("--ippool-interfaces", type=click.Choice(["named", "ordered"]), help="ippools entry style.")
@click.option("--no-coordinator", is_flag=True, help="Render SpiderMultusConfigs with enableCoordinator: false.")
@click.option("--without-spiderpool", is_flag=True, help="masquerade: the cluster has no SpiderPool.")
@click.option("--spiderpool-namespace", help="Namespace where SpiderPool runs (default kube-system).")
@click.option("--kubevirt-namespace", help="Namespace of the KubeVirt CR (default kubevirt).")
@version_options
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--out-dir", metavar="DIR", help=OUT_DIR_HELP)
@click.option("--include-kubevirt-patch", is_flag=True, help=INCLUDE_PATCH_HELP)
@click.option("--print-intent", is_flag=True, help="Print the intent file these flags describe, not the bundle.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings on stderr, no notes.")
def new_vm(**opts: Any) -> None:
    check_out_dir(opts["out_dir"])
    nics: list[dict[str, Any]] = []
    try:
        nics = [parse_nic(text, i) for i, text in enumerate(opts["nics"])]
        keys = read_ssh_keys(opts["ssh_key"]) if opts["ssh_key"] else default_ssh_keys(opts["quiet"])
        password = read_password(opts["password_file"]) if opts["password_file"] else None
        vm: dict[str, Any] = {}
        for flag, key in (("image", "image"), ("memory", "memory"), ("run_strategy", "runStrategy")):
            if opts[flag]:
                vm[key] = opts[flag]
        if opts["eviction_strategy"]:
            vm["evictionStrategy"] = opts["eviction_strategy"]
        disk = {
            k: opts[f]
            for f, k in (
                ("disk_size", "size"),
                ("storage_class", "storageClass"),
                ("access_mode", "accessMode"),
            )
            if opts[f]
        }
        # a quick start needs no CDI: containerDisk unless a DataVolume is asked for (intent files without a type
        # keep their DataVolume)
        kind = opts["disk_kind"] or ("datavolume" if disk else "containerdisk")
        vm["disk"] = {"type": "dataVolume" if kind == "datavolume" else "containerDisk", **disk}
        if opts["node_selector"]:
            vm["nodeSelector"] = _node_selector(opts["node_selector"])
        cpu = {
            k: opts[f]
            for f, k in (
                ("cpu_cores", "cores"),
                ("sockets", "sockets"),
                ("threads", "threads"),
                ("cpu_model", "model"),
            )
            if opts[f]
        }
        if cpu:
            vm["cpu"] = cpu
        cloud_init: dict[str, Any] = {}
        if keys:
            cloud_init["sshAuthorizedKeys"] = keys
        if opts["user"]:
            cloud_init["user"] = opts["user"]
        options: dict[str, Any] = {}
        if opts["passt"]:
            options["passt"] = opts["passt"]
        if opts["ippool_interfaces"]:
            options["ippoolInterfaces"] = opts["ippool_interfaces"]
        if opts["no_coordinator"]:
            options["coordinator"] = False
        spiderpool: dict[str, Any] = {}
        if opts["spiderpool_namespace"]:
            spiderpool["namespace"] = opts["spiderpool_namespace"]
        if opts["without_spiderpool"]:
            spiderpool["installed"] = False
        versions = {
            k: opts[f]
            for f, k in (("kubevirt_version", "kubevirt"), ("spiderpool_version", "spiderpool"))
            if opts[f] is not None  # '' is an error naming the flag, not "the default"
        }
        doc_data = intent_document(
            name=opts["name"],
            namespace=opts["namespace"],
            mode=opts["mode"],
            cni=opts["cni"],
            nics=nics,
            vm=vm,
            cloud_init=cloud_init,
            versions=versions,
            options=options,
            spiderpool=spiderpool,
            kubevirt={"namespace": opts["kubevirt_namespace"]} if opts["kubevirt_namespace"] else {},
        )
        doc = Document(data=doc_data, source=FLAGS_SOURCE, index=0)
        intent = intent_from_document(doc, password)
        if opts["print_intent"]:
            click.echo(dump_json(doc_data) if opts["output"] == "json" else dump_yaml(doc_data), nl=False)
            return
        bundle = render_bundle(intent)
    except InputError as err:
        raise _flag_location(err, [pool_keys(n) for n in nics]) from None
    include = opts["include_kubevirt_patch"]
    _report(bundle, opts["quiet"], to_stdout=opts["out_dir"] is None, include_patch=include)
    emit_objects(
        bundle.objects,
        opts["output"],
        opts["out_dir"],
        include_patches=include,
        patch_comment=patch_comment(bundle),
    )


def _node_selector(values: tuple[str, ...]) -> dict[str, str]:
    selector: dict[str, str] = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep:
            raise InputError(f"'{value}' is not KEY=VALUE", Location(path="--node-selector"))
        if key.strip() in selector:
            raise InputError(f"label '{key.strip()}' is given twice", Location(path="--node-selector"))
        selector[key.strip()] = label.strip()
    return selector


# --- render ----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("file", metavar="FILE")
@version_options
@click.option("--password-file", metavar="FILE", help="Set a login password from FILE (discouraged; warns).")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--out-dir", metavar="DIR", help=OUT_DIR_HELP)
@click.option("--include-kubevirt-patch", is_flag=True, help=INCLUDE_PATCH_HELP)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings on stderr, no notes.")
def render(
    file: str,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    password_file: str | None,
    output: str,
    out_dir: str | None,
    include_kubevirt_patch: bool,
    quiet: bool,
) -> None:
    """Render the bundle described by an intent FILE (YAML or JSON; '-' reads stdin).

    The file format is documented in docs/intent.md; `virtnet schema` prints its JSON Schema. Version flags
    override spec.versions of the file.

    The KubeVirt CR change is a merge patch: stdout leaves it out unless --include-kubevirt-patch (for
    `virtnet apply -f -`, which merges it), so `virtnet render vm.yaml | kubectl apply -f -` never applies a partial
    KubeVirt object; --out-dir writes it to DIR/patches/.

    \b
    Examples:
      virtnet render examples/passt-macvlan-spiderpool.yaml
      virtnet render vm.yaml --kubevirt-version v1.5.0 -o json
      virtnet render vm.yaml --out-dir out/ && kubectl apply --server-side -f out/
      virtnet render vm.yaml --include-kubevirt-patch | virtnet apply -f -
    """
    check_out_dir(out_dir)
    text = sys.stdin.read() if file == "-" else read_text(file, "intent", "FILE")
    source = "<stdin>" if file == "-" else file
    password = read_password(password_file) if password_file else None
    docs = load_documents(text, source)
    if len(docs) != 1:
        raise InputError(f"expected exactly one intent document, found {len(docs)}", Location(file=source))
    doc = docs[0]
    # flag errors name the flag ('' is one); a version note comes with the bundle's notes
    versions_from_flags(kubevirt_version, spiderpool_version, announce=False)
    if isinstance(doc.data, dict) and (kubevirt_version is not None or spiderpool_version is not None):
        spec = doc.data.setdefault("spec", {})
        if isinstance(spec, dict):
            versions = spec.setdefault("versions", {})
            if isinstance(versions, dict):
                if kubevirt_version is not None:
                    versions["kubevirt"] = kubevirt_version
                if spiderpool_version is not None:
                    versions["spiderpool"] = spiderpool_version
    intent = intent_from_document(doc, password)
    try:
        bundle = render_bundle(intent)
    except InputError as err:
        if err.location.file is not None:
            raise
        raise doc.locate(err) from None  # plan errors name an intent field: add file, line and column
    _report(bundle, quiet, to_stdout=out_dir is None, include_patch=include_kubevirt_patch)
    emit_objects(
        bundle.objects, output, out_dir, include_patches=include_kubevirt_patch, patch_comment=patch_comment(bundle)
    )


# --- schema ----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of intent files (kind VMNetwork), for editors and CI validation."""
    click.echo(dump_json(INTENT_SCHEMA), nl=False)
