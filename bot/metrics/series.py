"""The series mediabot exports, defined once, in a registry of their own.

Labels are feed and topic ids from the rules, loop names and error kinds: bounded; never
item keys, URLs or chats. Every name is plain snake_case, which the classic text format
covers::

    mediabot_feed_polls_total{feed,result}            result: ok | not_modified | error
    mediabot_fetch_errors_total{feed,kind}            kind: FeedError.kind (fetch, parse, ...)
    mediabot_new_items_total{feed}
    mediabot_feed_last_success_timestamp_seconds{feed}
    mediabot_last_successful_poll_timestamp_seconds
    mediabot_topic_matches_total{topic}               one per item x topic that fires
    mediabot_alerts_sent_total
    mediabot_alerts_failed_total{reason}              reason: a short snake_case class
    mediabot_alert_latency_seconds                    histogram: item first seen -> sent
    mediabot_outbox_depth                             queued alerts, read at scrape time
    mediabot_rules_reloads_total{result}              result: ok | error
    mediabot_rules_last_reload_success                1 or 0
    mediabot_loop_heartbeat_age_seconds{loop}         seconds since the loop last beat
    mediabot_loop_down{loop}                          1 while the loop reports it is failing
    mediabot_check_down{check}                        1 while a health check fails (store)
    mediabot_build_info{version}
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot import __version__

# Item first seen -> alert sent: seconds for instant alerts, up to a day for digests.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


class Series:
    """Every series of the list above, registered in ``r``."""

    def __init__(self, r: CollectorRegistry) -> None:
        self._polls(r)
        self._alerts(r)
        self._health(r)
        info = Gauge("mediabot_build_info", "mediabot version", ["version"], registry=r)
        info.labels(__version__).set(1)

    def _polls(self, r: CollectorRegistry) -> None:
        self.polls = Counter(
            "mediabot_feed_polls", "Feed polls by result", ["feed", "result"], registry=r
        )
        self.fetch_errors = Counter(
            "mediabot_fetch_errors", "Failed feed polls by error kind", ["feed", "kind"], registry=r
        )
        self.new_items = Counter(
            "mediabot_new_items", "Items seen for the first time", ["feed"], registry=r
        )
        self.feed_last_success = Gauge(
            "mediabot_feed_last_success_timestamp_seconds",
            "Unix time of the feed's last successful poll",
            ["feed"],
            registry=r,
        )
        self.last_success = Gauge(
            "mediabot_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful poll of any feed",
            registry=r,
        )
        self.matches = Counter(
            "mediabot_topic_matches", "Items that fired a topic", ["topic"], registry=r
        )

    def _alerts(self, r: CollectorRegistry) -> None:
        self.sent = Counter("mediabot_alerts_sent", "Alerts delivered to Telegram", registry=r)
        self.failed = Counter(
            "mediabot_alerts_failed", "Alerts given up on, by reason", ["reason"], registry=r
        )
        self.latency = Histogram(
            "mediabot_alert_latency_seconds",
            "Time from an item's first sighting to its alert being sent",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "mediabot_outbox_depth", "Alerts queued in the outbox", registry=r
        )

    def _health(self, r: CollectorRegistry) -> None:
        self.reloads = Counter(
            "mediabot_rules_reloads", "Rules reloads by result", ["result"], registry=r
        )
        self.reload_ok = Gauge(
            "mediabot_rules_last_reload_success",
            "1 if the last rules reload succeeded, 0 if it failed",
            registry=r,
        )
        self.reload_ok.set(1)
        self.beat_age = Gauge(
            "mediabot_loop_heartbeat_age_seconds",
            "Seconds since a watched loop last reported progress",
            ["loop"],
            registry=r,
        )
        self.loop_down = Gauge(
            "mediabot_loop_down",
            "1 while a watched loop reports that it is failing, else 0",
            ["loop"],
            registry=r,
        )
        self.check_down = Gauge(
            "mediabot_check_down",
            "1 while a health check (such as the store's) fails, else 0",
            ["check"],
            registry=r,
        )
