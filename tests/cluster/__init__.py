"""Tests against a real kube-apiserver + etcd with upstream CRDs (docs/envtest.md)."""
