-- Migration 1 (schema version 0 to 1): the first schema. Statements end with a semicolon at the end of a line.
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE articles(
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    source_text TEXT,            -- the file as read when it differs from raw_text (HTML)
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    title TEXT, publisher TEXT, published_at TEXT, url TEXT,
    cluster_id TEXT NOT NULL,    -- the canonical article id of its near-duplicate cluster
    minhash BLOB NOT NULL,
    removed TEXT NOT NULL,       -- JSON [[start, end, reason], ...] of boilerplate spans
    ingested_seq INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX articles_hash ON articles(content_hash);
CREATE INDEX articles_cluster ON articles(cluster_id);
CREATE TABLE sentences(
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY(article_id, seq)
) WITHOUT ROWID;
CREATE TABLE chunks(
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,   -- the FAISS id, never reused
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
    embed_key TEXT NOT NULL,
    vector BLOB NOT NULL,             -- float32[dim], the passage
    sentence_vectors BLOB NOT NULL    -- float32[n_sentences, dim], its sentences in context
);
CREATE INDEX chunks_article ON chunks(article_id, seq);
CREATE INDEX chunks_embed_key ON chunks(embed_key);
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE lsh(band INTEGER NOT NULL, key INTEGER NOT NULL, article_id TEXT NOT NULL,
                 PRIMARY KEY(band, key, article_id)) WITHOUT ROWID;
CREATE INDEX lsh_article ON lsh(article_id);
