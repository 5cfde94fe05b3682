"""Network: a VPC with isolated subnets only (no NAT, no internet gateway).

In-VPC Lambdas (api, jobstore, migrate) reach S3 through a free gateway endpoint, Step Functions
through an interface endpoint (the api calls StartExecution/StopExecution/DescribeExecution and, for
Sync.so's webhook, SendTaskSuccess; jobstore SendTaskSuccess too), Secrets Manager through an
interface endpoint (the api reads Sync.so's webhook signing secret) and the database through RDS
Proxy. The functions that call Sync.so run outside the VPC (DESIGN §2).

Each interface endpoint costs about $0.01 per hour per AZ ($14.60 a month for two AZs) plus $0.01 per
GB; the Secrets Manager one is the price of keeping the webhook secret out of the function's
configuration without a NAT gateway (~$33 a month per AZ plus data).
"""

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig

PROXY_PORT = 5432  # RDS Proxy for PostgreSQL always listens on 5432
DB_PORT = 5433  # the instance itself listens on a non-default port (AwsSolutions-RDS11)


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig) -> None:
        super().__init__(scope, id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=2,
            nat_gateways=0,
            create_internet_gateway=False,
            # Nothing uses the default security group; restricting it would add a Node.js custom resource.
            restrict_default_security_group=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        self.isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL if config.is_prod else ec2.FlowLogTrafficType.REJECT,
        )

        # Security groups: lambda -> proxy (5432) -> database (DB_PORT); lambda -> endpoints (443).
        self.lambda_sg = ec2.SecurityGroup(
            self,
            "LambdaSg",
            vpc=self.vpc,
            description="ProSync in-VPC Lambdas (api, jobstore, migrate)",
            allow_all_outbound=False,
        )
        self.proxy_sg = ec2.SecurityGroup(
            self, "ProxySg", vpc=self.vpc, description="ProSync RDS Proxy", allow_all_outbound=False
        )
        self.db_sg = ec2.SecurityGroup(
            self, "DbSg", vpc=self.vpc, description="ProSync Postgres instance", allow_all_outbound=False
        )
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSg",
            vpc=self.vpc,
            description="ProSync interface endpoints (HTTPS from the in-VPC Lambdas)",
            allow_all_outbound=False,
        )
        self.lambda_sg.connections.allow_to(self.proxy_sg, ec2.Port.tcp(PROXY_PORT), "Lambdas to RDS Proxy")
        # proxy -> database on DB_PORT: added by `DatabaseInstance.add_proxy` (infra/database.py)
        # Isolated subnets only route to the VPC and the S3 gateway endpoint, so HTTPS egress to any
        # address reaches exactly those (the S3 prefix list id is not known at synth without a lookup).
        self.lambda_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 gateway and interface endpoints"
        )
        endpoint_sg.add_ingress_rule(self.lambda_sg, ec2.Port.tcp(443), "HTTPS from in-VPC Lambdas")

        self.states_endpoint = self.vpc.add_interface_endpoint(
            "StatesEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
            subnets=self.isolated,
            security_groups=[endpoint_sg],
            private_dns_enabled=True,
            open=False,
        )
        self.secrets_endpoint = self.vpc.add_interface_endpoint(
            "SecretsManagerEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=self.isolated,
            security_groups=[endpoint_sg],
            private_dns_enabled=True,
            open=False,
        )
