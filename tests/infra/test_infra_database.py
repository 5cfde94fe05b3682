"""Database: encrypted Postgres 16 behind an IAM-auth, TLS-only RDS Proxy; migrations on deploy."""


from prosync.db.migrate import migrations_digest
from infra.network import DB_PORT


def _instance(synth):
    return synth.template["Resources"][synth.logical_id(synth.stack.database.instance)]


def test_postgres_16_encrypted_with_backups_on_a_non_default_port(synth):
    props = _instance(synth)["Properties"]
    assert props["Engine"] == "postgres" and props["EngineVersion"] == "16"  # major only: minors auto-upgrade
    assert props["AutoMinorVersionUpgrade"] is True
    assert props["StorageEncrypted"] is True
    assert props["BackupRetentionPeriod"] >= 1
    assert props["Port"] == str(DB_PORT) != "5432"
    assert props["PubliclyAccessible"] is False
    assert "secretsmanager" in str(props["MasterUserPassword"])  # generated secret, no literal


def test_prod_is_protected_and_dev_is_disposable(dev, prod):
    dev_db, prod_db = _instance(dev), _instance(prod)
    assert prod_db["Properties"]["DeletionProtection"] is True
    assert prod_db["Properties"]["MultiAZ"] is True
    assert prod_db["DeletionPolicy"] == prod_db["UpdateReplacePolicy"] == "Snapshot"
    assert prod_db["Properties"]["BackupRetentionPeriod"] >= 7
    assert dev_db["Properties"]["DeletionProtection"] is False
    assert dev_db["DeletionPolicy"] == "Delete"


def test_force_ssl_parameter(synth):
    (group,) = synth.resources("AWS::RDS::DBParameterGroup").values()
    assert group["Properties"]["Family"] == "postgres16"
    assert group["Properties"]["Parameters"]["rds.force_ssl"] == "1"


def test_proxy_requires_iam_auth_and_tls(synth):
    (proxy,) = synth.resources("AWS::RDS::DBProxy").values()
    props = proxy["Properties"]
    assert props["RequireTLS"] is True and props["EngineFamily"] == "POSTGRESQL"
    (auth,) = props["Auth"]
    assert auth["IAMAuth"] == "REQUIRED" and auth["AuthScheme"] == "SECRETS"
    assert auth["SecretArn"] == {"Ref": synth.logical_id(synth.stack.database.secret)}


def test_migrations_run_by_a_custom_resource_keyed_on_the_migration_files(synth):
    (resource,) = synth.resources("Custom::ProSyncMigrations").values()
    assert resource["Properties"]["MigrationsHash"] == migrations_digest()
    framework = synth.logical_id(synth.stack.migrations.framework_function)
    assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [framework, "Arn"]}
    depends = set(resource["DependsOn"])
    assert synth.logical_id(synth.stack.database.proxy) in depends
    assert synth.logical_id(synth.stack.database.instance) in depends
    migrate, _ = synth.function("migrate")
    framework_env = synth.template["Resources"][framework]["Properties"]["Environment"]["Variables"]
    assert framework_env["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [migrate, "Arn"]}


def test_migration_hash_changes_with_the_files(monkeypatch):
    from prosync.db import migrate

    files = [migrate.Migration("0001", "a", "create table a();")]
    monkeypatch.setattr(migrate, "load_migrations", lambda: list(files))
    first = migrate.migrations_digest()
    files.append(migrate.Migration("0002", "b", "create table b();"))
    assert migrate.migrations_digest() != first
