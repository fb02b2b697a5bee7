"""Finite field types of the modeling language (ARCHITECTURE Decision 1).

Every value in a state is encoded as a small Python int (or a tuple of ints for a
FIFO), so a whole state is a flat tuple that hashes and compares fast:

- enum  -> index of the value in the enum
- bool  -> 0 / 1
- int   -> the value itself, within [lo, hi]
- ref   -> instance index, NULL_REF (-1) for none
- set   -> bit mask over the universe (enum values or instances of a kind)
- fifo  -> tuple of instance indexes, head first, at most `capacity` long
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NULL_REF = -1


class FieldType:
    """Base of the field types; `describe()` is the JSON form used in ITF `#meta`."""

    name = "?"

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def default(self) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> Any:
        """Python-level value (as written in a model) -> state encoding."""
        raise NotImplementedError

    def to_itf(self, raw: Any) -> Any:
        raise NotImplementedError

    def from_itf(self, value: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Enum(FieldType):
    label: str
    values: tuple[str, ...]
    name = "enum"

    def __init__(self, label: str, values: list[str] | tuple[str, ...]) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "values", tuple(values))
        if len(set(self.values)) != len(self.values) or not self.values:
            raise ValueError(f"enum {label}: values must be distinct and non-empty")

    def index(self, value: str) -> int:
        return self.values.index(value)

    def describe(self) -> dict[str, Any]:
        return {"type": "enum", "name": self.label, "values": list(self.values)}

    def default(self) -> int:
        return 0

    def encode(self, value: Any) -> int:
        if not isinstance(value, str) or value not in self.values:
            raise TypeError(f"{value!r} is not a value of enum {self.label} {list(self.values)}")
        return self.values.index(value)

    def to_itf(self, raw: Any) -> Any:
        return self.values[raw]

    def from_itf(self, value: Any) -> int:
        return self.encode(value)


@dataclass(frozen=True, eq=False)
class Bool(FieldType):
    name = "bool"

    def describe(self) -> dict[str, Any]:
        return {"type": "bool"}

    def default(self) -> int:
        return 0

    def encode(self, value: Any) -> int:
        if not isinstance(value, bool):
            raise TypeError(f"{value!r} is not a bool")
        return int(value)

    def to_itf(self, raw: Any) -> Any:
        return bool(raw)

    def from_itf(self, value: Any) -> int:
        return self.encode(value)


@dataclass(frozen=True, eq=False)
class Int(FieldType):
    lo: int
    hi: int
    name = "int"

    def describe(self) -> dict[str, Any]:
        return {"type": "int", "min": self.lo, "max": self.hi}

    def default(self) -> int:
        return self.lo

    def encode(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{value!r} is not an int")
        if not self.lo <= value <= self.hi:
            raise TypeError(f"{value} is outside the range {self.lo}..{self.hi}")
        return value

    def to_itf(self, raw: Any) -> Any:
        return int(raw)

    def from_itf(self, value: Any) -> int:
        return self.encode(value)


@dataclass(frozen=True, eq=False)
class Ref(FieldType):
    """Nullable reference to an instance of an entity kind."""

    kind: str
    name = "ref"

    def describe(self) -> dict[str, Any]:
        return {"type": "ref", "kind": self.kind}

    def default(self) -> int:
        return NULL_REF

    def encode(self, value: Any) -> int:
        if value is None:
            return NULL_REF
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"{value!r} is not an instance index of {self.kind} or None")
        return value

    def to_itf(self, raw: Any) -> Any:
        return int(raw)

    def from_itf(self, value: Any) -> int:
        if not isinstance(value, int) or value < NULL_REF:
            raise TypeError(f"{value!r} is not a reference to a {self.kind}")
        return value


@dataclass(frozen=True, eq=False)
class Set(FieldType):
    """Bit set over the values of an enum or the instances of an entity kind."""

    of: Enum | str
    name = "set"

    def describe(self) -> dict[str, Any]:
        of = list(self.of.values) if isinstance(self.of, Enum) else self.of
        return {"type": "set", "of": of}

    def default(self) -> int:
        return 0

    def member_index(self, value: Any) -> int:
        if isinstance(self.of, Enum):
            return self.of.encode(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"{value!r} is not an instance index of {self.of}")
        return value

    def encode(self, value: Any) -> int:
        mask = 0
        for v in value:
            mask |= 1 << self.member_index(v)
        return mask

    def members(self, raw: int) -> list[int]:
        out, i = [], 0
        while raw >> i:
            if (raw >> i) & 1:
                out.append(i)
            i += 1
        return out

    def to_itf(self, raw: Any) -> Any:
        members = self.members(raw)
        if isinstance(self.of, Enum):
            return {"#set": [self.of.values[i] for i in members]}
        return {"#set": members}

    def from_itf(self, value: Any) -> int:
        if not isinstance(value, dict) or "#set" not in value:
            raise TypeError(f"{value!r} is not an ITF set")
        return self.encode(value["#set"])


@dataclass(frozen=True, eq=False)
class Fifo(FieldType):
    """Bounded FIFO of references to instances of an entity kind (head first)."""

    kind: str
    capacity: int
    name = "fifo"

    def describe(self) -> dict[str, Any]:
        return {"type": "fifo", "kind": self.kind, "capacity": self.capacity}

    def default(self) -> tuple[int, ...]:
        return ()

    def encode(self, value: Any) -> tuple[int, ...]:
        items = tuple(value)
        if len(items) > self.capacity:
            raise TypeError(f"{len(items)} items exceed the FIFO capacity {self.capacity}")
        for x in items:
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                raise TypeError(f"{x!r} is not an instance index of {self.kind}")
        return items

    def to_itf(self, raw: Any) -> Any:
        return [int(x) for x in raw]

    def from_itf(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list):
            raise TypeError(f"{value!r} is not a list")
        return self.encode(value)
