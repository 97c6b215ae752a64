-- Rows present before the connector is registered: the initial snapshot reads them (op "r" -> operationType upsert).
TRUNCATE public.products, public.order_lines;
INSERT INTO public.products (id, sku, name, price, in_stock, attributes, photo, warranty, launched_on, updated_at) VALUES
  (1, 'SKU-1', 'Café Crème ☕', 19.90, true, '{"tags": ["a", "b"], "colour": "red"}', '\xdeadbeef',
   '1 year 2 mons 3 days 04:05:06.5', '2024-03-31', '2024-03-15 10:30:00.123456+01'),
  (2, 'SKU-2', 'Plain "quoted" \ name', 0.5, false, NULL, NULL, NULL, NULL, '2024-01-01 00:00:00+00');
INSERT INTO public.order_lines (order_id, line_no, product_id, quantity, unit_price, note) VALUES
  (1001, 1, 1, 2, 19.90, NULL),
  (1001, 2, 2, 1, 0.50, 'gift wrap');
