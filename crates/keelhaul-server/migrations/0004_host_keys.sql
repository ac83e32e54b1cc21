-- An agent key may be bound to one host: it then reports and scans for that host only.
ALTER TABLE access_keys ADD COLUMN host_uuid TEXT;
