"""The only layer that talks to the Kubernetes API (kubeconfig, reads, server-side apply, doctor).

It arrives with the cluster verbs (`apply`, `doctor`, `status`, `lint --cluster`); nothing else may import a
Kubernetes client (enforced by import-linter, see pyproject.toml).
"""
