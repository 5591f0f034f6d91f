"""Topics as people see them: a display name, a one-line description, close matches."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from bot.rules.model import Near, RuleSet, Term, Topic
from bot.telegram.protocol import find_topic
from bot.telegram.replies import Suggestion

DESCRIPTION_CHARS = 90
BUTTON_CHARS = 40


def topic_name(topic: Topic) -> str:
    return topic.name or topic.id


def short(text: str, limit: int = BUTTON_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(clause: Term | Near, rules: RuleSet) -> str:
    if isinstance(clause, Near):
        return f"{_label(clause.left[0], rules)} ~ {_label(clause.right[0], rules)}"
    if clause.entity is not None:
        entity = rules.entities.get(clause.entity)
        return entity.name if entity is not None else clause.entity
    return clause.text


def _labels(clauses: tuple[Term | Near, ...], rules: RuleSet) -> list[str]:
    # Entity aliases are expanded at load time: show each entity once, by its name.
    return list(dict.fromkeys(_label(c, rules) for c in clauses))


def describe(topic: Topic, rules: RuleSet) -> str:
    """A one-line description built from the rule: what it looks for."""
    parts = []
    if topic.any:
        parts.append(" / ".join(_labels(topic.any, rules)[:5]))
    for group in topic.all[:3]:
        parts.append("(" + " / ".join(_labels(group, rules)[:3]) + ")")
    text = " + ".join(parts)
    if topic.delivery != "instant":
        text += f" · {topic.delivery}"
    return short(text, DESCRIPTION_CHARS)


def suggest(rules: RuleSet, query: str, limit: int = 3) -> list[Suggestion]:
    """The topics and spikes whose id or name is closest to ``query``."""
    names = {t.id: topic_name(t) for t in rules.topics} | {s.id: s.name for s in rules.spikes}
    choices = {ident: f"{ident} {name}" for ident, name in names.items()}
    found = process.extract(query, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [Suggestion(key, names[key]) for _, _, key in found]


def by_ref(rules: RuleSet, ref: str) -> Topic | None:
    """The topic that callback data names (``bot.telegram.protocol.topic_ref``): exactly
    one id, never a prefix of one."""
    found = find_topic(ref, (t.id for t in rules.topics))
    return rules.topic(found) if found is not None else None


def mutable(rules: RuleSet, ident: str) -> Topic | None:
    """What ``/mute`` and the mute button silence, and what a chat subscribes to: a topic,
    or a spike (its alerts carry the spike's id where a topic's carry the topic's, and its
    subscribers are kept the same way), seen as an id and a name."""
    topic = rules.topic(ident)
    spike = rules.spike(ident) if topic is None else None
    return Topic(id=spike.id, name=spike.name) if spike is not None else topic


def mutable_by_ref(rules: RuleSet, ref: str) -> Topic | None:
    """``by_ref`` over topics and spikes."""
    found = find_topic(ref, [*(t.id for t in rules.topics), *(s.id for s in rules.spikes)])
    return mutable(rules, found) if found is not None else None
