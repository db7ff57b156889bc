-- Where a run's post stands while it is being delivered: 0 while the first try is under
-- way, N while retry N waits in delivery_retries; NULL once it reached the chat, was
-- refused for good, or when the run posts nothing. A run reads `succeeded` only when
-- its post reached the chat.
ALTER TABLE task_runs ADD COLUMN delivery_retry INTEGER;
