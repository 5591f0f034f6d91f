"""Reading a ``spikes`` entry: what it watches, its window, baseline, factor and minimum.

Grammar (DESIGN §4 "Spikes")::

    spike := {id, name?, watch: [term...], window?: 5m..1d (1h), baseline?: 2..5000 windows,
              at most 90d (7d), factor?: >1..1000 (3), min_items?: 2..10000 (5),
              channels?: [chat...], delivery?: instant|hourly|daily@HH:MM}
    term  := "@entity-id" | "@*" (every entity) | keyword | {term: keyword, case?, fuzzy?}

Windows are aligned to UTC (an hour window runs from :00 to :00), so "one alert per
(spike, entity) per window" names one window everywhere: in every poller, after a
restart, in the dry run. The baseline is a whole number of windows, the mean is taken
over exactly that many.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import process

from bot.rules.model import Entity, Spike, Watched
from bot.rules.schema import (
    Context,
    as_list,
    as_text,
    check_id,
    check_keys,
    item_line,
    node_line,
    parse_delivery,
    value_line,
)
from bot.rules.topics import TopicReader
from bot.text.duration import parse_duration

SPIKE_KEYS = {
    "id",
    "name",
    "watch",
    "window",
    "baseline",
    "factor",
    "min_items",
    "channels",
    "delivery",
}
EVERY_ENTITY = "@*"
MIN_WINDOW, MAX_WINDOW = 300.0, 86400.0
MIN_BASELINE_WINDOWS, MAX_BASELINE_WINDOWS = 2, 5000
MAX_BASELINE = 90 * 86400.0
MAX_FACTOR = 1000.0
MIN_ITEMS, MAX_ITEMS = 2, 10_000
DEFAULTS = Spike(id="", name="", watch=())


class SpikeReader:
    """Reads spikes against the complete set of entities (they may live in other files)."""

    def __init__(self, ctx: Context, entities: dict[str, Entity]) -> None:
        self.ctx = ctx
        self.entities = entities
        self.terms = TopicReader(ctx, entities)

    def spike(self, node: Any, line: int | None) -> Spike | None:
        ctx = self.ctx
        if not isinstance(node, dict):
            ctx.error(line, f"a spike must be a mapping with id and watch, got {node!r}")
            return None
        line = node_line(node, line)
        check_keys(ctx, node, SPIKE_KEYS, "spike")
        sid = check_id(ctx, node.get("id"), value_line(node, "id", line), "spike")
        name = as_text(ctx, node.get("name", sid or "?"), value_line(node, "name", line), "name")
        watch = self._watch(node, line)
        window = self._window(node, line)
        baseline = self._baseline(node, line, window or DEFAULTS.window, judge=window is not None)
        spike = Spike(
            id=sid or "?",
            name=name or sid or "?",
            watch=watch,
            window=window or DEFAULTS.window,
            baseline=baseline,
            factor=self._factor(node, line),
            min_items=self._min_items(node, line),
            channels=self.terms.channels(node, line),
            delivery=parse_delivery(
                ctx, node.get("delivery", "instant"), value_line(node, "delivery", line)
            ),
            file=ctx.file,
            line=line or 0,
        )
        return spike if sid is not None and watch else None

    def _watch(self, node: dict[Any, Any], line: int | None) -> tuple[Watched, ...]:
        if "watch" not in node:
            self.ctx.error(line, "a spike needs watch: the entities or terms it counts")
            return ()
        where = value_line(node, "watch", line)
        items = as_list(self.ctx, node["watch"], where, "watch") or []
        found: dict[str, Watched] = {}
        for i, value in enumerate(items):
            for watched in self._watched(value, item_line(items, i, where)):
                found.setdefault(watched.key, watched)
        return tuple(found.values())

    def _watched(self, value: Any, line: int | None) -> list[Watched]:
        if value == EVERY_ENTITY:
            if not self.entities:
                self.ctx.error(line, "watch '@*' (every entity): the rules define no entities")
            return [_of_entity(e) for _, e in sorted(self.entities.items())]
        if isinstance(value, str) and value.startswith("@"):
            entity = self.entities.get(value[1:])
            if entity is None:
                self.ctx.error(line, f"unknown entity {value!r}{self._did_you_mean(value[1:])}")
                return []
            return [_of_entity(entity)]
        terms = self.terms.terms(value, line)
        if not terms:
            return []
        entity_id = terms[0].entity
        if entity_id is not None:  # {term: "@putin", case: true}: the entity, so adjusted
            name = self.entities[entity_id].name
            return [Watched(entity_id, name, terms, entity_id)]
        return [Watched(terms[0].text, terms[0].text, terms)]

    def _did_you_mean(self, ident: str) -> str:
        found = process.extractOne(ident, list(self.entities), score_cutoff=60)
        return f": did you mean '@{found[0]}'?" if found else " (no entity has that id)"

    def _window(self, node: dict[Any, Any], line: int | None) -> float | None:
        if "window" not in node:
            return DEFAULTS.window
        value = node["window"]
        seconds = parse_duration(value)
        if seconds is None or not MIN_WINDOW <= seconds <= MAX_WINDOW or seconds % 60:
            self.ctx.error(
                value_line(node, "window", line),
                f"bad window {value!r}: use whole minutes from 5m to 1d, e.g. 30m, 1h, 6h",
            )
            return None
        return seconds

    def _baseline(
        self, node: dict[Any, Any], line: int | None, window: float, *, judge: bool
    ) -> float:
        """The baseline, a whole number of windows (judged only when the window is valid)."""
        value = node.get("baseline", "7d")
        at = value_line(node, "baseline", line)
        seconds = parse_duration(value)
        if seconds is None or seconds > MAX_BASELINE:
            self.ctx.error(at, f"bad baseline {value!r}: use a duration up to 90d, e.g. 1d, 7d")
            return max(DEFAULTS.baseline, window * MIN_BASELINE_WINDOWS)
        windows = seconds / window
        if not judge:
            pass
        elif windows != int(windows):
            self.ctx.error(at, f"baseline {value!r} is not a whole number of windows")
        elif not MIN_BASELINE_WINDOWS <= windows <= MAX_BASELINE_WINDOWS:
            self.ctx.error(
                at,
                f"baseline {value!r} is {int(windows)} windows: use "
                f"{MIN_BASELINE_WINDOWS} to {MAX_BASELINE_WINDOWS} windows",
            )
        return max(window * MIN_BASELINE_WINDOWS, round(windows) * window)

    def _factor(self, node: dict[Any, Any], line: int | None) -> float:
        value = node.get("factor", DEFAULTS.factor)
        if isinstance(value, bool) or not isinstance(value, int | float):
            value = None
        if value is None or not 1 < value <= MAX_FACTOR:
            self.ctx.error(
                value_line(node, "factor", line),
                f"bad factor {node.get('factor')!r}: use a number above 1 and at most 1000, "
                "e.g. 3 (three times the usual count)",
            )
            return DEFAULTS.factor
        return float(value)

    def _min_items(self, node: dict[Any, Any], line: int | None) -> int:
        value = node.get("min_items", DEFAULTS.min_items)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not MIN_ITEMS <= value <= MAX_ITEMS
        ):
            self.ctx.error(
                value_line(node, "min_items", line),
                f"bad min_items {value!r}: use a whole number from {MIN_ITEMS} to {MAX_ITEMS}",
            )
            return DEFAULTS.min_items
        return value


def _of_entity(entity: Entity) -> Watched:
    return Watched(entity.id, entity.name, entity.terms, entity.id)
