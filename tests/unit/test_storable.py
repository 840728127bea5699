"""Text made storable: lone surrogates replaced, pairs joined, the same
object back when nothing changed; and which write errors are about data."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from taskloom.server.store.storable import cannot_store, storable, storable_text


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    assert storable_text("a\udce9b\ud800") == "a\ufffdb\ufffd"
    assert storable_text("\ud83d\ude00") == "\U0001f600"  # a well-formed pair, joined
    plain = "caf\u00e9 \u2603"
    assert storable_text(plain) is plain


def test_json_values_are_walked_keys_and_all() -> None:
    value = {"a": [1, "x\udc80"], "k\udc80": None}
    assert storable(value) == {"a": [1, "x\ufffd"], "k\ufffd": None}
    clean = {"a": [1, 2.5, None, True, "\u00e9"], "b": {"c": "d"}}
    assert storable(clean) is clean


class FakeDriverDataError(Exception):
    pass


FakeDriverDataError.__name__ = "DataError"


def test_data_errors_are_told_from_the_database_being_unavailable() -> None:
    encode = UnicodeEncodeError("utf-8", "\udce9", 0, 1, "surrogates not allowed")
    assert cannot_store(StatementError("bind", "UPDATE", None, encode))
    assert cannot_store(DataError("UPDATE", None, FakeDriverDataError("bad")))
    assert cannot_store(IntegrityError("UPDATE", None, Exception("constraint")))
    wrapped = Exception("adapter")
    wrapped.__cause__ = FakeDriverDataError("invalid input")
    assert cannot_store(StatementError("x", "UPDATE", None, wrapped))
    assert not cannot_store(OperationalError("BEGIN", None, Exception("database is locked")))
    assert not cannot_store(ConnectionResetError("gone"))
