"""Where the cluster is: kubectl's connection flags as a value. No HTTP here, so the CLI can parse its flags without
loading the client (lightkube and httpx2 cost ~0.3 s to import; `virtnet lint FILE` never needs them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connection:
    """How to reach the cluster: kubectl's flags and environment."""

    kubeconfig: str | None = None  # --kubeconfig; else $KUBECONFIG; else ~/.kube/config; else in-cluster
    context: str | None = None  # --context; else the kubeconfig's current-context
    namespace: str | None = None  # -n; else the context's namespace; else "default"
    request_timeout: float = 30.0  # seconds per request
