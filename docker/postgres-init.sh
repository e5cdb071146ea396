#!/usr/bin/env bash
# Runs once, when the official postgres image initialises its data directory: the schema owner
# (runs migrations) and the application's role (least privilege) with their own passwords.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$CONTACTPOINT_OWNER_PASSWORD" -v app_pw="$CONTACTPOINT_APP_PASSWORD" <<'SQL'
CREATE ROLE contactpoint_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE contactpoint_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE contactpoint OWNER contactpoint_owner;
REVOKE ALL ON DATABASE contactpoint FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE contactpoint TO contactpoint_app;
SQL
