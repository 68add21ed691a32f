"""`virtnet pool suggest`."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from virtnet.cli.app import CONTEXT, cli, read_text
from virtnet.cli.output import emit_objects
from virtnet.errors import InputError, Location
from virtnet.formats.yamlio import Document, load_documents

# --- pool suggest ----------------------------------------------------------------------------------------------


@cli.group(context_settings=CONTEXT)
def pool() -> None:
    """SpiderIPPool helpers."""


@pool.command("suggest", context_settings=CONTEXT)
@click.option("--nic", required=True, help="The node NIC the pool's network is on, e.g. ens192.")
@click.option(
    "--ip-addr",
    "ip_addr",
    required=True,
    metavar="FILE",
    help="Output of `ip -j addr` or `ip a` ('-' = stdin).",
)
@click.option("--ip-route", "ip_route", metavar="FILE", help="Output of `ip -j route` or `ip route` (for the gateway).")
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True, help="Addresses wanted.")
@click.option("--existing", multiple=True, metavar="FILE", help="SpiderIPPool manifests to avoid (repeatable).")
@click.option("--name", "pool_name", help="Name of the pool to print (default: derived from the subnet).")
@click.option("-o", "--output", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True)
def pool_suggest(
    nic: str,
    ip_addr: str,
    ip_route: str | None,
    count: int,
    existing: Sequence[str],
    pool_name: str | None,
    output: str,
) -> None:
    """Suggest subnet, gateway and a free address range for a SpiderIPPool on a node NIC.

    Reads what the guide asks you to read by hand: the node's addresses and default route. The range avoids
    the network and broadcast addresses, every node address, the gateway and every existing pool's addresses.
    With -o yaml it prints a ready SpiderIPPool.

    \b
    Examples:
      ip -j addr > addr.json; ip -j route > route.json
      virtnet pool suggest --nic ens192 --ip-addr addr.json --ip-route route.json --count 101
      ssh node1 ip a | virtnet pool suggest --nic ens192 --ip-addr - -o yaml --existing pools.yaml
    """
    from virtnet.cli.tables import suggestion_text
    from virtnet.formats.iproute import parse_addresses, parse_routes
    from virtnet.model.ippool import PoolSpec
    from virtnet.model.suggest import suggest_pools

    addr_text = sys.stdin.read() if ip_addr == "-" else read_text(ip_addr, "ip addr", "--ip-addr")
    addresses = parse_addresses(addr_text, "<stdin>" if ip_addr == "-" else ip_addr)
    routes = parse_routes(read_text(ip_route, "ip route", "--ip-route"), ip_route) if ip_route else []
    pools: list[PoolSpec] = []
    for path in existing:
        for doc in load_documents(read_text(path, "pool", "--existing"), path):
            for obj, where in _objects(doc):
                if isinstance(obj, dict) and obj.get("kind") == "SpiderIPPool":
                    try:
                        pools.append(PoolSpec.from_manifest(obj))
                    except InputError as err:
                        raise doc.locate(err, where) from None
    try:
        suggestions = suggest_pools(nic, addresses, routes, count, pools)
    except InputError as err:
        flag = {"nic": "--nic", "count": "--count"}.get(err.location.path or "", err.location.path)
        raise InputError(err.message, Location(path=flag)) from None
    if output == "text":
        click.echo(suggestion_text(suggestions), nl=False)
        return
    manifests = []
    for s in suggestions:
        name = pool_name if pool_name and len(suggestions) == 1 else _pool_name(str(s.subnet), s.family, pool_name)
        manifests.append(s.to_pool(name).to_manifest())
    emit_objects(manifests, output, None)


def _objects(doc: Document) -> list[tuple[Any, tuple[str | int, ...]]]:
    data = doc.data
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        return [(item, ("items", i)) for i, item in enumerate(data["items"])]
    return [(data, ())]


def _pool_name(subnet: str, family: int, prefix: str | None) -> str:
    base = prefix or re.sub(r"[^0-9a-f]+", "-", subnet.split("/")[0].lower()).strip("-")
    return f"{base}-v{family}"
