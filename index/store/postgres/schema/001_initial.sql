-- Migration 1 (schema version 0 to 1) of the PostgreSQL store: the tables of the SQLite store's schema
-- version 3 (index/store/schema/), with vectors in pgvector and text search in PostgreSQL's own.
-- {vector} is the column type (halfvec(384) or vector(384)) and {ops} its inner-product operator class,
-- both from the store's vector_storage. Statements end with a semicolon at the end of a line.
CREATE EXTENSION IF NOT EXISTS vector;
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
    minhash BYTEA NOT NULL,
    removed TEXT NOT NULL,       -- JSON [[start, end, reason], ...] of boilerplate spans
    ingested_seq BIGINT NOT NULL,
    ingested_at TEXT NOT NULL,
    author TEXT, updated_at TEXT, fetched_at TEXT
);
CREATE INDEX articles_hash ON articles(content_hash);
CREATE INDEX articles_cluster ON articles(cluster_id, ingested_seq);
CREATE INDEX articles_day ON articles((substr(published_at, 1, 10)));
CREATE INDEX articles_publisher ON articles((lower(publisher)));
CREATE TABLE sentences(
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY(article_id, seq)
);
CREATE TABLE entities(
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, label TEXT NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY(article_id, start, "end", label),
    CHECK(0 <= start AND start < "end")
);
CREATE TABLE chunks(
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- never reused, as the SQLite store's
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
    embed_key TEXT NOT NULL,
    search TSVECTOR NOT NULL     -- to_tsvector('english', title || text): the text search's terms
);
CREATE INDEX chunks_article ON chunks(article_id, seq);
CREATE INDEX chunks_embed_key ON chunks(embed_key);
CREATE INDEX chunks_search ON chunks USING gin(search);
-- Every chunk's vectors: its sentences in context (slots 0..n-1) and the passage itself (slot 1023).
CREATE TABLE vectors(
    rowid BIGINT NOT NULL REFERENCES chunks(rowid) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    embedding {vector} NOT NULL,
    PRIMARY KEY(rowid, slot)
);
CREATE INDEX vectors_hnsw ON vectors USING hnsw(embedding {ops}) WITH (m = {hnsw_m}, ef_construction = {hnsw_ef_construction});
CREATE TABLE lsh(band INTEGER NOT NULL, key BIGINT NOT NULL, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                 PRIMARY KEY(band, key, article_id));
CREATE INDEX lsh_article ON lsh(article_id);
