"""`virtnet pool suggest` and `virtnet pool usage`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from virtnet.cli.app import CONTEXT, cli, read_text
from virtnet.cli.kube import Target, connection_options
from virtnet.cli.output import emit_objects
from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import dump_json

# --- pool suggest ----------------------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def pool() -> None:
    """SpiderIPPool helpers."""


@pool.command("suggest", context_settings=CONTEXT)
@click.option("--nic", required=True, help="The node NIC the pool's network is on, e.g. ens192 (or an altname).")
@click.option(
    "--ip-addr",
    "ip_addr",
    required=True,
    multiple=True,
    metavar="FILE",
    help="Output of `ip -j addr` or `ip a` ('-' = stdin); repeat to merge several (e.g. of `ip -4 a` and `ip -6 a`).",
)
@click.option(
    "--ip-route",
    "ip_route",
    multiple=True,
    metavar="FILE",
    help="Output of `ip -j route` or `ip route` (for the gateway); repeat to merge several (e.g. `ip -6 route`).",
)
@click.option(
    "--subnet",
    metavar="CIDR",
    help="The pool's subnet: for a NIC without addresses (a macvlan master) or to choose one of the NIC's subnets.",
)
@click.option("--family", type=click.Choice(["4", "6"]), help="Only this IP family (default: each family the NIC has).")
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True, help="Addresses wanted.")
@click.option(
    "--existing",
    multiple=True,
    metavar="FILE|DIR",
    help="SpiderIPPool manifests to avoid: files or directories (read like `virtnet lint` reads them, any *List "
    "unpacked; repeatable).",
)
@click.option(
    "--name",
    "pool_name",
    help="Name of the pool to print (default: derived from the subnet). With two families, a -v4/-v6 suffix is "
    "added (or replaced).",
)
@click.option("-o", "--output", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True)
def pool_suggest(
    nic: str,
    ip_addr: Sequence[str],
    ip_route: Sequence[str],
    subnet: str | None,
    family: str | None,
    count: int,
    existing: Sequence[str],
    pool_name: str | None,
    output: str,
) -> None:
    """Suggest subnet, gateway and a free address range for a SpiderIPPool on a node NIC.

    Reads what the guide asks you to read by hand: the node's addresses and routes. The range avoids the network
    and broadcast addresses, every node address, the gateway and every existing pool's addresses. A dual-stack NIC
    gets one suggestion per family (--family picks one). A NIC without addresses, such as a macvlan master, needs
    --subnet. With -o yaml it prints ready SpiderIPPools.

    \b
    Examples:
      ip -j addr > addr.json; ip -j route > route.json
      virtnet pool suggest --nic ens192 --ip-addr addr.json --ip-route route.json --count 101
      virtnet pool suggest --nic ens192 --ip-addr addr.json --ip-route route4.txt --ip-route route6.txt -o yaml
      virtnet pool suggest --nic ens224 --ip-addr addr.json --subnet 10.50.0.0/24 --name vlan50
      ssh node1 ip a | virtnet pool suggest --nic ens192 --ip-addr - -o yaml --existing pools/
    """
    from virtnet.cli.lint import read_inputs
    from virtnet.cli.tables import suggestion_text
    from virtnet.formats.iproute import parse_addresses, parse_links, parse_routes
    from virtnet.formats.pools import pool_specs
    from virtnet.model.ippool import canonical_subnet
    from virtnet.model.poolname import suggested_pool_names
    from virtnet.model.suggest import HostAddress, HostLink, HostRoute, suggest_pools

    if list(ip_addr).count("-") > 1:
        raise InputError("'-' (stdin) can be read once", Location(path="--ip-addr"))
    addresses: list[HostAddress] = []
    links: list[HostLink] = []
    for path in ip_addr:
        text = sys.stdin.read() if path == "-" else read_text(path, "ip addr", "--ip-addr")
        source = "<stdin>" if path == "-" else path
        addresses += [a for a in parse_addresses(text, source) if a not in addresses]
        links += parse_links(text, source)
    routes: list[HostRoute] = []
    for path in ip_route:
        routes += [r for r in parse_routes(read_text(path, "ip route", "--ip-route"), path) if r not in routes]
    wanted = None
    if subnet is not None:
        try:
            wanted, _canonical = canonical_subnet(subnet, path="subnet")
        except InputError as err:
            raise InputError(err.message, Location(path="--subnet")) from None
    pools = pool_specs(read_inputs(existing)[0]) if existing else []
    try:
        suggestions = suggest_pools(
            nic,
            addresses,
            routes,
            count,
            pools,
            links=links,
            family=4 if family == "4" else 6 if family == "6" else None,
            subnet=wanted,
        )
    except InputError as err:
        flag = {"nic": "--nic", "count": "--count", "family": "--family"}.get(
            err.location.path or "", err.location.path
        )
        raise InputError(err.message, Location(path=flag)) from None
    if output == "text":
        click.echo(suggestion_text(suggestions), nl=False)
        return
    names = suggested_pool_names(suggestions, pool_name)
    emit_objects([s.to_pool(name).to_manifest() for s, name in zip(suggestions, names, strict=True)], output, None)


# --- pool usage ------------------------------------------------------------------------------------------------

BAR_WIDTH = 30
FREE_RANGES_SHOWN = 8


@pool.command("usage", context_settings=CONTEXT)
@click.argument("names", nargs=-1, metavar="[POOL]...")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@connection_options()
def pool_usage_command(names: Sequence[str], output: str, target: Target) -> None:
    """Show what each SpiderIPPool holds: total / allocated / reserved / free, free ranges, and who holds each IP.

    Holders come from status.allocatedIPs; each is traced to its VirtualMachine (through the VMI-keyed record,
    the virt-launcher pod or the SpiderEndpoint) with the VM's state. A stopped VM keeps its IP — SpiderPool
    releases it only when the VM is deleted — and is shown as such. Reserved = excludeIPs plus SpiderReservedIP
    objects of the pool's IP version. Free ranges are intervals: a /8 pool costs what a /24 costs.

    \b
    SpiderIPPools are cluster-scoped; -n/-A choose whose holders are listed (default: the context's namespace;
    the others are counted). Usage bars are drawn only on a terminal.

    \b
    JSON (-o json): {"pools":[{"name","ipVersion","subnet","gateway","total","usable","allocated",
      "reserved":{"total","excludeIPs","spiderReservedIPs"},"free","freeRanges":[{"first","last","count"}],
      "holders":[{"ip","namespace","record","podUid","interface","kind","name","state","launcherPod","note"}],
      "holdersInOtherNamespaces","allocatedOutsidePool","problems"}],"namespaces","unreadable","problems"}

    \b
    Exit codes: 0 shown, 1 a named pool does not exist or the cluster refused, 2 usage error.

    \b
    Examples:
      virtnet pool usage -A
      virtnet pool usage 10-7-v4 -n vms
      virtnet pool usage -o json | jq '.pools[] | {name, free, stopped: [.holders[] | select(.state=="stopped")]}'
    """
    from virtnet.cluster.usage import gather, pool_usage

    with target.connect() as cluster:
        inputs = gather(cluster, names, target.connection.namespace, all_namespaces=target.all_namespaces)
    report = pool_usage(inputs)
    if output == "json":
        click.echo(dump_json(report.to_json()), nl=False)
        return
    click.echo(usage_text(report.to_json(), bars=sys.stdout.isatty()), nl=False)


def _bar(allocated: int, reserved: int, total: int) -> str:
    if total <= 0:
        return "[" + " " * BAR_WIDTH + "]"
    used = round(BAR_WIDTH * allocated / total)
    if allocated and not used:
        used = 1
    held = min(BAR_WIDTH - used, round(BAR_WIDTH * reserved / total))
    return "[" + "█" * used + "▒" * held + "░" * (BAR_WIDTH - used - held) + "]"


def _range(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


def usage_text(report: dict[str, Any], *, bars: bool) -> str:
    """Per pool: the numbers (and a bar on a terminal), free ranges, holders; then what could not be read."""
    lines: list[str] = []
    scope = report.get("namespaces")
    for p in report["pools"]:
        family = f"IPv{p['ipVersion']}" if p.get("ipVersion") else "IPv?"
        flags = "".join(
            f"  [{flag}]" for flag, on in (("default", p.get("default")), ("disabled", p.get("disable"))) if on
        )
        gateway = f"  gateway {p['gateway']}" if p.get("gateway") else ""
        lines.append(f"SpiderIPPool {p['name']}  {family} {p.get('subnet') or '?'}{gateway}{flags}")
        reserved = p["reserved"]
        numbers = (
            f"  total {p['total']}  allocated {p['allocated']}  reserved {reserved['total']} "
            f"(excludeIPs {reserved['excludeIPs']}, SpiderReservedIP {reserved['spiderReservedIPs']})  free {p['free']}"
        )
        if bars:
            numbers += "  " + _bar(p["allocated"], reserved["total"], p["total"])
        lines.append(numbers)
        ranges = p["freeRanges"]
        if ranges:
            shown = ", ".join(_range(r["first"], r["last"]) for r in ranges[:FREE_RANGES_SHOWN])
            more = (
                f", … {len(ranges) - FREE_RANGES_SHOWN} more (-o json lists all)"
                if len(ranges) > FREE_RANGES_SHOWN
                else ""
            )
            lines.append(f"  free: {shown}{more}")
        else:
            lines.append("  free: none")
        if p["allocatedOutsidePool"]:
            lines.append(f"  allocated outside the pool's addresses now: {', '.join(p['allocatedOutsidePool'])}")
        holders = p["holders"]
        if holders:
            lines.append("  holders:")
            width = max(len(h["ip"]) for h in holders)
            for h in holders:
                who = f"{h['kind']} {h['namespace']}/{h['name']}" if h.get("namespace") else f"{h['kind']} {h['name']}"
                state = h.get("state") or "?"
                extra = f"  — {h['note']}" if h.get("note") else ""
                lines.append(f"    {h['ip']:<{width}}  {who}  {state}{extra}")
        elsewhere = p["holdersInOtherNamespaces"]
        if elsewhere:
            where = f"outside {', '.join(scope)}" if scope else "elsewhere"
            lines.append(f"  {elsewhere} more holder(s) {where} (-A lists them)")
        for problem in p["problems"]:
            lines.append(f"  problem: {problem}")
        lines.append("")
    if not report["pools"]:
        lines += ["no SpiderIPPools in the cluster", ""]
    for item in report["unreadable"]:
        lines.append(f"skipped: {item['what']}: {item['reason']}")
    for problem in report["problems"]:
        lines.append(f"problem: {problem}")
    return "\n".join(lines).rstrip("\n") + "\n"
