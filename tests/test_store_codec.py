"""Row conversions: chat ids and buttons come back exactly as they went in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.models import Button
from bot.store.codec import buttons_from_json, buttons_to_json, chat_from_text, chat_to_text

usernames = st.from_regex(r"@[A-Za-z][A-Za-z0-9_]{3,31}", fullmatch=True)
button = st.one_of(
    st.builds(Button, st.text(min_size=1), url=st.text(min_size=1)),
    st.builds(Button, st.text(min_size=1), callback_data=st.text(min_size=1, max_size=64)),
)


@given(st.one_of(st.integers(min_value=-(10**15), max_value=10**15), usernames))
def test_chat_ids_round_trip(chat: int | str) -> None:
    assert chat_from_text(chat_to_text(chat)) == chat


@given(st.lists(st.lists(button, min_size=1, max_size=3).map(tuple), max_size=4).map(tuple))
def test_buttons_round_trip(rows: tuple[tuple[Button, ...], ...]) -> None:
    assert buttons_from_json(buttons_to_json(rows)) == rows
