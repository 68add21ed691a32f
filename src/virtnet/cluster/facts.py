"""What virtnet needs to know about a cluster before it acts: versions, the KubeVirt CR, SpiderPool's config.

``read_facts(cluster)`` does the reads (a handful of requests, each allowed to be refused); everything else here is
pure — it takes the objects as dicts, so an admission webhook or a controller can reuse it with objects it already
has.

Sources:
- KubeVirt version: ``KubeVirt.status.observedKubeVirtVersion`` (set by virt-operator once deployed; before that
  ``targetKubeVirtVersion``) — KV@v1.9.0:staging/src/kubevirt.io/api/core/v1/types.go KubeVirtStatus.
- SpiderPool version: the Helm chart labels of Deployment ``spiderpool-controller`` and of ConfigMap
  ``spiderpool-conf`` (``app.kubernetes.io/version: "<appVersion>"``, ``helm.sh/chart: spiderpool-<chartVersion>``),
  else the controller image tag ``v<appVersion>`` — SP@v1.2.2:charts/spiderpool/templates/_helpers.tpl,
  deployment.yaml, configmap.yaml.
- ``spiderpool-conf`` ``conf.yml`` is read by SpiderPool with ``yaml.Unmarshal`` into Go bools: a missing key is
  false — SP@v1.2.2:cmd/spiderpool-agent/cmd/config.go, pkg/types/k8s.go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from virtnet.errors import ClusterError, ForbiddenError, NotInstalledError, UnsupportedVersionError
from virtnet.model.manifest import as_list as _list
from virtnet.model.manifest import as_map as _map
from virtnet.model.versions import KUBEVIRT, SPIDERPOOL, Version

KUBEVIRT_GV = "kubevirt.io/v1"
SPIDERPOOL_GV = "spiderpool.spidernet.io/v2beta1"
NAD_GV = "k8s.cni.cncf.io/v1"
SPIDERPOOL_CONF = "spiderpool-conf"
SPIDERPOOL_CONTROLLER_SELECTOR = "app.kubernetes.io/component=spiderpool-controller"
HCO_LABEL = "app.kubernetes.io/managed-by"  # HCO marks the KubeVirt CR it owns with this label …
HCO_MANAGER = "hco-operator"  # … set to this value (kubevirt/hyperconverged-cluster-operator, pkg/util/consts.go)
HCO_KIND = "HyperConverged"

_CHART = re.compile(r"^spiderpool-v?(\d+\.\d+\.\d+)")
_TAG = re.compile(r":v?(\d+\.\d+\.\d+)(?:@|$)")


@dataclass(frozen=True)
class Detected:
    """A version found in the cluster (or not), and where it came from — or why it could not be read."""

    version: Version | None
    source: str
    text: str | None = None  # the version as the cluster wrote it (set even when it is not a supported one)

    def __str__(self) -> str:
        return f"{self.version} ({self.source})" if self.version else f"unknown ({self.source})"


def kubevirt_version(cr: Mapping[str, Any] | None) -> Detected:
    if cr is None:
        return Detected(None, "no KubeVirt CR")
    status = _map(cr.get("status"))
    name = f"KubeVirt {_map(cr.get('metadata')).get('namespace')}/{_map(cr.get('metadata')).get('name')}"
    for key in ("observedKubeVirtVersion", "targetKubeVirtVersion"):
        text = status.get(key)
        if isinstance(text, str) and text:
            return _parsed(KUBEVIRT.parse, text, f"{name} status.{key}")
    return Detected(None, f"{name} reports no version yet (status.observedKubeVirtVersion is empty)")


def spiderpool_version(deployment: Mapping[str, Any] | None, conf: Mapping[str, Any] | None) -> Detected:
    for obj, what in ((deployment, "Deployment"), (conf, "ConfigMap")):
        if obj is None:
            continue
        meta = _map(obj.get("metadata"))
        labels = _map(meta.get("labels"))
        name = f"{what} {meta.get('namespace')}/{meta.get('name')}"
        text = labels.get("app.kubernetes.io/version")
        if isinstance(text, str) and text:
            return _parsed(SPIDERPOOL.parse, text, f"{name} label app.kubernetes.io/version")
        chart = labels.get("helm.sh/chart")
        match = _CHART.match(chart) if isinstance(chart, str) else None
        if match:
            return _parsed(SPIDERPOOL.parse, match.group(1), f"{name} label helm.sh/chart")
        if what == "Deployment":
            for image in controller_images(obj):
                tag = _TAG.search(image)
                if tag:
                    return _parsed(SPIDERPOOL.parse, tag.group(1), f"{name} image {image}")
    if deployment is None and conf is None:
        return Detected(None, "no spiderpool-controller Deployment or spiderpool-conf ConfigMap found")
    return Detected(None, "the spiderpool-controller Deployment carries no version label or image tag")


def controller_images(deployment: Mapping[str, Any]) -> list[str]:
    pod = _map(_map(_map(deployment.get("spec")).get("template")).get("spec"))
    containers = _list(pod.get("containers"))
    return [str(c.get("image")) for c in containers if isinstance(c, Mapping) and c.get("image")]


def _parsed(parse: Callable[[str], Version], text: str, source: str) -> Detected:
    try:
        return Detected(parse(text), source, text)
    except UnsupportedVersionError as err:
        return Detected(None, f"{source} says {text}: {err}", text)


@dataclass(frozen=True)
class SpiderpoolConf:
    """The switches of ``spiderpool-conf`` ``conf.yml`` that decide whether a VM gets an IP. Missing keys are
    false, as SpiderPool reads them."""

    enable_kubevirt_static_ip: bool
    enable_ipv4: bool
    enable_ipv6: bool
    problem: str | None = None  # conf.yml missing or not YAML: SpiderPool would not start with it

    @classmethod
    def parse(cls, configmap: Mapping[str, Any]) -> SpiderpoolConf:
        text = _map(configmap.get("data")).get("conf.yml")
        if not isinstance(text, str):
            return cls(False, False, False, problem="it has no data key conf.yml")
        try:
            conf = yaml.safe_load(text)
        except yaml.YAMLError:
            return cls(False, False, False, problem="its conf.yml is not valid YAML")
        conf = _map(conf)
        return cls(
            enable_kubevirt_static_ip=conf.get("enableKubevirtStaticIP") is True,
            enable_ipv4=conf.get("enableIPv4") is True,
            enable_ipv6=conf.get("enableIPv6") is True,
        )


def hco_owned(cr: Mapping[str, Any] | None) -> bool:
    """Is the KubeVirt CR managed by the HyperConverged Cluster Operator (which reverts direct edits)?"""
    if cr is None:
        return False
    meta = _map(cr.get("metadata"))
    if _map(meta.get("labels")).get(HCO_LABEL) == HCO_MANAGER:
        return True
    owners = _list(meta.get("ownerReferences"))
    return any(isinstance(o, Mapping) and o.get("kind") == HCO_KIND for o in owners)


@dataclass
class Facts:
    """What :func:`read_facts` found. ``problems`` maps what could not be read to the error (forbidden, not
    installed), so each consumer can say "skip: forbidden (needs get on X)" instead of failing."""

    server: str
    server_version: str | None = None
    kubevirt_installed: bool = False
    kubevirt_cr: dict[str, Any] | None = None
    spiderpool_installed: bool = False
    spiderpool_deployment: dict[str, Any] | None = None
    spiderpool_conf: dict[str, Any] | None = None
    nad_installed: bool = False
    problems: dict[str, ClusterError] = field(default_factory=dict)

    @property
    def kubevirt(self) -> Detected:
        if "kubevirt" in self.problems:
            return Detected(None, why_unreadable(self.problems["kubevirt"]))
        return kubevirt_version(self.kubevirt_cr)

    @property
    def spiderpool(self) -> Detected:
        found = spiderpool_version(self.spiderpool_deployment, self.spiderpool_conf)
        if found.version is None and "spiderpool-controller" in self.problems:
            return Detected(None, why_unreadable(self.problems["spiderpool-controller"]))
        return found

    @property
    def conf(self) -> SpiderpoolConf | None:
        return SpiderpoolConf.parse(self.spiderpool_conf) if self.spiderpool_conf is not None else None


def why_unreadable(err: ClusterError) -> str:
    """Why a read failed, as the reports say it: ``forbidden (needs list on X)``, ``not installed``, else the
    error's message."""
    if isinstance(err, ForbiddenError):
        return f"forbidden (needs {err.needs})"
    if isinstance(err, NotInstalledError):
        return "not installed"
    return err.message


def pick_spiderpool_conf(configmaps: Sequence[Mapping[str, Any]], namespace: str | None) -> dict[str, Any] | None:
    """The ``spiderpool-conf`` of SpiderPool's release namespace when known, else the first one."""
    matching = [dict(c) for c in configmaps if _map(c.get("metadata")).get("name") == SPIDERPOOL_CONF]
    for c in matching:
        if _map(c.get("metadata")).get("namespace") == namespace:
            return c
    return matching[0] if matching else None
