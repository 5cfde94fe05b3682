"""Removal follows the stage: dev is torn down with the stack, prod keeps its data and its logs."""

import pytest

STATEFUL = ("AWS::Logs::LogGroup", "AWS::S3::Bucket")


@pytest.mark.parametrize("flavour, policy", [("dev", "Delete"), ("prod", "Retain")])
def test_every_log_group_and_bucket_follows_the_stage(flavour, policy, request):
    synth = request.getfixturevalue(flavour)
    for type_ in STATEFUL:
        found = synth.resources(type_)
        assert found, type_
        for logical_id, resource in found.items():
            assert resource.get("DeletionPolicy") == policy, (type_, logical_id)
            assert resource.get("UpdateReplacePolicy") == policy, (type_, logical_id)


def test_the_page_is_removed_with_a_dev_stack_and_kept_in_prod(dev, prod):
    for synth, retain in ((dev, False), (prod, True)):
        (deploy,) = synth.resources("Custom::CDKBucketDeployment").values()
        assert deploy["Properties"]["RetainOnDelete"] is retain
