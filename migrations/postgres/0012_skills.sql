-- Skills installed for the team, shared by every replica.
CREATE TABLE installed_skills (
    name         TEXT   PRIMARY KEY,
    installed_by TEXT   NOT NULL,
    installed_at BIGINT NOT NULL
);

-- One row once `[skills] installed` has been applied, so that it seeds the first start
-- only and what the team removes later stays removed.
CREATE TABLE skills_seeded (
    id        INTEGER PRIMARY KEY,
    seeded_at BIGINT  NOT NULL
);
