-- A run's identity includes what it was asked to do: the fingerprint of its spec (a hash of the
-- spec without its name and device). A run name reused with another spec is refused at start, and
-- a retry resumes only from checkpoints of the same spec. Rows written before this have NULL.
ALTER TABLE runs ADD COLUMN spec_fingerprint TEXT;
ALTER TABLE checkpoints ADD COLUMN spec_fingerprint TEXT;
-- the attempt that wrote a checkpoint: keys are attempt-scoped, so a timed-out attempt still
-- running never overwrites its successor's objects
ALTER TABLE checkpoints ADD COLUMN attempt INTEGER;
