"""`virtnet modes`, `virtnet new vm`, `virtnet render`, `virtnet schema`: the rendering verbs."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from virtnet.cli.app import CONTEXT, cli, read_text, version_options, versions_from_flags
from virtnet.cli.output import emit_objects, note, warn
from virtnet.errors import InputError, Location
from virtnet.formats.intent import INTENT_SCHEMA, intent_document, intent_from_document
from virtnet.formats.yamlio import Document, dump_json, dump_yaml, load_documents
from virtnet.render import Bundle, render_bundle

# --- modes -----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@version_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def modes(kubevirt_version: str | None, spiderpool_version: str | None, output: str) -> None:
    """Show the network-mode matrix: binding and CNI → VM IP, fixed IP, live migration, multi-NIC, requirements.

    Live migration is shown twice because KubeVirt and SpiderPool disagree: KubeVirt decides from the
    pod-network interface only, SpiderPool's KubeVirt guide calls it unavailable for its underlay modes.

    \b
    Examples:
      virtnet modes
      virtnet modes --kubevirt-version v1.0.1 --spiderpool-version v0.8.0
      virtnet modes -o json | jq '.modes[] | select(.fixedIP)'
    """
    from virtnet.cli.tables import modes_text
    from virtnet.model.modes import mode_matrix

    versions = versions_from_flags(kubevirt_version, spiderpool_version)
    matrix = mode_matrix(versions)
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
    "master": "macvlan/ipvlan parent interface on the node, e.g. ens192",
    "bridge": "ovs bridge on the node, e.g. br1",
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


_FLAG_FOR_FIELD = [
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
    (re.compile(r"^spec\.vm\.(\w+)"), "--{key}"),
    (re.compile(r"^spec\.cloudInit\.user"), "--user"),
    (re.compile(r"^spec\.options\.passt"), "--passt"),
    (re.compile(r"^spec\.options\.ippoolInterfaces"), "--ippool-interfaces"),
    (re.compile(r"^spec\.(mode|cni)"), "--{key}"),
]


def _flag_location(err: InputError) -> InputError:
    """Errors about a flag-built intent name the flag, not the intent field."""
    path = err.location.path or ""
    for pattern, template in _FLAG_FOR_FIELD:
        match = pattern.match(path)
        if match:
            groups = match.groups()
            n = int(groups[0]) + 1 if groups and groups[0].isdigit() else 0
            key = groups[-1] if groups and not groups[-1].isdigit() else ""
            if key == "cpu":
                key = "cpu-cores"
            flag = template.format(n=n, key=key)
            from_file = err.location.file not in (None, FLAGS_SOURCE)
            return InputError(
                err.message,
                Location(
                    file=err.location.file if from_file else None,
                    line=err.location.line if from_file else None,
                    path=flag,
                ),
            )
    return err


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


def default_ssh_keys() -> list[str]:
    for name in ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"):
        candidate = Path.home() / ".ssh" / name
        if candidate.is_file():
            return read_ssh_keys(str(candidate))
    return []


def _report(bundle: Bundle, quiet: bool) -> None:
    for message in bundle.warnings:
        warn(message)
    if not quiet:
        for message in bundle.notes:
            note(message)


@cli.group(context_settings=CONTEXT)
def new() -> None:
    """Create manifests from flags."""


NEW_VM_HELP = """Render the bundle for one VM: SpiderIPPool(s), SpiderMultusConfig(s), KubeVirt CR change, cloud-init
    Secret and VirtualMachine, in apply order.

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
@click.option("--image", help="Container disk image (default: docker://quay.io/containerdisks/fedora:latest).")
@click.option("--disk-size", help="Root disk size (default 10Gi).")
@click.option("--storage-class", help="StorageClass of the root disk (default: the cluster's default).")
@click.option("--access-mode", type=click.Choice(["ReadWriteOnce", "ReadWriteMany"]), help="Root disk access mode.")
@click.option("--cpu-cores", type=int, help="CPU cores per socket (default 1).")
@click.option("--sockets", type=int, help="CPU sockets (default 1).")
@click.option("--threads", type=int, help="Threads per core (default 1).")
@click.option("--cpu-model", help="CPU model, e.g. host-model.")
@click.option("--memory", help="Memory request (default 1Gi).")
@click.option("--run-strategy", type=click.Choice(["Always", "RerunOnFailure", "Manual", "Halted", "Once"]))
@click.option(
    "--eviction-strategy",
    type=click.Choice(["None", "LiveMigrate", "LiveMigrateIfPossible", "External"]),
    help="Leave unset to use the cluster's (None by default). LiveMigrate needs a migratable mode and RWX disk.",
)
@click.option("--ssh-key", "ssh_key", metavar="FILE", help="SSH public key(s) (default: ~/.ssh/id_ed25519.pub, …).")
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
@click.option("--out-dir", metavar="DIR", help="Write one file per object into DIR instead of stdout.")
@click.option("--print-intent", is_flag=True, help="Print the intent file these flags describe, not the bundle.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings on stderr, no notes.")
def new_vm(**opts: Any) -> None:
    try:
        nics = [parse_nic(text, i) for i, text in enumerate(opts["nics"])]
        keys = read_ssh_keys(opts["ssh_key"]) if opts["ssh_key"] else default_ssh_keys()
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
        if disk:
            vm["disk"] = disk
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
            k: opts[f] for f, k in (("kubevirt_version", "kubevirt"), ("spiderpool_version", "spiderpool")) if opts[f]
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
        raise _flag_location(err) from None
    _report(bundle, opts["quiet"])
    emit_objects(bundle.objects, opts["output"], opts["out_dir"])


# --- render ----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@click.argument("file", metavar="FILE")
@version_options
@click.option("--password-file", metavar="FILE", help="Set a login password from FILE (discouraged; warns).")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--out-dir", metavar="DIR", help="Write one file per object into DIR instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings on stderr, no notes.")
def render(
    file: str,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    password_file: str | None,
    output: str,
    out_dir: str | None,
    quiet: bool,
) -> None:
    """Render the bundle described by an intent FILE (YAML or JSON; '-' reads stdin).

    The file format is documented in docs/intent.md; `virtnet schema` prints its JSON Schema. Version flags
    override spec.versions of the file.

    \b
    Examples:
      virtnet render examples/passt-macvlan-spiderpool.yaml
      virtnet render vm.yaml --kubevirt-version v1.5.0 -o json
      virtnet render vm.yaml --out-dir out/ && kubectl apply --server-side -f out/
    """
    text = sys.stdin.read() if file == "-" else read_text(file, "intent", "FILE")
    source = "<stdin>" if file == "-" else file
    password = read_password(password_file) if password_file else None
    docs = load_documents(text, source)
    if len(docs) != 1:
        raise InputError(f"expected exactly one intent document, found {len(docs)}", Location(file=source))
    doc = docs[0]
    if isinstance(doc.data, dict) and (kubevirt_version or spiderpool_version):
        spec = doc.data.setdefault("spec", {})
        if isinstance(spec, dict):
            versions = spec.setdefault("versions", {})
            if isinstance(versions, dict):
                versions_from_flags(kubevirt_version, spiderpool_version)  # flag errors name the flag
                if kubevirt_version:
                    versions["kubevirt"] = kubevirt_version
                if spiderpool_version:
                    versions["spiderpool"] = spiderpool_version
    intent = intent_from_document(doc, password)
    try:
        bundle = render_bundle(intent)
    except InputError as err:
        if err.location.file is not None:
            raise
        raise doc.locate(err) from None  # plan errors name an intent field: add file, line and column
    _report(bundle, quiet)
    emit_objects(bundle.objects, output, out_dir)


# --- schema ----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of intent files (kind VMNetwork), for editors and CI validation."""
    click.echo(dump_json(INTENT_SCHEMA), nl=False)
