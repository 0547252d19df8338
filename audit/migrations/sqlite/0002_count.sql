-- How many identical operations a row stands for (repeated pulls folded
-- by the Recorder); 1 for every other entry.
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
