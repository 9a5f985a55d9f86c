"""Checks cloudformation/xfr53.yaml: the IAM and security-group rules the
design demands, and (given moto's endpoint as the first argument) that the
stack creates in moto's CloudFormation with the expected resources.

Run by the Rust test suite (tests/all/cloudformation.rs) with the venv's
Python; exits non-zero with a message on the first broken rule."""

import sys
import time
from pathlib import Path

from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).with_name("xfr53.yaml")


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def as_list(value):
    return value if isinstance(value, list) else [value]


def static_rules(template):
    resources = template["Resources"]

    sg = resources["SecurityGroup"]["Properties"]
    rules = sg["SecurityGroupIngress"]
    check(
        sorted((r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in rules)
        == [("tcp", 53, 53), ("udp", 53, 53)],
        "the security group opens exactly UDP and TCP 53",
    )
    for rule in rules:
        check(rule.get("CidrIp") == {"Ref": "PrimaryCidr"}, "port 53 is open to PrimaryCidr only")
    for name, resource in resources.items():
        if resource["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroup"):
            text = str(resource)
            check("0.0.0.0/0" not in text and "::/0" not in text, f"{name} opens nothing to the world")
    check(resources["SshIngress"].get("Condition") == "HasSsh", "SSH only when SshCidr is set")

    statements = resources["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    for statement in statements:
        for action in as_list(statement["Action"]):
            check("*" not in action, f"no wildcard action ({action})")
        for resource in as_list(statement["Resource"]):
            check(resource != "*", f"{statement['Sid']}: no '*' resource")
    zone = by_sid["Route53Zone"]
    check(
        sorted(zone["Action"])
        == ["route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets"],
        "hosted zone actions are change, list and get",
    )
    check("hostedzone/${HostedZoneId}" in str(zone["Resource"]), "only the configured hosted zone")
    check(by_sid["Route53Changes"]["Action"] == "route53:GetChange", "GetChange on changes")
    check("change/*" in str(by_sid["Route53Changes"]["Resource"]), "GetChange on change ARNs only")
    check(by_sid["Alerts"]["Resource"] == {"Ref": "AlertTopic"}, "sns:Publish on the stack's topic only")
    eip = str(by_sid["OwnElasticIp"]["Resource"])
    check("elastic-ip/${ElasticIp.AllocationId}" in eip, "EIP association limited to the stack's allocation")

    template_data = resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    check(template_data["MetadataOptions"]["HttpTokens"] == "required", "IMDSv2 required")
    asg = resources["AutoScalingGroup"]["Properties"]
    check((asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == ("1", "1", "1"), "exactly one instance")
    check(resources["InstanceHealthAlarm"]["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}], "alarm to the topic")
    check({"ElasticIp", "AlertTopicArn"} <= set(template["Outputs"]), "outputs the Elastic IP and the topic")


def creates_in_moto(endpoint):
    import boto3

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = lambda service: session.client(service, endpoint_url=endpoint)
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.53.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.53.1.0/24")["Subnet"]["SubnetId"]
    zone = client("route53").create_hosted_zone(Name="example.com.", CallerReference="cfn")["HostedZone"]["Id"]
    parameters = {
        "VpcId": vpc,
        "SubnetIds": subnet,
        "ZoneName": "example.com",
        "HostedZoneId": zone.split("/")[-1],
        "PrimaryAddress": "203.0.113.10",
        "PrimaryCidr": "203.0.113.0/24",
        "PackageBucket": "xfr53-packages",
        "PackageKey": "xfr53_0.1.0-1_amd64.deb",
        "AlertEmail": "ops@example.com",
    }
    # moto holds no Debian public parameter, reserves /aws/service/ names, and
    # resolves a parameter's default even when a value is given: the stack
    # it creates points ImageId's default at a public parameter it serves.
    debian = "/aws/service/debian/release/12/latest/amd64"
    served = "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"
    body = TEMPLATE.read_text()
    check(f"Default: {debian}" in body, "the template's AMI default is Debian's public parameter")
    # moto loads its public parameters on the first SSM request
    client("ssm").get_parameter(Name=served)
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName="xfr53",
        TemplateBody=body.replace(f"Default: {debian}", f"Default: {served}"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    for _ in range(60):
        stack = cfn.describe_stacks(StackName="xfr53")["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.5)
    check(stack["StackStatus"] == "CREATE_COMPLETE", f"stack status {stack['StackStatus']}: {stack.get('StackStatusReason')}")
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in cfn.list_stack_resources(StackName="xfr53")["StackResourceSummaries"]}
    expected = {
        "ElasticIp": "AWS::EC2::EIP",
        "SecurityGroup": "AWS::EC2::SecurityGroup",
        "AlertTopic": "AWS::SNS::Topic",
        "LogGroup": "AWS::Logs::LogGroup",
        "Role": "AWS::IAM::Role",
        "InstanceProfile": "AWS::IAM::InstanceProfile",
        "LaunchTemplate": "AWS::EC2::LaunchTemplate",
        "AutoScalingGroup": "AWS::AutoScaling::AutoScalingGroup",
    }
    # moto 5.2.5 does not list AlertSubscription and InstanceHealthAlarm as
    # stack resources (README says so): they are not checked here
    for logical, kind in expected.items():
        check(created.get(logical) == kind, f"{logical} ({kind}) created; moto created {created}")
    check("SshIngress" not in created, "no SSH rule without SshCidr")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    check(outputs.get("ElasticIp"), f"the Elastic IP is an output: {outputs}")
    check(outputs.get("AlertTopicArn", "").startswith("arn:aws:sns:"), f"the topic is an output: {outputs}")
    print(f"stack created in moto: {sorted(created)}; outputs {outputs}")


if __name__ == "__main__":
    static_rules(cfn_yaml.load(str(TEMPLATE)))
    print("template rules OK")
    if len(sys.argv) > 1:
        creates_in_moto(sys.argv[1])
