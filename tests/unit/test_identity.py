from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from virtnet.model.identity import RESERVED_MACS, mac_address, split_ref

names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@given(names, names, names)
def test_mac_is_locally_administered_unicast_and_stable(ns: str, vm: str, nic: str) -> None:
    mac = mac_address(ns, vm, nic)
    first = int(mac.split(":")[0], 16)
    assert first & 0b10, "locally administered bit"
    assert not first & 0b01, "unicast"
    assert mac == mac_address(ns, vm, nic)
    assert mac not in RESERVED_MACS
    assert len(mac.split(":")) == 6


def test_mac_differs_per_nic_vm_and_namespace() -> None:
    macs = {mac_address("a", "vm", "nic1"), mac_address("a", "vm", "nic2"), mac_address("b", "vm", "nic1")}
    assert len(macs) == 3


def test_split_ref_like_kubevirt() -> None:
    assert split_ref("kube-system/macvlan-ens192", "default") == ("kube-system", "macvlan-ens192")
    assert split_ref("macvlan-ens192", "vms") == ("vms", "macvlan-ens192")
