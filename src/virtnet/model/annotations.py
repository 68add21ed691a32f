"""Annotation keys that KubeVirt, Multus and SpiderPool read, shared by the renderer and the linter."""

# Multus: the pod's cluster (primary) network, `namespace/name` of a NAD.
DEFAULT_NETWORK = "v1.multus-cni.io/default-network"
# SpiderPool (SP@v1.2.2:pkg/constant/k8s.go): pools per NIC, pools for every NIC, default-route NIC.
IPPOOLS = "ipam.spidernet.io/ippools"
IPPOOL = "ipam.spidernet.io/ippool"
DEFAULT_ROUTE_NIC = "ipam.spidernet.io/default-route-nic"
# SpiderMultusConfig: the name of the NAD it generates (default: the SMC's own name).
CR_NAME = "multus.spidernet.io/cr-name"
