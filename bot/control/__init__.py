"""The Telegram commands: what each one does (``Control``), and who gets a topic's alerts."""

from bot.audience import alert_destinations, merge_destinations
from bot.control.context import Deps, ReloadState
from bot.control.core import Control

__all__ = ["Control", "Deps", "ReloadState", "alert_destinations", "merge_destinations"]
