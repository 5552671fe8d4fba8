from automation.offline import run_stack


def test_infra_dev_exports_the_contract_keys():
    rec = run_stack("infra-dev")
    assert set(rec.outputs) == {
        "VpcId",
        "PublicSubnetIds",
        "PrivateSubnetIds",
        "ClusterName",
        "ClusterArn",
        "NamespaceId",
        "NamespaceName",
        "NamespaceArn",
    }
