"""bot.ingest."""
