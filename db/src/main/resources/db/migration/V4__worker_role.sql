-- What workers need and no more: read and upsert the run record. No DELETE, no DDL (migrations
-- run as the owner), no TRUNCATE. Grant it to the workers' login: GRANT flipflow_worker TO <login>.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_worker') THEN
        CREATE ROLE flipflow_worker NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not allowed to create role flipflow_worker; ask an administrator to create it';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_worker') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO flipflow_worker', current_schema());
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA %I TO flipflow_worker',
                       current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE ON TABLES'
                       || ' TO flipflow_worker', current_schema());
        -- Flyway's own table stays the owner's
        EXECUTE format('REVOKE INSERT, UPDATE ON %I.flyway_schema_history FROM flipflow_worker',
                       current_schema());
    END IF;
END
$$;
