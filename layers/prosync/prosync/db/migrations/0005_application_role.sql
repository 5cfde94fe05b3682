-- The functions' database role: data (DML) on the job tables, no DDL. Only the migration runner
-- connects as the owner (the instance's master user), so a bug or an injection in a function cannot
-- change the schema or read schema_migrations. Roles are per cluster, this file runs per database:
-- creating the role tolerates a twin created meanwhile (parallel test databases).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'prosync_app') THEN
        BEGIN
            CREATE ROLE prosync_app LOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    -- RDS: the role signs in with IAM tokens (the proxy's end-to-end IAM auth); no password exists.
    -- rds_iam exists only on RDS, so a local cluster skips it.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO prosync_app;
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO prosync_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO prosync_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO prosync_app;
REVOKE ALL ON schema_migrations FROM prosync_app;
-- tables and sequences later migrations create (as the owner running them) get the same grants
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO prosync_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO prosync_app;
