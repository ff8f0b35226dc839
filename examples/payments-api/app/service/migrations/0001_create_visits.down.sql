-- Undoes 0001_create_visits.up.sql: `python -m service.migrate down --to 0`.
DROP TABLE visits;
