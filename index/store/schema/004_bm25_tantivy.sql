-- Migration 4 (schema version 3 to 4): BM25 moves from SQLite's FTS5 to Tantivy (index/store/lexical.py), a folder
-- derived from the chunks table as the FAISS files are; the writer that migrates builds it.
DROP TABLE chunks_fts;
