"""Database: RDS PostgreSQL 16 behind RDS Proxy; clients authenticate to the proxy with IAM tokens.

The proxy reaches Postgres with the generated master credentials kept in Secrets Manager; Lambdas never
read that secret: they sign an IAM auth token locally (boto3 `generate_db_auth_token`) and connect with
TLS (`verify-full`), so the VPC needs no Secrets Manager endpoint.
"""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import StackConfig
from infra.network import DB_PORT, PROXY_PORT, Network

DB_NAME = "prosync"
DB_USER = "prosync"  # the login the proxy holds a secret for; clients use it with IAM tokens
# Public CA bundle of the Lambda runtime (Amazon Linux 2023): RDS Proxy presents an Amazon Trust
# Services certificate, so verify-full works without shipping the RDS CA bundle.
CA_BUNDLE = "/etc/pki/tls/certs/ca-bundle.crt"


class Database(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StackConfig, network: Network) -> None:
        super().__init__(scope, id)
        self.instance_id = f"{config.prefix}-db"
        # The major version only: RDS picks the current 16.x at create and `auto_minor_version_upgrade`
        # keeps it current, so CloudFormation never tries to move the instance back to an older minor.
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_16)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="ProSync Postgres 16: TLS only, slow statements logged",
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )
        # Created here (not by RDS) so that it has a retention and no LogRetention custom resource.
        log_group = logs.LogGroup(
            self,
            "PostgresLog",
            log_group_name=f"/aws/rds/instance/{self.instance_id}/postgresql",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Postgres",
            instance_identifier=self.instance_id,
            engine=engine,
            instance_type=ec2.InstanceType.of(
                ec2.InstanceClass.BURSTABLE4_GRAVITON,
                ec2.InstanceSize.SMALL if config.is_prod else ec2.InstanceSize.MICRO,
            ),
            vpc=network.vpc,
            vpc_subnets=network.isolated,
            security_groups=[network.db_sg],
            port=DB_PORT,
            database_name=DB_NAME,
            credentials=rds.Credentials.from_generated_secret(
                DB_USER, secret_name=f"{config.prefix}/db/master"
            ),
            parameter_group=parameters,
            storage_encrypted=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=20,
            max_allocated_storage=100,
            multi_az=config.is_prod,
            backup_retention=Duration.days(7 if config.is_prod else 1),
            preferred_backup_window="03:00-03:30",
            preferred_maintenance_window="sun:04:00-sun:04:30",
            delete_automated_backups=not config.is_prod,
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.SNAPSHOT if config.is_prod else RemovalPolicy.DESTROY,
            cloudwatch_logs_exports=["postgresql"],
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
            copy_tags_to_snapshot=True,
        )
        self.instance.node.add_dependency(log_group)
        self.secret = self.instance.secret

        self.proxy_name = f"{config.prefix}-proxy"
        self.proxy = self.instance.add_proxy(
            "Proxy",
            db_proxy_name=self.proxy_name,
            secrets=[self.secret],
            vpc=network.vpc,
            vpc_subnets=network.isolated,
            security_groups=[network.proxy_sg],
            iam_auth=True,
            require_tls=True,
            idle_client_timeout=Duration.minutes(30),
            max_connections_percent=90,
            debug_logging=False,
        )

    def client_environment(self) -> dict[str, str]:
        """What an in-VPC function needs to reach Postgres (read by `prosync.settings.DatabaseSettings`)."""
        return {
            "DB_HOST": self.proxy.endpoint,
            "DB_PORT": str(PROXY_PORT),
            "DB_NAME": DB_NAME,
            "DB_USER": DB_USER,
            "DB_IAM_AUTH": "true",
            "DB_SSLROOTCERT": CA_BUNDLE,
        }

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """`rds-db:connect` as DB_USER through the proxy, nothing else (no secret read)."""
        self.proxy.grant_connect(grantee, DB_USER)
