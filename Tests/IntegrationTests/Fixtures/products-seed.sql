-- The captured `products` table of the Debezium samples and its three seed rows (the snapshot "r" events of
-- products-snapshot.jsonl), run with search_path set to a throwaway schema. Ids are given so they match.
CREATE TABLE products (
    id           bigserial PRIMARY KEY,
    sku          text           NOT NULL UNIQUE,
    name         text           NOT NULL,
    price        numeric(12,2)  NOT NULL,
    weight_kg    numeric,                              -- unconstrained numeric (variable scale)
    in_stock     boolean        NOT NULL DEFAULT true,
    stock_qty    integer        NOT NULL DEFAULT 0,
    rating       double precision,
    created_at   timestamptz    NOT NULL DEFAULT now(),
    updated_at   timestamp,                            -- without time zone
    release_date date,
    opens_at     time,                                 -- time(6)
    pickup_time  time(3),                              -- precision <= 3: encoded differently in adaptive mode
    synced_at    timestamp(3),
    warranty     interval,
    attributes   jsonb,
    external_id  uuid           NOT NULL DEFAULT gen_random_uuid(),
    tags         text[],
    thumbnail    bytea,
    description  text                                  -- large; TOASTed out of line when > ~2 kB
);

-- 6400 chars of md5 hex: pglz cannot compress it by 25 %, so it is stored out of line in TOAST.
CREATE OR REPLACE FUNCTION big_text(seed text, n int DEFAULT 200) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT string_agg(md5(seed || i::text), '') FROM generate_series(1, n) i $$;

INSERT INTO products
    (id, sku, name, price, weight_kg, in_stock, stock_qty, rating, created_at, updated_at, release_date,
     opens_at, pickup_time, synced_at, warranty, attributes, external_id, tags, thumbnail, description)
VALUES
    (1, 'SKU-001', 'Café Crème ☕ – 日本', 19.99, 1.5, true, 12, 4.5,
     '2024-03-15 10:30:00.123456+01', '2024-03-15 10:30:00.5', '2024-04-01',
     '08:30:00', '17:45:30.123', '2024-03-15 10:30:00.123', '2 years 3 months 4 days 05:06:07.5',
     '{"color": "red", "size": {"w": 10, "h": 2.5}, "eco": true, "codes": [1, 2, 3]}',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ARRAY['eco', 'sale'], '\xdeadbeef',
     big_text('p1')),
    (2, 'SKU-002', 'Line1' || E'\n' || 'Line2 "quoted" \ back', 0.00, 0.000123, false, 0, NULL,
     '1969-12-31 23:59:59.999999+00', '1969-12-31 23:59:59', '1969-12-31',
     '23:59:59.999999', '00:00:00', '1969-12-31 23:59:59.999', '-1 day', '[]', '00000000-0000-0000-0000-000000000000',
     ARRAY['with space', 'comma,inside', 'quote"d', NULL], '\x', 'short description'),
    (3, 'SKU-003', 'Nulls everywhere', 9999999999.99, NULL, true, 2147483647, NULL,
     '2038-01-19 03:14:08+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     'b1ffcd00-0d1c-4ef8-bb6d-6bb9bd380a22', NULL, NULL, NULL);

