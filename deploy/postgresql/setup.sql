-- Run once as the postgres superuser: sudo -u postgres psql -f deploy/postgresql/setup.sql
-- then set the role's password: sudo -u postgres psql -c "\password xinqiao"
-- CREATEDB: `flask backup verify` restores each backup into a scratch database, then drops it.
CREATE ROLE xinqiao LOGIN CREATEDB;
CREATE DATABASE xinqiao OWNER xinqiao ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE xinqiao FROM PUBLIC;
