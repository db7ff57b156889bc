-- One row per scheduled fire of a task. The primary key is the claim: only the process
-- whose insert succeeds runs that fire, however many replicas share the database.
CREATE TABLE task_runs (
    task           TEXT             NOT NULL,
    scheduled_for  BIGINT           NOT NULL,
    -- running | succeeded | failed | missed
    status         TEXT             NOT NULL,
    started_at     BIGINT           NOT NULL,
    finished_at    BIGINT,
    model          TEXT,
    output         TEXT,
    credits        DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- Delivery is recorded apart from the run's own outcome.
    delivered_at   BIGINT,
    delivery_error TEXT,
    -- 1 for a run started by hand ("run now"): it does not move the schedule.
    manual         BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (task, scheduled_for)
);
CREATE INDEX task_runs_status_started ON task_runs (status, started_at);
