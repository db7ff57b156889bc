-- Several bots per platform (DESIGN §12.3): a usage row keeps its platform and adds the
-- connection it came through (`<platform>` or `<platform>:<account>`); rows written
-- before it read as their platform's top-level bot.
ALTER TABLE usage_ledger ADD COLUMN connection TEXT NOT NULL DEFAULT '';
