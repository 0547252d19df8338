-- PostgreSQL translation of migrations/sqlite/0002_count.sql. BIGINT: a
-- SQLite INTEGER holds 64 bits.

-- How many identical operations a row stands for (repeated pulls folded
-- by the Recorder); 1 for every other entry.
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
