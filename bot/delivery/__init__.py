"""Delivery: from a matched item to a message in a chat.

Who gets an alert (``audience``), whether it is a story told already (``dedupe``), when
held items go out together (``digest``), the machine-written summaries (``machine_summary``),
Telegram's limits (``ratelimit``), one send or edit and what its outcome means
(``attempt``), what happens to a chat that is gone (``chats``), and the loop that works
the outbox off (``sender``).
"""
