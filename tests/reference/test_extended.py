"""The extended query protocol over raw sockets, in both runtime shapes: a batch through Sync
is one message (S9); errors skip to Sync; a broken batch is FATAL 08P01."""

from __future__ import annotations

import struct
from collections.abc import Callable

from pgcheck.reference import protocol as pq
from pgcheck.reference.client import PgClient


def parse(query: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    body = pq.cstr(name) + pq.cstr(query) + struct.pack("!H", len(oids))
    return pq.message(b"P", body + b"".join(struct.pack("!I", o) for o in oids))


def bind(values: tuple[bytes | None, ...] = (), statement: str = "", formats: tuple[int, ...] = ()) -> bytes:
    body = pq.cstr("") + pq.cstr(statement) + struct.pack("!H", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats) + struct.pack("!H", len(values))
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!I", len(v)) + v
    return pq.message(b"B", body + struct.pack("!H", 0))


def describe(kind: bytes = b"P", name: str = "") -> bytes:
    return pq.message(b"D", kind + pq.cstr(name))


EXECUTE = pq.message(b"E", pq.cstr("") + struct.pack("!I", 0))
SYNC = pq.message(b"S")


def kinds(client: PgClient) -> list[bytes]:
    """The message types up to and including ReadyForQuery."""
    out = []
    while not out or out[-1] != b"Z":
        out.append(client.read_message(5.0)[0])
    return out


def test_batch_replies_and_one_ready_for_query(connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.send_raw(parse("SELECT $1", oids=(pq.INT4_OID,)) + bind((struct.pack("!i", 42),), formats=(1,)))
    client.send_raw(describe() + EXECUTE + SYNC)
    assert kinds(client) == [b"1", b"2", b"T", b"D", b"C", b"Z"]
    client.send_raw(SYNC)  # a lone Sync: just ReadyForQuery
    assert kinds(client) == [b"Z"]
    # a named statement, described, bound with a text parameter twice, then closed
    client.send_raw(parse("SELECT 3", name="s0") + describe(b"S", "s0") + SYNC)
    assert kinds(client) == [b"1", b"t", b"T", b"Z"]
    client.send_raw(parse("SELECT $1", name="s1") + SYNC)
    assert kinds(client) == [b"1", b"Z"]
    for value in (b"7", b"8"):
        client.send_raw(bind((value,), statement="s1") + EXECUTE + SYNC)
        result = client.read_until_ready(5.0)
        assert result.rows == [[value.decode()]] and result.status == "I"
    client.send_raw(pq.message(b"C", b"S" + pq.cstr("s1")) + SYNC)
    assert kinds(client) == [b"3", b"Z"]
    assert client.query("SELECT 5").rows == [["5"]]  # the simple protocol still works


def test_error_skips_to_sync(connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.send_raw(bind(statement="missing") + describe() + EXECUTE + SYNC)
    result = client.read_until_ready(5.0)
    assert [e.code for e in result.errors] == ["26000"] and result.status == "I"
    client.send_raw(parse("SELECT 1; SELECT 2") + SYNC)
    assert [e.code for e in client.read_until_ready(5.0).errors] == ["42601"]
    client.send_raw(parse("BEGIN") + bind() + EXECUTE + SYNC)
    assert client.read_until_ready(5.0).status == "T"
    client.send_raw(parse("SELEKT") + bind() + EXECUTE + parse("SELECT 1") + bind() + EXECUTE + SYNC)
    result = client.read_until_ready(5.0)
    assert [e.code for e in result.errors] == ["42601"] and result.rows == [] and result.status == "E"
    assert client.query("ROLLBACK").status == "I"


def test_simple_query_inside_a_batch_is_fatal(connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.send_raw(parse("SELECT 1") + pq.message(b"Q", pq.cstr("SELECT 2")))
    fatal = client.read_fatal()
    assert fatal.severity == "FATAL" and fatal.code == "08P01"
    assert client.at_eof()
