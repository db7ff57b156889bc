-- What the tool of a pending write prepared when it was proposed (JSON; for an
-- OnlyFansAPI write, the request itself), so the confirmed run sends exactly that.
-- NULL for tools that prepare nothing ahead, and for actions proposed before this.
ALTER TABLE pending_actions ADD COLUMN prepared TEXT;
