"""The versions a cluster verb works for: a flag wins, else the intent's ``spec.versions`` (``apply --intent``), else
what the cluster runs (:func:`virtnet.cluster.read.read_facts`: KubeVirt CR status, SpiderPool's Helm labels), else
the newest supported — chosen for KubeVirt and SpiderPool each on its own, with where each came from.

Pure: the facts are read by the caller, and only when a flag or the intent leaves a version open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from virtnet.cluster.facts import Detected, Facts

Origin = Literal["flag", "intent", "cluster", "newest"]


class Wording(NamedTuple):
    """How a verb's output says where a version came from when the cluster told it or could not (each verb's
    sentence is part of its documented output; ``{product}`` and ``{detected}`` are filled in)."""

    cluster: str
    newest: str


APPLY_WORDING = Wording("{product} from {detected}", "{product} not detected ({detected}): the newest supported")
SET_NETWORK_WORDING = Wording("{product} from {detected}", "{product}: the newest supported")
LINT_WORDING = Wording(
    "{product} from the cluster's {detected}", "defaults for {product}: the newest supported ({detected})"
)


@dataclass(frozen=True)
class Chosen:
    """One product's version and where it came from."""

    product: str  # KubeVirt | SpiderPool
    version: str | None  # None: the newest supported
    origin: Origin
    detected: str = "?"  # the cluster's source of its version, or why it has none ('?': the cluster was not read)

    def says(self, wording: Wording) -> str:
        if self.origin == "flag":
            return f"{self.product} from --{self.product.lower()}-version"
        if self.origin == "intent":
            return f"{self.product} from the intent's spec.versions"
        template = wording.cluster if self.origin == "cluster" else wording.newest
        return template.format(product=self.product, detected=self.detected)


@dataclass(frozen=True)
class ChosenVersions:
    kubevirt: Chosen
    spiderpool: Chosen

    def sentence(self, wording: Wording) -> str:
        """``KubeVirt from …; SpiderPool from …``: where each version came from, in the verb's words."""
        return f"{self.kubevirt.says(wording)}; {self.spiderpool.says(wording)}"


def choose_versions(
    kubevirt: str | None,
    spiderpool: str | None,
    facts: Callable[[], Facts],
    intent: tuple[str | None, str | None] = (None, None),
) -> ChosenVersions:
    """Flags (``kubevirt``, ``spiderpool``) → the intent's ``spec.versions`` → the cluster → the newest supported.
    ``facts`` is called (once) only when a flag and the intent leave a version open."""
    read: list[Facts] = []

    def cluster() -> Facts:
        if not read:
            read.append(facts())
        return read[0]

    def choose(product: str, flag: str | None, wanted: str | None, detected: Callable[[Facts], Detected]) -> Chosen:
        if flag:
            return Chosen(product, flag, "flag")
        if wanted:
            return Chosen(product, wanted, "intent")
        found = detected(cluster())
        if found.version is not None:
            return Chosen(product, str(found.version), "cluster", found.source)
        return Chosen(product, None, "newest", found.source)

    kv_intent, sp_intent = intent
    return ChosenVersions(
        choose("KubeVirt", kubevirt, kv_intent, lambda f: f.kubevirt),
        choose("SpiderPool", spiderpool, sp_intent, lambda f: f.spiderpool),
    )
