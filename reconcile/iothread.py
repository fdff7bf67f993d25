"""Writing behind the work: a part's bytes handed to a second thread that writes (and compresses) them.

zlib's deflate and crc32 release the GIL, so while one thread compresses a chunk of a workbook's
sheet, the other can make the next chunk's XML: on two cores a million-row workbook is written in
about the time its XML takes to make. The bytes written, and their order, are those of a plain loop.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable

_DONE = object()
AHEAD = 2  # batches made but not yet written: bounds the memory held
BATCH_BYTES = 8 << 20  # bytes handed over at a time


def write_behind(write: Callable[[bytes], object], chunks: Iterable[bytes], *, ahead: int = AHEAD,
                 batch_bytes: int = BATCH_BYTES) -> None:
    """`for chunk in chunks: write(chunk)`, with every write made on another thread, in order.

    An error raised by `write` is raised here (no later chunk is written); an error raised while
    making `chunks` stops the writer and is raised as it is.
    """
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    failed: list[BaseException] = []

    def writer() -> None:
        while True:
            chunk = handoff.get()
            if chunk is _DONE:
                return
            if failed:
                continue  # drain: the maker must never wait on a full queue nobody empties
            try:
                write(chunk)
            except BaseException as exc:  # handed to the making thread, which raises it
                failed.append(exc)

    thread = threading.Thread(target=writer, name="write-behind", daemon=True)
    thread.start()
    try:
        # Chunks are handed over a few MB at a time: each handover waits for the GIL (up to the
        # interpreter's switch interval, 5 ms) on both threads, so 1 MB handovers spent more time
        # waiting than compressing, and the two threads barely overlapped.
        batch: list[bytes] = []
        size = 0
        for chunk in chunks:
            if failed:
                break
            batch.append(chunk)
            size += len(chunk)
            if size >= batch_bytes:
                handoff.put(batch[0] if len(batch) == 1 else b"".join(batch))
                batch, size = [], 0
        if batch and not failed:
            handoff.put(b"".join(batch))
    finally:
        handoff.put(_DONE)
        thread.join()
    if failed:
        raise failed[0]
