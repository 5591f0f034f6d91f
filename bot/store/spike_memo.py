"""What one process remembers of spike windows between polls (``SpikeMemo``).

A window's newest stories, as this process last wrote or read them, with the count they
go with. Counts only grow, one story at a time, so a window whose count in the store is
still the one remembered has the same newest stories: a poll then reads the counts of its
windows and nothing else. Only what a committed transaction wrote is remembered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from bot.spikes.model import Group, Story
from bot.store.codec import bounded_key

StoryId = tuple[str, str]  # feed id, item key (bounded)


def story_id(story: Story) -> StoryId:
    return (story.feed_id, bounded_key(story.item_key))


class SpikeMemo:
    """What one process remembers of spike windows between transactions (bounded)."""

    def __init__(self, windows: int = 4096, stories: int = 16384) -> None:
        self._lock = threading.Lock()  # polls of one process may write from several threads
        self._windows: OrderedDict[Group, tuple[int, tuple[Story, ...]]] = OrderedDict()
        self._stories: OrderedDict[StoryId, Story] = OrderedDict()
        self._max_windows, self._max_stories = windows, stories

    def recent(self, group: Group, count: int) -> list[Story] | None:
        """The newest stories of ``group`` if ``count`` is the count remembered with them."""
        with self._lock:
            known = self._windows.get(group)
            if known is None or known[0] != count:
                return None
            self._windows.move_to_end(group)
            return list(known[1])

    def story(self, ident: StoryId) -> Story | None:
        with self._lock:
            return self._stories.get(ident)

    def remember(self, group: Group, count: int, recent: Sequence[Story]) -> None:
        with self._lock:
            self._windows[group] = (count, tuple(recent))
            self._windows.move_to_end(group)
            while len(self._windows) > self._max_windows:
                self._windows.popitem(last=False)
            for story in recent:
                ident = story_id(story)
                self._stories[ident] = story
                self._stories.move_to_end(ident)
            while len(self._stories) > self._max_stories:
                self._stories.popitem(last=False)
