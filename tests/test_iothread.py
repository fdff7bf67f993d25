"""write_behind writes every chunk, in order, and raises what either thread raised."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.iothread import write_behind


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=30), st.integers(1, 3), st.integers(1, 40))
def test_everything_written_in_order(chunks, ahead, batch_bytes):
    got: list[bytes] = []
    write_behind(got.append, iter(chunks), ahead=ahead, batch_bytes=batch_bytes)
    assert b"".join(got) == b"".join(chunks)


def test_writes_happen_on_another_thread():
    threads = set()
    write_behind(lambda b: threads.add(threading.get_ident()), [b"x"] * 3, batch_bytes=1)
    assert threads and threading.get_ident() not in threads


def test_an_error_of_the_writer_is_raised_and_stops_the_writing():
    written: list[bytes] = []

    def write(chunk: bytes) -> None:
        if chunk == b"bad":
            raise OSError(28, "No space left on device")
        written.append(chunk)

    made = []

    def chunks():
        for c in [b"a", b"bad", *[b"c"] * 50]:
            made.append(c)
            yield c

    with pytest.raises(OSError, match="No space"):
        write_behind(write, chunks(), ahead=1, batch_bytes=1)
    assert written == [b"a"] and len(made) < 52  # no chunk after the failed one is written


def test_an_error_making_the_chunks_is_raised_as_it_is():
    written: list[bytes] = []

    def chunks():
        yield b"a"
        raise ValueError("bad cell")

    with pytest.raises(ValueError, match="bad cell"):
        write_behind(written.append, chunks(), batch_bytes=1)
    assert written == [b"a"]
