"""/trends (everyone): the watched names whose coverage rose most, lately and over a day.

For each spike of the rules: the names counted in the window that holds now and in the
last day, against their usual count (the mean per window over the spike's baseline, times
the windows in a day for the day's list), largest rises first. The counts are the ones the
pollers keep for spike alerts (``bot.store.spikes``): nothing is recounted here.
"""

from __future__ import annotations

from bot.control.context import Call
from bot.control.topics import short
from bot.models import Button
from bot.rules.model import Spike
from bot.spikes.windows import compact, describe_rate, describe_window
from bot.store.spike_alerts import Trend
from bot.telegram.protocol import Reply, topic_ref
from bot.telegram.render_spike import watched_label
from bot.telegram.replies import Doc

SHOWN = 8  # names per list
DAY = 86400.0


def _rise(count: int, usual: float) -> float:
    # Smoothed, so one item where there were none does not outrank twenty where there were two.
    return (count + 1) / (usual + 1)


def _rows(call: Call, spike: Spike, found: list[tuple[str, int, float]]) -> list[str]:
    labels = {w.key: watched_label(w) for w in spike.watch}
    rising = [(k, c, u) for k, c, u in found if c > u and k in labels]
    rising.sort(key=lambda r: (-_rise(r[1], r[2]), -r[1], r[0]))
    return [
        call.t("trends.row", label=labels[k], count=c, usual=describe_rate(u))
        for k, c, u in rising[:SHOWN]
    ]


def _section(doc: Doc, heading: str, rows: list[str], quiet: str) -> None:
    doc.italic(heading).line()
    for row in rows or [quiet]:
        doc.line(f"  {row}")


async def trends(call: Call, args: str) -> Reply:
    spikes = call.deps.rules.current().rules.spikes
    if not spikes:
        return Reply(message=Doc().line(call.t("trends.unset")).message())
    doc = Doc()
    now = call.now()
    mine = set(await call.deps.db.topics_of(call.caller.chat))
    buttons: list[tuple[Button, ...]] = []
    for n, spike in enumerate(spikes):
        found: list[Trend] = await call.deps.db.spike_trends(
            spike.id, spike.window, spike.baseline, now
        )
        windows_a_day = max(1.0, DAY / spike.window)
        per_window = [
            (t.key, t.window_count, t.baseline_total / spike.baseline_windows) for t in found
        ]
        per_day = [
            (t.key, t.day_count, t.baseline_total / spike.baseline_windows * windows_a_day)
            for t in found
        ]
        window = describe_window(spike.window)
        if n:
            doc.line()
        doc.bold(
            call.t(
                "trends.title",
                name=spike.name,
                window=window,
                baseline=describe_window(spike.baseline),
                span=compact(spike.window),
                baseline_span=compact(spike.baseline),
            )
        ).line()
        quiet = call.t("trends.quiet")
        _section(
            doc,
            call.t("trends.window", window=window, span=compact(spike.window)),
            _rows(call, spike, per_window),
            quiet,
        )
        if spike.window < DAY:
            _section(doc, call.t("trends.day"), _rows(call, spike, per_day), quiet)
        # The alerts on these surges can come here too: a spike is subscribed to as a topic.
        if spike.id in mine:
            doc.italic(call.t("trends.subscribed", id=spike.id)).line()
        else:
            doc.italic(call.t("trends.subscribe", id=spike.id)).line()
            label = call.t("trends.sub_button", name=short(spike.name))
            buttons.append((Button(label, callback_data=f"sub:{topic_ref(spike.id)}:x"),))
    return Reply(message=doc.message(tuple(buttons)))
