-- Threads a chat platform's bot answers in without being mentioned again (Slack: the
-- thread of a channel message that mentioned the bot), kept so that a restart or another
-- replica still follows them.
CREATE TABLE followed_threads (
    platform    TEXT   NOT NULL,
    chat        TEXT   NOT NULL,
    thread      TEXT   NOT NULL,
    followed_at BIGINT NOT NULL,
    PRIMARY KEY (platform, chat, thread)
);

-- When each refused user was last told they are not allowed: at most one such reply a
-- minute, across restarts and replicas.
CREATE TABLE refusal_notices (
    platform TEXT   NOT NULL,
    user_id  TEXT   NOT NULL,
    told_at  BIGINT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
