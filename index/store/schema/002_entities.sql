-- Migration 2 (schema version 1 to 2): the named entities, numbers and dates of every stored sentence (index/entities.py).
-- Written in the article's transaction and deleted with it; text is always substr(raw_text, start + 1, "end" - start).
CREATE TABLE entities(
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, label TEXT NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY(article_id, start, "end", label),
    CHECK(0 <= start AND start < "end")
) WITHOUT ROWID;
-- Articles stored by schema version 1 were never tagged: the next `newsdesk ingest` tags them
-- (index.ingest.backfill_entities) and removes them from here. No new article is ever added.
CREATE TABLE entities_pending(
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO entities_pending SELECT id FROM articles;
