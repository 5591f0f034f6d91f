"""bot.cli.main."""
