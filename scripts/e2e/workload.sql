-- The changes the end-to-end test makes once the snapshot is at the emulator; each is one documented case.
-- an insert, with every value type of the table
INSERT INTO public.products (id, sku, name, price, in_stock, attributes, photo, warranty, launched_on, updated_at)
VALUES (3, 'SKU-3', 'Big', 12345678.99, true, '[1, {"k": null}]', '\x000102', '3 days 04:00:00', '1999-12-31',
        '2024-06-30 23:59:59.999999+00');
-- an update
UPDATE public.products SET price = 21.00, updated_at = '2024-04-01 12:00:00+00' WHERE id = 1;
-- a primary-key change: Debezium sends a delete of the old key (and its tombstone), then a create of the new one
UPDATE public.products SET id = 20 WHERE id = 2;
-- a delete (composite key)
DELETE FROM public.order_lines WHERE order_id = 1001 AND line_no = 2;
-- a truncate: no row to anchor; certyo-cdc logs a warning naming the table and moves on
TRUNCATE public.order_lines;
-- a change after the truncate, to show the partition's processing went on
INSERT INTO public.order_lines (order_id, line_no, product_id, quantity, unit_price, note)
VALUES (2001, 1, 3, 5, 12345678.99, 'après truncate');
