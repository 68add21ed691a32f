"""Plain-text views for humans (JSON/YAML views come from the objects' to_dict)."""

from __future__ import annotations

from collections.abc import Sequence

from virtnet.lint.model import Rule
from virtnet.model.modes import ModeCapabilities
from virtnet.model.suggest import PoolSuggestion
from virtnet.model.text import plural
from virtnet.model.versions import TargetVersions


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _fields(rows: Sequence[tuple[str, str]], *, width: int) -> list[str]:
    """``  label:  value`` lines, values aligned at ``width``; a row without a label continues the one before."""
    return [f"  {label:<{width}}{value}\n" for label, value in rows]


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def modes_text(versions: TargetVersions, matrix: Sequence[ModeCapabilities]) -> str:
    rows = [
        [
            "MODE",
            "CNI",
            "BINDING",
            "STATUS",
            "SPIDERPOOL",
            "FIXED IP",
            "MULTI-NIC",
            "+OVS NICS",
            "MIGRATION: KUBEVIRT",
            "SPIDERPOOL DOCS",
        ]
    ]
    for m in matrix:
        rows.append(
            [
                m.mode.value,
                m.cni.value,
                m.binding.binding.value,
                m.binding.status.value,
                m.spiderpool,
                _yes(m.fixed_ip),
                _yes(m.multi_nic),
                _yes(m.secondary_ovs),
                "allowed" if m.live_migration.kubevirt_allows else "refused",
                m.live_migration.spiderpool_verdict,
            ]
        )
    out = [f"Network modes for {versions}\n\n", _table(rows)]
    for m in matrix:
        out.append(f"\n{m.mode.value} on {m.cni.value} ({m.binding.binding.title}, {m.binding.status.value})\n")
        migration = m.live_migration
        out += _fields(
            [
                ("VM IP:", m.vm_ip),
                ("fixed IP:", f"{_yes(m.fixed_ip)}: {m.fixed_ip_reason}"),
                ("multi-NIC:", f"{_yes(m.multi_nic)}: {m.multi_nic_reason}"),
                ("+OVS NICs:", f"{_yes(m.secondary_ovs)}: {m.secondary_ovs_reason}"),
                ("live migration:", f"KubeVirt: {migration.kubevirt}"),
                ("", f"SpiderPool: {migration.spiderpool}"),
                ("", f"storage: {migration.storage}"),
            ],
            width=17,
        )
        for req in m.requirements:
            out.append(f"  needs {req.kind.value} {req.name}: {req.detail}\n")
        for note in m.notes:
            out.append(f"  note: {note}\n")
        out.append(f"  sources: {m.binding.source}; {m.binding.migration_source}\n")
    return "".join(out)


def suggestion_text(suggestions: Sequence[PoolSuggestion]) -> str:
    out: list[str] = []
    for s in suggestions:
        gateway = str(s.gateway) if s.gateway is not None else "(none found: pass --ip-route)"
        rows = [
            ("subnet:", str(s.subnet)),
            ("gateway:", gateway),
            ("ips:", f"{', '.join(s.ips.to_spiderpool())}  ({plural(s.ips.size, 'address')})"),
            *(("avoided:", line) for line in s.avoided),
            *(("note:", line) for line in s.notes),
        ]
        out += [f"NIC {s.nic} (IPv{s.family})\n", *_fields(rows, width=10)]
    return "".join(out)


def rule_text(rule: Rule) -> str:
    """One lint rule in full, for `virtnet rules RULE` (texts unwrapped, so they copy and grep whole)."""
    out = [
        f"{rule.code} {rule.slug}  ({rule.severity.value})\n",
        f"{rule.summary}\n\n",
        f"checks:      {', '.join(rule.kinds)}\n",
        f"versions:    {rule.versions}\n\n",
        f"Why it matters: {rule.why}\n\n",
        f"How to fix: {rule.fix}\n\n",
        "References:\n",
        *(f"  - {ref}\n" for ref in rule.references),
        f'\nSuppress on one object: metadata.annotations["ignore-check.virtnet.io/{rule.slug}"] = "<reason>"\n',
    ]
    return "".join(out)
