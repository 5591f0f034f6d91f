"""Prometheus metrics and the health check, served over plain HTTP on ``MEDIABOT_METRICS_ADDR``.

The orchestration records through a ``Recorder``: ``Metrics`` in the service, ``NullMetrics``
(records nothing) for code that runs without metrics. The service serves ``GET /metrics``
(Prometheus text format) and ``GET /healthz`` (JSON) with a tiny asyncio HTTP/1.1 server.

Where each part lives:

- ``recorder``: the ``Recorder`` protocol and ``NullMetrics``;
- ``prometheus``: ``Metrics``, which records into its own registry;
- ``series``: the series exported, with their names and labels;
- ``health``: the loops and checks ``/healthz`` watches, and its verdict;
- ``labels``: ``label_value``, which keeps label values bounded;
- ``server``: ``MetricsServer``, the HTTP side.
"""

from __future__ import annotations

from bot.metrics.labels import label_value
from bot.metrics.prometheus import Metrics
from bot.metrics.recorder import NullMetrics, Recorder
from bot.metrics.server import MetricsServer, split_addr

__all__ = ["Metrics", "MetricsServer", "NullMetrics", "Recorder", "label_value", "split_addr"]
