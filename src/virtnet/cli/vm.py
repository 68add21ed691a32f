"""`virtnet modes`, `virtnet new vm`, `virtnet render`, `virtnet schema`: the rendering verbs."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from virtnet.cli.app import CONTEXT, cli, read_text, version_options, versions_from_flags
from virtnet.cli.intentflags import (
    CNIS,
    MODES,
    NIC_KEYS,
    TargetFlags,
    collect,
    flag_error,
    mode_options,
    parse_nics,
    rendering_options,
)
from virtnet.cli.output import check_out_dir, emit_objects, note, warn
from virtnet.errors import InputError, Location
from virtnet.formats.intent import INTENT_SCHEMA, NicDocument
from virtnet.formats.intentdoc import (
    VmValues,
    parse_public_keys,
    single_document,
    with_versions,
)
from virtnet.formats.yamlio import dump_json, dump_yaml, load_documents
from virtnet.model.intent import DEFAULT_IMAGE, DEFAULT_NAMESPACE, Cpu, Disk, Intent, VmIntent
from virtnet.model.modes import DEFAULT_SPIDERPOOL_NAMESPACE, Cni, Mode
from virtnet.render import Bundle, render_bundle, render_document

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
    from virtnet.model.modes import mode_matrix, parse_cni

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

OUT_DIR_HELP = (
    "Write one file per object into DIR instead of stdout (the KubeVirt CR patch into DIR/patches/). DIR must be new, "
    "empty or hold only the bundle virtnet wrote there before, which is replaced."
)
SSH_KEY_FILES = ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub")  # in ~/.ssh, the first found is used
INCLUDE_PATCH_HELP = (
    "Print the KubeVirt CR change (a merge patch, partial object) on stdout too: for `virtnet apply -f -`, never for "
    "`kubectl apply`."
)


def read_ssh_keys(path: str) -> list[str]:
    return parse_public_keys(read_text(path, "SSH public key", "--ssh-key"), Location(file=path, path="--ssh-key"))


def read_password(path: str) -> str:
    text = read_text(path, "password", "--password-file")
    password = text.splitlines()[0] if text.splitlines() else ""
    if not password:
        raise InputError("the password file is empty", Location(file=path, path="--password-file"))
    return password


def default_ssh_keys(quiet: bool) -> list[str]:
    """The user's own public key when --ssh-key is not given: the first of :data:`SSH_KEY_FILES` in ~/.ssh."""
    for name in SSH_KEY_FILES:
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
@click.option("-n", "--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="Namespace of the VM.")
@mode_options(nic_help="One NIC, in order (repeat for more).")
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
    help=f"Container image of the root disk (default: {DEFAULT_IMAGE}; CDI imports it from docker://… for --disk "
    "datavolume).",
)
@click.option("--disk-size", help=f"DataVolume size (default {Disk.size}).")
@click.option("--storage-class", help="StorageClass of the DataVolume (default: the cluster's default).")
@click.option("--access-mode", type=click.Choice(["ReadWriteOnce", "ReadWriteMany"]), help="DataVolume access mode.")
@click.option(
    "--node-selector",
    "node_selector",
    multiple=True,
    metavar="KEY=VALUE",
    help="Run the VM only on nodes with this label, e.g. the nodes that carry the NIC or OVS bridge (repeatable).",
)
@click.option("--cpu-cores", type=int, help=f"CPU cores per socket (default {Cpu.cores}).")
@click.option("--sockets", type=int, help=f"CPU sockets (default {Cpu.sockets}).")
@click.option("--threads", type=int, help=f"Threads per core (default {Cpu.threads}).")
@click.option("--cpu-model", help="CPU model, e.g. host-model.")
@click.option("--memory", help=f"Memory request (default {VmIntent.memory}).")
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
    help=f"SSH public key(s) (default: ~/.ssh/{', '.join(SSH_KEY_FILES[:-1])} or {SSH_KEY_FILES[-1]}, named on "
    "stderr).",
)
@click.option("--password-file", metavar="FILE", help="Set a login password from FILE (discouraged; warns).")
@click.option("--user", help="Create this user instead of using the image's default user.")
@rendering_options
@click.option(
    "--spiderpool-namespace", help=f"Namespace where SpiderPool runs (default {DEFAULT_SPIDERPOOL_NAMESPACE})."
)
@click.option("--kubevirt-namespace", help=f"Namespace of the KubeVirt CR (default {Intent.kubevirt_namespace}).")
@version_options
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--out-dir", metavar="DIR", help=OUT_DIR_HELP)
@click.option("--include-kubevirt-patch", is_flag=True, help=INCLUDE_PATCH_HELP)
@click.option("--print-intent", is_flag=True, help="Print the intent file these flags describe, not the bundle.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings on stderr, no notes.")
@collect(TargetFlags, "network")
@collect(VmValues, "vm")
def new_vm(
    name: str,
    namespace: str,
    network: TargetFlags,
    vm: VmValues,
    ssh_key: str | None,
    password_file: str | None,
    user: str | None,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
    output: str,
    out_dir: str | None,
    include_kubevirt_patch: bool,
    print_intent: bool,
    quiet: bool,
) -> None:
    check_out_dir(out_dir)
    nics: list[NicDocument] = []
    try:
        nics = parse_nics(network.nics)
        keys = read_ssh_keys(ssh_key) if ssh_key else default_ssh_keys(quiet)
        password = read_password(password_file) if password_file else None
        values = replace(
            network.values(name, namespace, nics),
            vm=vm,
            ssh_authorized_keys=tuple(keys),
            user=user,
            kubevirt_version=kubevirt_version,
            spiderpool_version=spiderpool_version,
        )
        intent = values.intent(password)
        if print_intent:
            document = values.document()
            click.echo(dump_json(document) if output == "json" else dump_yaml(document), nl=False)
            return
        bundle = render_bundle(intent)
    except InputError as err:
        raise flag_error(err, nics) from None
    _report(bundle, quiet, to_stdout=out_dir is None, include_patch=include_kubevirt_patch)
    emit_objects(
        bundle.objects,
        output,
        out_dir,
        include_patches=include_kubevirt_patch,
        patch_comment=patch_comment(bundle),
    )


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
    document = single_document(load_documents(text, source), source)
    # flag errors name the flag ('' is one); a version note comes with the bundle's notes
    versions_from_flags(kubevirt_version, spiderpool_version, announce=False)
    bundle = render_document(with_versions(document, kubevirt_version, spiderpool_version), password)
    _report(bundle, quiet, to_stdout=out_dir is None, include_patch=include_kubevirt_patch)
    emit_objects(
        bundle.objects, output, out_dir, include_patches=include_kubevirt_patch, patch_comment=patch_comment(bundle)
    )


# --- schema ----------------------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of intent files (kind VMNetwork), for editors and CI validation."""
    click.echo(dump_json(INTENT_SCHEMA), nl=False)
