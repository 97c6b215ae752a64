-- PostgreSQL setup for certyo-cdc + Debezium (pgoutput). Idempotent: safe to run again, e.g. after adding a table.
-- Run as a superuser in the captured database:
--   psql -v ON_ERROR_STOP=1 -v cdc_user=certyo_cdc -v cdc_password="$PASSWORD" -d productdb -f certyo-cdc.sql
-- (the compose stack runs it once through 10-certyo-cdc.sh). Server settings it needs, in postgresql.conf or on the
-- command line: wal_level=logical, max_replication_slots and max_wal_senders >= 1 per connector.
--
-- What it does:
--   1. the CDC role: LOGIN REPLICATION (Debezium streams from the slot), SELECT on the captured tables (the
--      initial snapshot, and certyo-cdc's column-type lookup for schemaless envelopes);
--   2. the example tables of the stack (products, order_lines); replace them with yours;
--   3. REPLICA IDENTITY FULL on every captured table, so updates and deletes carry whole rows (no TOASTed
--      placeholders, which certyo-cdc refuses to anchor);
--   4. the publication certyo_publication (certyo-cdc's default name, and connector.json's), listing exactly the
--      captured tables: the connector runs with publication.autocreate.mode=disabled, so the CDC role never
--      needs to own tables or be a superuser.
\set ON_ERROR_STOP on

-- 1. CDC role (created, or its password and attributes brought up to date)
SELECT format('CREATE ROLE %I LOGIN REPLICATION', :'cdc_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'cdc_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER PASSWORD %L', :'cdc_user', :'cdc_password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'cdc_user') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'cdc_user') \gexec

-- 2. example tables (the stack's and the end-to-end test's)
CREATE TABLE IF NOT EXISTS public.products (
    id          bigint PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    price       numeric(10,2) NOT NULL,
    in_stock    boolean NOT NULL DEFAULT true,
    attributes  jsonb,
    photo       bytea,
    warranty    interval,
    launched_on date,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.order_lines (
    order_id   bigint NOT NULL,
    line_no    integer NOT NULL,
    product_id bigint NOT NULL,
    quantity   integer NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    note       text,
    PRIMARY KEY (order_id, line_no)
);

-- 3. + 4. the captured tables: keep this list, connector.json's table.include.list and the publication in step
\set captured 'public.products, public.order_lines'
SELECT format('ALTER TABLE %s REPLICA IDENTITY FULL', t) FROM unnest(string_to_array(:'captured', ',')) AS t \gexec
SELECT format('GRANT SELECT ON %s TO %I', t, :'cdc_user') FROM unnest(string_to_array(:'captured', ',')) AS t \gexec
SELECT format('CREATE PUBLICATION certyo_publication FOR TABLE %s', :'captured')
WHERE NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'certyo_publication') \gexec
SELECT format('ALTER PUBLICATION certyo_publication SET TABLE %s', :'captured') \gexec

-- 5. the verification worker's status table (certyo.record_status) lives in its own schema, owned by the CDC role
--    and outside the publication, so status write-back never becomes a captured change
SELECT format('CREATE SCHEMA IF NOT EXISTS certyo AUTHORIZATION %I', :'cdc_user') \gexec
