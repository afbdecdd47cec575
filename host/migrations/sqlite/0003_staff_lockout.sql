-- Lockout with a growing delay instead of a permanent lock (finding 6): a locked ID opens again at
-- locked_until; each lock after that doubles the delay. NULL: not locked, or locked before this column.
ALTER TABLE staff ADD COLUMN locked_until TEXT;
