"""mediabot: a media-monitoring alert bot for Telegram."""

__version__ = "0.1.0"
