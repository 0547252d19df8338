-- PostgreSQL translation of migrations/sqlite/0003_schedule_claims.sql (the
-- same statement).

-- The latest tick of a scheduled policy that a process claimed (Unix
-- nanoseconds of the time the schedule named): each process that runs the
-- service runs the schedule, and the first to claim a tick starts its
-- execution.
ALTER TABLE repl_policies ADD COLUMN fired_at BIGINT NOT NULL DEFAULT 0;
