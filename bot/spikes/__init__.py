"""Spike alerts: counting coverage of watched entities per window and noticing surges.

``watch`` compiles what the rules' spikes watch into one matcher per rules version;
``detect`` decides, item by item in time order, which counts grow and which surge
(``model``: the stories, sightings and surges it takes and gives; ``fingerprints``: how
a story is recognised; ``windows``: where it sits in time), over a ``Ledger``
(``ledger``) of counts: the store's tables in the service (``bot.store.spikes``), a
bounded memory in the dry run (``memory``). Both use the same detector, so ``mediabot
spikes`` shows what the service would have sent.
"""
