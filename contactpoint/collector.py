"""The cyclic garbage collector of the processes that work through millions of records.

A load's reader, a reindex's document builders and a feed import make and drop millions of
small containers (a line's model, a document's dict and lists, a record's candidates), all
freed by reference counting the moment they are done with. The cyclic collector counts them
anyway: at its default thresholds, (700, 10, 10), it runs a young collection every 700 of
them, and each collection walks the long-lived objects that keep coming: the name, phonetic
and postcode caches fill up to hundreds of thousands of entries in such a run. On 20,000 of
the 11 M demo children, once those caches were full, building a document took about 68 µs of
CPU with the defaults and 30 µs with `BULK_THRESHOLDS`; validating and encoding a load's line,
about 100 µs and 80 µs. py-spy had shown a reindex's builders spending most of their time on
lines that only allocate.

`collect_less_often` is called where such work starts (a command, a worker process, a
benchmark's load or reindex, which may call it again): what exists then (modules, the match
model) goes out of the collector's sight, and young collections run about seventy times less
often. Cycles are still collected, only later; a bulk process makes few of them.
"""

from __future__ import annotations

import gc
from typing import Final

# A young collection every 50,000 new containers; an older one every 20 of those.
BULK_THRESHOLDS: Final = (50_000, 20, 20)


def collect_less_often() -> None:
    """Freeze what exists now and raise the collector's thresholds to `BULK_THRESHOLDS`."""
    gc.freeze()
    gc.set_threshold(*BULK_THRESHOLDS)
