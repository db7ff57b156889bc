-- Tasks created from chat. `definition` is the task as a workflow document (TOML), so
-- it is validated by the same code as a workflow file.
CREATE TABLE scheduled_tasks (
    id         TEXT   PRIMARY KEY,
    definition TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
