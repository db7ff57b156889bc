-- Monthly budgets set by an admin (`/budget`, `fanops budget set`). A row replaces the
-- config's `[budgets]` value for its scope: `team`, `user:<id>`, or `user:*` (every user
-- without a row of their own). `monthly_credits` NULL means no budget for that scope.
CREATE TABLE budgets (
    scope           TEXT             PRIMARY KEY,
    monthly_credits DOUBLE PRECISION,
    set_by          TEXT             NOT NULL,
    set_at          BIGINT           NOT NULL
);

-- A user's spend this month is read before every model call.
CREATE INDEX usage_ledger_user_at ON usage_ledger (user_name, at);
