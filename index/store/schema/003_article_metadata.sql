-- Migration 3 (schema version 2 to 3): more of what a page states about itself (index/pages.py)
-- and, for fetched pages, when they were fetched (index/fetch.py). Dates as published_at:
-- ISO 8601, a date alone or a date-time in UTC (index/dates.py). Older rows stay NULL: not stated.
ALTER TABLE articles ADD COLUMN author TEXT;
ALTER TABLE articles ADD COLUMN updated_at TEXT;
ALTER TABLE articles ADD COLUMN fetched_at TEXT;
