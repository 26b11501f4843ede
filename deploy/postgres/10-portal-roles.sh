#!/bin/sh
# Runs once, when the postgres service initialises its data volume (docker-entrypoint-initdb.d).
#
# Three roles, least privilege (等保 8.1.4.2): POSTGRES_USER is the cluster's superuser and nothing of the portal
# connects as it; PORTAL_DB_OWNER owns the database and its schema and runs the migrations; PORTAL_DB_APP is what
# web, worker and beat connect as — no superuser, no DDL on the schema, and (granted by `manage.py grant_app_role`
# after every migrate) only SELECT/INSERT on the audit trail's tables.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" -v owner="$PORTAL_DB_OWNER" -v owner_pw="$PORTAL_DB_OWNER_PASSWORD" \
    -v app="$PORTAL_DB_APP" -v app_pw="$PORTAL_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'owner_pw';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'app_pw';
ALTER DATABASE :"db" OWNER TO :"owner";
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";
SQL
