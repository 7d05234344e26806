"""Log reading (kubelet/logs.py): since, tail, timestamps, limit and follow over an indexed file."""

from __future__ import annotations

import threading

from kubelet.logs import LogOptions, follow, read, stamp


def write(path, text: str) -> None:
    with open(path, "ab") as f:
        f.write(text.encode())


def test_options_apply_in_kubectls_order(tmp_path):
    path = tmp_path / "0.log"
    write(path, "a1\na2\n")
    write(path, "b1\nb2\nb3\n")
    index = [(6, 100.0), (15, 200.0)]  # a-lines written by t=100, b-lines by t=200
    assert read(str(path), index, LogOptions())[0] == b"a1\na2\nb1\nb2\nb3\n"
    assert read(str(path), index, LogOptions(since_unix=150))[0] == b"b1\nb2\nb3\n"
    assert read(str(path), index, LogOptions(since_unix=150, tail_lines=2))[0] == b"b2\nb3\n"
    assert read(str(path), index, LogOptions(tail_lines=0))[0] == b""
    stamped = read(str(path), index, LogOptions(timestamps=True, tail_lines=1))[0]
    assert stamped == f"{stamp(200.0)} b3\n".encode() and stamp(200.0) == "1970-01-01T00:03:20.000000000Z"
    assert read(str(path), index, LogOptions(limit_bytes=4))[0] == b"a1\na"
    # Lines not yet indexed count as written now.
    write(path, "c1\n")
    data, offset = read(str(path), index, LogOptions(since_unix=300), now=lambda: 400.0)
    assert data == b"c1\n" and offset == 18
    assert read(None, [], LogOptions()) == (b"", 0)


def test_follow_streams_until_the_container_ends(tmp_path):
    path = tmp_path / "0.log"
    write(path, "old\n")
    alive = threading.Event()
    alive.set()
    chunks = []
    stream = follow(str(path), 4, LogOptions(), alive=alive.is_set, cancelled=lambda: False, poll_s=0.01)

    def consume():
        chunks.extend(stream)

    thread = threading.Thread(target=consume)
    thread.start()
    write(path, "new 1\nnew ")
    write(path, "2\n")
    write(path, "tail without newline")
    alive.clear()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert b"".join(chunks) == b"new 1\nnew 2\ntail without newline"


def test_follow_stops_when_cancelled_and_honours_the_byte_limit(tmp_path):
    path = tmp_path / "0.log"
    write(path, "0123456789\n" * 3)
    out = list(follow(str(path), 0, LogOptions(limit_bytes=15), alive=lambda: True, cancelled=lambda: False,
                      sent_bytes=5, poll_s=0.01))
    assert b"".join(out) == b"0123456789"
    assert list(follow(str(path), 0, LogOptions(), alive=lambda: True, cancelled=lambda: True)) == []
