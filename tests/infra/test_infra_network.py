"""Network: isolated subnets only, no NAT, endpoints for S3 and Step Functions, flow logs."""

from infra.network import DB_PORT, PROXY_PORT


def test_no_nat_gateway_and_no_internet_route(synth):
    assert not synth.resources("AWS::EC2::NatGateway")
    assert not synth.resources("AWS::EC2::InternetGateway")
    assert not synth.resources("AWS::EC2::EIP")
    for route in synth.resources("AWS::EC2::Route").values():
        assert "GatewayId" not in route["Properties"] and "NatGatewayId" not in route["Properties"]


def test_subnets_are_isolated_in_two_azs(synth):
    subnets = synth.resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert len({str(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}) == 2
    for subnet in subnets.values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_s3_gateway_and_step_functions_interface_endpoints(synth):
    endpoints = synth.resources("AWS::EC2::VPCEndpoint").values()
    kinds = {
        (e["Properties"].get("VpcEndpointType", "Gateway"), str(e["Properties"]["ServiceName"]))
        for e in endpoints
    }
    assert any(kind == "Gateway" and ".s3" in name for kind, name in kinds)
    assert any(kind == "Interface" and name.endswith(".states") for kind, name in kinds)
    # the api reads Sync.so's webhook signing secret without a NAT gateway
    assert any(kind == "Interface" and name.endswith(".secretsmanager") for kind, name in kinds)
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert all(e["Properties"]["PrivateDnsEnabled"] for e in interface)


def test_flow_logs_with_retention(synth):
    (flow_log,) = synth.resources("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["Properties"]["ResourceType"] == "VPC"
    group = synth.template["Resources"][flow_log["Properties"]["LogGroupName"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] > 0


def _ingress_rules(synth, sg_construct):
    sg = synth.logical_id(sg_construct)
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg, "GroupId"]}
    ]
    inline = synth.template["Resources"][sg]["Properties"].get("SecurityGroupIngress", [])
    return rules + inline


def test_database_reachable_only_through_the_proxy(synth):
    network = synth.stack.network
    (db_rule,) = _ingress_rules(synth, network.db_sg)
    instance_port = {"Fn::GetAtt": [synth.logical_id(synth.stack.database.instance), "Endpoint.Port"]}
    assert db_rule["FromPort"] == db_rule["ToPort"] == instance_port
    assert db_rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [synth.logical_id(network.proxy_sg), "GroupId"]}
    instance = synth.template["Resources"][synth.logical_id(synth.stack.database.instance)]
    assert instance["Properties"]["Port"] == str(DB_PORT)
    (proxy_rule,) = _ingress_rules(synth, network.proxy_sg)
    assert (proxy_rule["FromPort"], proxy_rule["ToPort"]) == (PROXY_PORT, PROXY_PORT)
    assert proxy_rule["SourceSecurityGroupId"] == {
        "Fn::GetAtt": [synth.logical_id(network.lambda_sg), "GroupId"]
    }


def test_no_security_group_is_open_to_the_internet(synth):
    for sg in synth.resources("AWS::EC2::SecurityGroup").values():
        for rule in sg["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"
    for rule in synth.resources("AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") != "0.0.0.0/0"


def test_synth_needs_no_context_lookup(synth):
    """No AWS call at synth: nothing is left for the CLI to look up (AZs come from Fn::GetAZs)."""
    import json

    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert not manifest.get("missing")
    assert "dummy" not in json.dumps(synth.template)
