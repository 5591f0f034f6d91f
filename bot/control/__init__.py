"""The Telegram commands: what each one does (``Control``), and who gets a topic's alerts."""

from bot.control.context import Deps, ReloadState
from bot.control.core import Control
from bot.delivery.audience import alert_destinations, merge_destinations

__all__ = ["Control", "Deps", "ReloadState", "alert_destinations", "merge_destinations"]
