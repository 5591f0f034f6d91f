"""bot.service."""
