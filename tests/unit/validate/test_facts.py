import json

import pytest

from sparkctl.validate.facts import FactsError, ipv4_mapped_gid, parse_node_facts


def test_parse_node_facts_splits_address_families():
    doc = {"netdevs": {"enp1s0f1np1": {
        "exists": True, "operstate": "up", "admin_up": True, "carrier": 1, "speed": 10000,
        "mtu": 9000, "mac": "aa:bb:cc:dd:ee:ff", "addresses": [
            {"family": "inet", "local": "192.168.100.1", "prefixlen": 24, "scope": "global"},
            {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
            {"family": "inet6", "local": "2001:db8::1", "prefixlen": 64, "scope": "global"}]},
        "enp1s0f0np0": {"exists": False}},
        "hcas": {"rocep1s0f1": {"exists": True, "state": "4: ACTIVE", "link_layer": "Ethernet",
                                "gids": {"3": {"gid": "x", "type": "RoCE v2", "ndev": None}},
                                "counters": {"symbol_error": "0"}}}}
    facts = parse_node_facts("spark-1", "noise\n" + json.dumps(doc))
    nd = facts.netdev("enp1s0f1np1")
    assert nd.ipv4 == ("192.168.100.1/24",)
    assert nd.link_local == ("fe80::1",)
    assert nd.ipv6_global == ("2001:db8::1/64",)
    assert nd.has_carrier
    assert not facts.netdev("enp1s0f0np0").exists
    assert not facts.netdev("never-listed").exists
    assert facts.hcas["rocep1s0f1"].active
    assert facts.hcas["rocep1s0f1"].gids[0].index == 3


@pytest.mark.parametrize("text", ["", "not json", '{"no_netdevs": 1}', '{"netdevs": 5}'])
def test_unreadable_facts_name_the_node(text):
    with pytest.raises(FactsError, match="spark-2"):
        parse_node_facts("spark-2", text)


def test_ipv4_mapped_gid_matches_sysfs_format():
    assert ipv4_mapped_gid("192.168.100.1") == "0000:0000:0000:0000:0000:ffff:c0a8:6401"
