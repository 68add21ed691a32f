"""`virtnet set network` on a live cluster: what lint says of the edit before anything is written.

Pure (objects in, findings out), like :mod:`virtnet.cluster.setnetwork`; :mod:`virtnet.cluster.setnetwork_run` feeds
it what it read. The VM is linted twice against what the cluster holds — as it is, and as the edit leaves it, with
the objects the edit writes (pools, SpiderMultusConfigs, NADs) in place of the cluster's and the KubeVirt CR change
merged into the live CR the way ``apply`` merges it (:func:`virtnet.cluster.apply.merge_kubevirt`). The findings the
edit brings are those of the edited VM that the VM did not have before (same rule, same field), and every finding on
an object the edit writes. Problems the VM already had are not the edit's: they do not stop it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from virtnet.cluster.apply import merge_kubevirt
from virtnet.lint.engine import CLUSTER_SCOPED, LintOptions, lint_objects, live_object
from virtnet.lint.model import Finding, LintObject, Severity
from virtnet.model.manifest import ObjectRef
from virtnet.render.setnetwork import Context


def _live(obj: Mapping[str, Any]) -> LintObject:
    return live_object(obj, namespaced=str(obj.get("kind", "")) not in CLUSTER_SCOPED)


def _named(ref: ObjectRef) -> tuple[str, str | None, str]:
    return ref.kind, ref.namespace, ref.name


def _context(context: Context, written: Sequence[Mapping[str, Any]]) -> list[LintObject]:
    """The cluster's pools, SpiderMultusConfigs, NADs and KubeVirt CR, with ``written`` in place of their live
    versions (a KubeVirt CR change merged into the live CR)."""
    replaced = {_named(_live(o).ref) for o in written if o.get("kind") != "KubeVirt"}
    live = [_live(o) for o in (*context.pools, *context.multus_configs, *context.nads)]
    out = [o for o in live if _named(o.ref) not in replaced]
    kubevirt: Mapping[str, Any] | None = context.kubevirt
    for change in written:
        if change.get("kind") == "KubeVirt":
            kubevirt = merge_kubevirt(kubevirt, change).merged if kubevirt is not None else change
    if kubevirt is not None:
        out.append(_live(kubevirt))
    return out


def _identity(f: Finding) -> tuple[str, ObjectRef, tuple[str | int, ...]]:
    return f.rule.code, f.object, tuple(f.path)


def edit_findings(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    written: Sequence[Mapping[str, Any]],
    context: Context,
    kubevirt_version: str | None,
    spiderpool_version: str | None,
) -> tuple[Finding, ...]:
    """The findings the edit brings (see the module's docstring): ``before`` and ``after`` are the VM, ``written`` the
    other objects the edit writes (its pools, SpiderMultusConfigs, NADs, KubeVirt CR change)."""
    options = LintOptions(kubevirt_version=kubevirt_version, spiderpool_version=spiderpool_version)
    had = lint_objects([_live(before)], options, context=_context(context, ()))
    had_keys = {_identity(f) for f in had.findings}
    vm = _live(after)
    others = [_live(o) for o in written if o.get("kind") != "KubeVirt"]
    result = lint_objects([vm, *others], options, context=_context(context, written))
    return tuple(f for f in result.findings if f.object != vm.ref or _identity(f) not in had_keys)


def refusing(findings: Sequence[Finding], blind: Sequence[str]) -> tuple[list[Finding], str | None]:
    """The errors among ``findings`` that refuse the edit, and a note when none may: ``blind`` names the kinds lint
    needs that the cluster did not let virtnet list — lint then saw only part of them (a pool it could not see would
    look missing), so its errors are shown but do not refuse."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors and blind:
        return [], f"lint errors not enforced: the cluster did not let virtnet list {', '.join(blind)}"
    return errors, None
