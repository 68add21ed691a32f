// Writes the CRD sets of the test control plane (see docs/envtest.md).
// Standard library only: the upstream modules it reads are fetched with
// `go mod download` at the versions pinned in ../versions.env.
module virtnet.local/envtest/crds

go 1.25.0
