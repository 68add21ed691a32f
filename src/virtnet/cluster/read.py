"""Reads shared by the cluster verbs: the facts every verb starts from, each read allowed to be refused."""

from __future__ import annotations

from virtnet.cluster.client import Cluster
from virtnet.cluster.facts import (
    KUBEVIRT_GV,
    NAD_GV,
    SPIDERPOOL_CONF,
    SPIDERPOOL_CONTROLLER_SELECTOR,
    SPIDERPOOL_GV,
    Facts,
    pick_spiderpool_conf,
)
from virtnet.errors import ForbiddenError, NotFoundError, NotInstalledError

SPIDERPOOL_NAMESPACES = ("kube-system", "spiderpool")  # where the chart is installed in practice


def read_facts(cluster: Cluster) -> Facts:
    """Server version, KubeVirt CR, SpiderPool controller Deployment and ``spiderpool-conf`` — about six requests.

    Unreachable/401 errors propagate (nothing else would work either); a refused or missing kind is recorded in
    ``Facts.problems`` under a short key (``kubevirt``, ``spiderpool-controller``, ``spiderpool-conf``).
    """
    facts = Facts(server=cluster.server)
    facts.server_version = cluster.server_version()
    facts.kubevirt_installed = cluster.serves(KUBEVIRT_GV, "KubeVirt")
    if facts.kubevirt_installed:
        try:
            crs = cluster.list(KUBEVIRT_GV, "KubeVirt", all_namespaces=True)
            facts.kubevirt_cr = crs[0] if crs else None
        except ForbiddenError as err:
            facts.problems["kubevirt"] = err
    else:
        facts.problems["kubevirt"] = NotInstalledError("the KubeVirt CRD is not installed")
    facts.spiderpool_installed = cluster.serves(SPIDERPOOL_GV, "SpiderIPPool")
    facts.nad_installed = cluster.serves(NAD_GV, "NetworkAttachmentDefinition")
    namespace: str | None = None
    try:
        found = cluster.list(
            "apps/v1", "Deployment", all_namespaces=True, label_selector=SPIDERPOOL_CONTROLLER_SELECTOR
        )
        if found:
            facts.spiderpool_deployment = found[0]
            namespace = found[0].get("metadata", {}).get("namespace")
    except (ForbiddenError, NotInstalledError) as err:
        facts.problems["spiderpool-controller"] = err
    candidates = [namespace] if namespace else list(SPIDERPOOL_NAMESPACES)
    for ns in candidates:
        try:
            conf = cluster.get("v1", "ConfigMap", SPIDERPOOL_CONF, ns)
        except ForbiddenError as err:
            facts.problems["spiderpool-conf"] = err
            continue
        except NotFoundError:
            continue
        if conf is not None:
            facts.spiderpool_conf = pick_spiderpool_conf([conf], ns)
            facts.problems.pop("spiderpool-conf", None)
            break
    return facts
