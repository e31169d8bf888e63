#!/bin/sh
# Runs once, on an empty data directory (postgres image's /docker-entrypoint-initdb.d): the roles
# and database for flipflow's record, and the role Temporal's schema job uses to create its own
# two databases (temporal, temporal_visibility) on the same server.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" -v flipflow_pw="$FLIPFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE ROLE flipflow LOGIN PASSWORD :'flipflow_pw';
-- V1 creates the analysts' read-only role when the migrating user may: let it.
ALTER ROLE flipflow CREATEROLE;
CREATE DATABASE flipflow OWNER flipflow;
SQL
