"""Database: RDS PostgreSQL 16 behind RDS Proxy; clients authenticate to the proxy with IAM tokens.

Two logins (migration 0005 creates the second and its grants):
- OWNER_DB_USER, the instance's master user, owns the schema; only the migrate function (migrations,
  the operator's set_tier) connects as it. The proxy reaches Postgres as the owner with the generated
  master credentials in Secrets Manager.
- APP_DB_USER, `prosync_app`: DML on the job tables, no DDL; api, jobstore and sweeper connect as it.
  It has no password: the proxy signs it in to Postgres with IAM as well (end-to-end IAM,
  `DefaultAuthScheme: IAM_AUTH`, the role has `rds_iam`), so it needs no second secret.
Lambdas never read a secret: they sign an IAM auth token locally (boto3 `generate_db_auth_token`) for
their DB_USER and connect with TLS (`verify-full`).
"""

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import StackConfig
from infra.network import DB_PORT, PROXY_PORT, Network

DB_NAME = "prosync"
OWNER_DB_USER = "prosync"  # master user, schema owner: the migrate function only
APP_DB_USER = "prosync_app"  # the other functions: DML, no DDL (migration 0005)
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
                OWNER_DB_USER, secret_name=f"{config.prefix}/db/master"
            ),
            iam_authentication=True,  # the proxy signs APP_DB_USER in with IAM
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
            # users without a secret (APP_DB_USER) are signed in to Postgres with IAM by the proxy
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            idle_client_timeout=Duration.minutes(30),
            max_connections_percent=90,
            debug_logging=False,
        )

        # End-to-end IAM: the proxy's own role connects to the instance as APP_DB_USER.
        proxy_role: iam.Role = self.proxy.node.find_child("IAMRole")
        stack = Stack.of(self)
        proxy_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["rds-db:connect"],
                resources=[
                    stack.format_arn(
                        service="rds-db",
                        resource="dbuser",
                        resource_name=f"{self.instance.instance_resource_id}/{APP_DB_USER}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

    def client_environment(self, user: str = APP_DB_USER) -> dict[str, str]:
        """What an in-VPC function needs to reach Postgres (read by `prosync.settings.DatabaseSettings`)."""
        return {
            "DB_HOST": self.proxy.endpoint,
            "DB_PORT": str(PROXY_PORT),
            "DB_NAME": DB_NAME,
            "DB_USER": user,
            "DB_IAM_AUTH": "true",
            "DB_SSLROOTCERT": CA_BUNDLE,
        }

    def grant_connect(self, grantee: iam.IGrantable, user: str = APP_DB_USER) -> None:
        """`rds-db:connect` as `user` through the proxy, nothing else (no secret read)."""
        self.proxy.grant_connect(grantee, user)
