-- Discord: a thread is a channel of its own, and a message in it names only the thread, so
-- followed threads are also looked up by their id alone.
CREATE INDEX followed_threads_by_id ON followed_threads (platform, thread);
