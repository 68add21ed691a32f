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


@given(names, names, names)
def test_derived_macs_pass_the_check_lint_uses(ns: str, vm: str, nic: str) -> None:
    from virtnet.model.identity import mac_problem

    assert mac_problem(mac_address(ns, vm, nic), masquerade=True) is None


def test_mac_problem_is_kubevirts_and_libvirts_rule() -> None:
    from virtnet.model.identity import mac_problem

    assert mac_problem("02:6e:7e:00:00:01") is None
    assert mac_problem("02-6E-7E-00-00-01") is None  # net.ParseMAC takes '-' and upper case
    assert "malformed" in (mac_problem("02:6e:7e:00:00") or "")
    assert "too long" in (mac_problem("02:00:00:00:00:00:00:01") or "")
    assert "multicast" in (mac_problem("01:00:5e:00:00:01") or "")
    assert mac_problem("02:00:00:00:00:00") is None
    assert "reserved" in (mac_problem("02:00:00:00:00:00", masquerade=True) or "")


def test_interface_names_follow_dev_valid_name() -> None:
    from virtnet.model.identity import interface_name_problem

    for good in ("ens192", "enp11s0f0np0", "bond0.30", "br-data", "e" * 15):
        assert interface_name_problem(good) is None, good
    for bad, why in (
        ("e" * 16, "16 bytes"),
        ("", "empty"),
        (".", "not a valid"),
        ("..", "not a valid"),
        ("a/b", "'/'"),
        ("a:1", "':'"),
        ("a b", "space"),
        ("a\tb", "space"),
        ("ens192;rm", "';'"),
        ("ä" * 8, "16 bytes"),  # bytes, not characters
    ):
        assert why in (interface_name_problem(bad) or ""), bad
