"""Column storage of the schedule's Bell pairs and classical messages.

A circuit of a million gates emits about half a million Bell pairs and a million classical
messages.  As one ``dict`` each (the ``schedule.json`` records) they took about 1 GB and a
``json.dumps`` of them several seconds and another GB of chunks.  Here every field is a column
(``array('q')`` of 8 bytes per value, or a list of shared strings), the records are built only on
request (:meth:`PairTable.to_dicts`, :meth:`MessageTable.to_dicts`: the ``schedule`` of
:class:`araqne.backend.Emission`), and ``schedule.json`` is written straight from the columns
(:meth:`ScheduleData.to_json`), byte for byte what ``json.dumps(schedule, separators=(",", ":"))``
writes.

The record of a pair (see :mod:`araqne.backend.schedule`) has the keys ``id, qpus, path,
comm_qubits, epr_step, ready_by, consumed, released, protocol, window, serves`` and then, in the
order its maker gave them, any of ``qubit``, ``route``, ``relay``.
"""

from __future__ import annotations

import json
from array import array

import numpy as np
from numba import njit

from ..jit import borrowing

NONE = -(1 << 63)
"""Stored for ``None`` in an integer column (``window``, ``qubit``)."""

BASE_KEYS = ("id", "qpus", "path", "comm_qubits", "epr_step", "ready_by", "consumed",
             "released", "protocol", "window", "serves")
EXTRA_KEYS = ("qubit", "route", "relay")

_PROTOCOL = ('"gate"', '"state"')
_CHUNK = 20_000   # records joined per chunk of the JSON text (bounds the transient strings)


class PairTable:
    """Bell-pair records, column by column, in the order the pairs were made (``e0, e1...``)."""

    __slots__ = ("qa", "qb", "ca", "cb", "epr", "ready", "consumed", "released", "state",
                 "window", "qubit", "relay", "shape", "shapes", "_shape_index", "routes",
                 "sv_pid", "sv_op", "last_served", "_names", "_csr")

    def __init__(self):
        self.qa = array("q")
        self.qb = array("q")
        self.ca: list[str] = []        # communication qubit names (shared string objects)
        self.cb: list[str] = []
        self.epr = array("q")
        self.ready = array("q")
        self.consumed = array("q")
        self.released = array("q")
        self.state = array("b")        # 1: state teleportation, 0: gate (linked copy)
        self.window = array("q")
        self.qubit = array("q")
        self.relay = array("b")
        self.shape = array("b")        # index into shapes: the extra keys, in order
        self.shapes: list[tuple] = [()]
        self._shape_index: dict[tuple, int] = {(): 0}
        self.routes: dict[int, list] = {}   # pair -> route, where it is not [qa, qb]
        self.sv_pid = array("q")       # (pair, operation) served, in the order recorded
        self.sv_op = array("q")
        self.last_served = array("q")
        self._names: dict[str, str] = {}
        self._csr = None               # (ptr, ops) once frozen by relabel

    def __len__(self) -> int:
        return len(self.qa)

    def add(self, qa: int, a: str, qb: int, b: str, step: int, record: dict) -> int:
        """Append a pair made at ``step`` between ``a`` (on ``qa``) and ``b`` (on ``qb``);
        ``record`` sets ``protocol``, ``window``, ``serves``, ``qubit``, ``route``, ``relay``.
        Returns its number."""
        n = len(self.qa)
        names = self._names
        self.qa.append(qa)
        self.qb.append(qb)
        self.ca.append(names.setdefault(a, a))
        self.cb.append(names.setdefault(b, b))
        self.epr.append(step)
        self.ready.append(step)
        self.consumed.append(step)
        self.released.append(step)
        self.last_served.append(NONE)
        state = 0
        window = NONE
        qubit = NONE
        relay = 0
        extras = []
        for key, value in record.items():
            if key == "protocol":
                if value not in ("gate", "state"):
                    raise ValueError(f"pair protocol must be 'gate' or 'state' (got {value!r})")
                state = 1 if value == "state" else 0
            elif key == "window":
                window = NONE if value is None else int(value)
            elif key == "serves":
                for i in value:
                    self.serve(n, int(i))
            elif key == "qubit":
                qubit = NONE if value is None else int(value)
                extras.append(key)
            elif key == "route":
                route = [int(x) for x in value]
                if route != [qa, qb]:
                    self.routes[n] = route
                extras.append(key)
            elif key == "relay":
                relay = 1 if value else 0
                extras.append(key)
            else:
                raise ValueError(f"unknown Bell-pair field {key!r}")
        self.state.append(state)
        self.window.append(window)
        self.qubit.append(qubit)
        self.relay.append(relay)
        shape = tuple(extras)
        idx = self._shape_index.get(shape)
        if idx is None:
            idx = self._shape_index[shape] = len(self.shapes)
            self.shapes.append(shape)
        self.shape.append(idx)
        return n

    _COPY_SHAPE = ("qubit", "route", "relay")

    def add_copy(self, qa: int, a: str, qb: int, b: str, step: int, window: int, qubit: int,
                 route, relay: bool) -> int:
        """:meth:`add` of a linked-copy pair (``protocol="gate"``, keys ``qubit, route,
        relay`` in that order; ``route`` None means ``[qa, qb]``)."""
        n = len(self.qa)
        names = self._names
        self.qa.append(qa)
        self.qb.append(qb)
        self.ca.append(names.setdefault(a, a))
        self.cb.append(names.setdefault(b, b))
        self.epr.append(step)
        self.ready.append(step)
        self.consumed.append(step)
        self.released.append(step)
        self.last_served.append(NONE)
        self.state.append(0)
        self.window.append(window)
        self.qubit.append(qubit)
        self.relay.append(1 if relay else 0)
        if route is not None:
            route = [int(x) for x in route]
            if route != [qa, qb]:
                self.routes[n] = route
        idx = self._shape_index.get(self._COPY_SHAPE)
        if idx is None:
            idx = self._shape_index[self._COPY_SHAPE] = len(self.shapes)
            self.shapes.append(self._COPY_SHAPE)
        self.shape.append(idx)
        return n

    def serve(self, n: int, i: int) -> None:
        """Record that pair ``n`` serves operation ``i`` (once, however often it is told)."""
        if self.last_served[n] != i:
            self.last_served[n] = i
            self.sv_pid.append(n)
            self.sv_op.append(i)

    # ------------------------------------------------------------------ serves

    def serves_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ptr, ops)``: pair ``n`` serves ``ops[ptr[n]:ptr[n + 1]]``, in recorded order."""
        if self._csr is not None:
            return self._csr
        n = len(self.qa)
        pid = np.frombuffer(self.sv_pid, dtype=np.int64) if len(self.sv_pid) else \
            np.zeros(0, dtype=np.int64)
        ops = np.frombuffer(self.sv_op, dtype=np.int64) if len(self.sv_op) else \
            np.zeros(0, dtype=np.int64)
        order = np.argsort(pid, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pid, minlength=n), out=ptr[1:])
        return ptr, ops[order]

    def relabel(self, order: np.ndarray, window_of: np.ndarray | None) -> None:
        """Rename operations (``order[i]``) and windows (``window_of[w]``; None keeps them) to
        another numbering and sort each pair's served operations; no pair is added
        afterwards."""
        ptr, ops = self.serves_csr()
        ops = np.asarray(order, dtype=np.int64)[ops]
        owner = np.repeat(np.arange(len(self.qa), dtype=np.int64), np.diff(ptr))
        ops = ops[np.lexsort((ops, owner))]
        self._csr = (ptr, ops)
        self.sv_pid = array("q")
        self.sv_op = array("q")
        w = np.frombuffer(self.window, dtype=np.int64) if len(self.window) else \
            np.zeros(0, dtype=np.int64)
        has = w != NONE
        if window_of is not None and has.any():
            new = w.copy()
            new[has] = np.asarray(window_of, dtype=np.int64)[w[has]]
            self.window = array("q", new.tobytes())

    # ------------------------------------------------------------------ records

    def _columns(self):
        ptr, ops = self.serves_csr()
        return (self.qa.tolist(), self.qb.tolist(), self.ca, self.cb, self.epr.tolist(),
                self.ready.tolist(), self.consumed.tolist(), self.released.tolist(),
                self.state.tolist(), self.window.tolist(), self.qubit.tolist(),
                self.relay.tolist(), self.shape.tolist(), ptr.tolist(), ops.tolist())

    def record(self, n: int) -> dict:
        """The record of pair ``n`` (a new dict)."""
        return self.to_dicts(n, n + 1)[0]

    def to_dicts(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """The ``schedule.json`` records of pairs ``start..stop-1`` (all: new objects)."""
        (qa, qb, ca, cb, epr, ready, cons, rel, state, window, qubit, relay, shape, ptr,
         ops) = self._columns()
        routes = self.routes
        shapes = self.shapes
        out = []
        for n in range(start, len(qa) if stop is None else stop):
            w = window[n]
            d = {"id": f"e{n}", "qpus": [qa[n], qb[n]], "path": [qa[n], qb[n]],
                 "comm_qubits": [ca[n], cb[n]], "epr_step": epr[n], "ready_by": ready[n],
                 "consumed": cons[n], "released": rel[n],
                 "protocol": "state" if state[n] else "gate",
                 "window": None if w == NONE else w, "serves": ops[ptr[n]:ptr[n + 1]]}
            for key in shapes[shape[n]]:
                if key == "qubit":
                    d["qubit"] = None if qubit[n] == NONE else qubit[n]
                elif key == "route":
                    r = routes.get(n)
                    d["route"] = list(r) if r is not None else [qa[n], qb[n]]
                else:
                    d["relay"] = bool(relay[n])
            out.append(d)
        return out

    def json_chunks(self):
        """The records as ``json.dumps(..., separators=(",", ":"))`` writes them, comma-joined,
        in chunks of a few thousand records (numba writes the bytes, :func:`_pairs_json`)."""
        n_all = len(self.qa)
        if not n_all:
            return
        ptr, ops = self.serves_csr()
        ids: dict[str, int] = {}
        ca = np.array([ids.setdefault(x, len(ids)) for x in self.ca], dtype=np.int64)
        cb = np.array([ids.setdefault(x, len(ids)) for x in self.cb], dtype=np.int64)
        nptr, nbytes = _text_table(list(ids))
        rcount = np.zeros(n_all, dtype=np.int64)
        for n, r in self.routes.items():
            rcount[n] = len(r)
        rptr = np.zeros(n_all + 1, dtype=np.int64)
        np.cumsum(rcount, out=rptr[1:])
        rvals = np.array([x for n in sorted(self.routes) for x in self.routes[n]],
                         dtype=np.int64)
        code = {"qubit": 0, "route": 1, "relay": 2}
        shape_keys = np.full((len(self.shapes), 3), -1, dtype=np.int64)
        for i, shp in enumerate(self.shapes):
            for j, key in enumerate(shp):
                shape_keys[i, j] = code[key]
        cols = [_np(c) for c in (self.qa, self.qb, self.epr, self.ready, self.consumed,
                                 self.released, self.state, self.window, self.qubit,
                                 self.relay, self.shape)]
        for start in range(0, n_all, _CHUNK):
            stop = min(start + _CHUNK, n_all)
            qa, qb, epr, ready, cons, rel, state, window, qubit, relay, shape = (
                c[start:stop] for c in cols)
            out = _pairs_json(start, qa, qb, ca[start:stop], cb[start:stop], epr, ready, cons,
                              rel, state, window, qubit, relay, shape,
                              ptr[start:stop + 1] - ptr[start], ops[ptr[start]:ptr[stop]],
                              shape_keys, rptr[start:stop + 1] - rptr[start],
                              rvals[rptr[start]:rptr[stop]], nptr, nbytes, _PAIR_PARTS)
            yield out.tobytes().decode("ascii")


class PairRef:
    """One pair of a :class:`PairTable`, read and written like its record:
    ``pair["id"]``, ``pair["ready_by"] = 5``.  What the protocol gadgets return."""

    __slots__ = ("table", "n")

    _COLUMNS = {"epr_step": "epr", "ready_by": "ready", "consumed": "consumed",
                "released": "released"}

    def __init__(self, table: PairTable, n: int):
        self.table = table
        self.n = n

    def __getitem__(self, key: str):
        if key == "id":
            return f"e{self.n}"
        col = self._COLUMNS.get(key)
        if col is not None:
            return getattr(self.table, col)[self.n]
        return self.table.record(self.n)[key]

    def __setitem__(self, key: str, value) -> None:
        col = self._COLUMNS.get(key)
        if col is None:
            raise KeyError(f"pair field {key!r} is not writable")
        getattr(self.table, col)[self.n] = int(value)

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: str) -> bool:
        return key in self.table.record(self.n)

    def __repr__(self) -> str:
        return f"PairRef({self.table.record(self.n)!r})"


class MessageTable:
    """Classical messages, column by column: bit, sending and receiving QPU, the step the bit
    was written, the pair it serves (``None``: a condition of the input).

    A protocol bit ``m[j]`` is stored as ``j`` (``mreg`` names the register), an input bit by
    its name: a million small strings kept alive among the emitter's short-lived ones would pin
    most of the memory it frees.
    """

    __slots__ = ("mreg", "bit", "names", "src", "to", "step", "pair")

    def __init__(self, mreg: str = "m"):
        self.mreg = mreg
        self.bit = array("q")                 # protocol bit index, or NONE
        self.names: dict[int, str] = {}       # message -> input bit name
        self.src = array("q")
        self.to = array("q")
        self.step = array("q")
        self.pair = array("q")

    def __len__(self) -> int:
        return len(self.src)

    def add(self, bit: str, src: int, to: int, step: int, pair: int | None,
            index: int | None = None) -> None:
        """Append a message of ``bit`` (``index``: its number in the protocol register)."""
        if index is None:
            self.names[len(self.bit)] = bit
            self.bit.append(NONE)
        else:
            self.bit.append(index)
        self.src.append(src)
        self.to.append(to)
        self.step.append(step)
        self.pair.append(NONE if pair is None else pair)

    def _name_list(self, start: int, stop: int) -> list[str]:
        mreg = self.mreg
        names = self.names
        return [names[start + j] if b == NONE else f"{mreg}[{b}]"
                for j, b in enumerate(self.bit[start:stop].tolist())]

    def to_dicts(self) -> list[dict]:
        """The ``schedule.json`` records of every message (new objects)."""
        return [{"name": nm, "from": a, "to": b, "sent_step": s,
                 "pair": None if p == NONE else f"e{p}"}
                for nm, a, b, s, p in zip(self._name_list(0, len(self.bit)), self.src.tolist(),
                                          self.to.tolist(), self.step.tolist(),
                                          self.pair.tolist())]

    def json_chunks(self):
        """The records as compact JSON, comma-joined, in chunks (numba writes the bytes,
        :func:`_messages_json`)."""
        n_all = len(self.src)
        if not n_all:
            return
        ids: dict[str, int] = {}
        name_of = np.full(n_all, -1, dtype=np.int64)
        for j, nm in self.names.items():
            name_of[j] = ids.setdefault(nm, len(ids))
        nptr, nbytes = _text_table(list(ids))
        mreg = np.frombuffer(self.mreg.encode("ascii"), dtype=np.uint8)
        cols = [_np(c) for c in (self.bit, self.src, self.to, self.step, self.pair)]
        for start in range(0, n_all, _CHUNK):
            stop = min(start + _CHUNK, n_all)
            bit, src, to, step, pair = (c[start:stop] for c in cols)
            out = _messages_json(bit, src, to, step, pair, name_of[start:stop], nptr, nbytes,
                                 mreg, _MESSAGE_PARTS)
            yield out.tobytes().decode("ascii")


def _np(a: array) -> np.ndarray:
    """A column as a numpy array (a copy)."""
    dtype = np.int8 if a.typecode == "b" else np.int64
    return np.array(a, dtype=dtype) if len(a) else np.zeros(0, dtype=dtype)


def _text_table(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """JSON-encoded ``names`` (quoted, escaped, ASCII) as CSR bytes ``(ptr, bytes)``."""
    enc = _encoder()
    blobs = [enc(nm).encode("ascii") for nm in names]
    ptr = np.zeros(len(blobs) + 1, dtype=np.int64)
    if blobs:
        np.cumsum([len(b) for b in blobs], out=ptr[1:])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8) if blobs else \
        np.zeros(0, dtype=np.uint8)
    return ptr, data


def _parts(*texts: str) -> tuple:
    return tuple(np.frombuffer(t.encode("ascii"), dtype=np.uint8) for t in texts)


_PAIR_PARTS = _parts('{"id":"e', '","qpus":[', '],"path":[', '],"comm_qubits":[',
                     '],"epr_step":', ',"ready_by":', ',"consumed":', ',"released":',
                     ',"protocol":"state"', ',"protocol":"gate"', ',"window":', 'null',
                     ',"serves":[', ',"qubit":', ',"route":[', ',"relay":true',
                     ',"relay":false')
_MESSAGE_PARTS = _parts('{"name":', ',"from":', ',"to":', ',"sent_step":', ',"pair":', 'null')


def _encoder():
    """``json.dumps`` of one string (escapes and ``ensure_ascii`` as the module does)."""
    return json.encoder.encode_basestring_ascii


class ScheduleData:
    """The ``schedule.json`` content: small fields in ``head`` (in key order, ``pairs`` and
    ``messages`` as placeholders) and the two tables."""

    __slots__ = ("head", "pairs", "messages")

    def __init__(self, head: dict, pairs: PairTable, messages: MessageTable):
        self.head = head
        self.pairs = pairs
        self.messages = messages

    def to_dict(self) -> dict:
        """The content as plain objects (the pairs and messages as new dicts)."""
        out = {}
        for key, value in self.head.items():
            if key == "pairs":
                out[key] = self.pairs.to_dicts()
            elif key == "messages":
                out[key] = self.messages.to_dicts()
            else:
                out[key] = value
        return out

    def to_json(self, extra: dict | None = None, end: str = "") -> str:
        """``json.dumps({**content, **extra}, separators=(",", ":")) + end``, written from the
        columns."""
        parts = ["{"]
        first = True
        merged = dict(self.head)
        merged.update(extra or {})
        for key, value in merged.items():
            if not first:
                parts.append(",")
            first = False
            parts.append(json.dumps(key) + ":")
            if key == "pairs" and value is None:
                table = self.pairs
            elif key == "messages" and value is None:
                table = self.messages
            else:
                parts.append(json.dumps(value, separators=(",", ":")))
                continue
            parts.append("[")
            sep = ""
            for chunk in table.json_chunks():
                if chunk:
                    parts.append(sep + chunk)
                    sep = ","
            parts.append("]")
        parts.append("}" + end)
        text = "".join(parts)
        del parts
        from .schedule import release_free_memory
        release_free_memory()
        return text


# ------------------------------------------------------------------ numba writers of the JSON


@borrowing
def _put_int(out, pos, v):
    """Decimal text of ``v`` at ``out[pos:]``; returns the new position."""
    if v < 0:
        out[pos] = 45  # '-'
        pos += 1
        v = -v
    if v == 0:
        out[pos] = 48
        return pos + 1
    start = pos
    while v > 0:
        out[pos] = 48 + v % 10
        v //= 10
        pos += 1
    i, j = start, pos - 1
    while i < j:
        out[i], out[j] = out[j], out[i]
        i += 1
        j -= 1
    return pos


@borrowing
def _put(out, pos, src):
    for i in range(src.shape[0]):
        out[pos + i] = src[i]
    return pos + src.shape[0]


@njit(cache=True)
def _messages_json(bit, src, to, step, pair, name_of, nptr, nbytes, mreg, parts):
    """Compact JSON of messages, comma-joined, as bytes (``parts``: the constant pieces)."""
    n = bit.shape[0]
    size = 0
    for j in range(n):
        size += 160 + mreg.shape[0]
        if bit[j] == NONE:
            size += nptr[name_of[j] + 1] - nptr[name_of[j]]
    out = np.empty(size, dtype=np.uint8)
    pos = 0
    for j in range(n):
        if j:
            out[pos] = 44
            pos += 1
        pos = _put(out, pos, parts[0])           # {"name":
        if bit[j] == NONE:
            pos = _put(out, pos, nbytes[nptr[name_of[j]]:nptr[name_of[j] + 1]])
        else:
            out[pos] = 34
            pos = _put(out, pos + 1, mreg)
            out[pos] = 91
            pos = _put_int(out, pos + 1, bit[j])
            out[pos] = 93
            out[pos + 1] = 34
            pos += 2
        pos = _put(out, pos, parts[1])           # ,"from":
        pos = _put_int(out, pos, src[j])
        pos = _put(out, pos, parts[2])           # ,"to":
        pos = _put_int(out, pos, to[j])
        pos = _put(out, pos, parts[3])           # ,"sent_step":
        pos = _put_int(out, pos, step[j])
        pos = _put(out, pos, parts[4])           # ,"pair":
        if pair[j] == NONE:
            pos = _put(out, pos, parts[5])       # null
        else:
            out[pos] = 34
            out[pos + 1] = 101
            pos = _put_int(out, pos + 2, pair[j])
            out[pos] = 34
            pos += 1
        out[pos] = 125
        pos += 1
    return out[:pos]


@njit(cache=True)
def _pairs_json(start, qa, qb, ca, cb, epr, ready, cons, rel, state, window, qubit, relay, shape,
                sptr, sops, shape_keys, rptr, rvals, nptr, nbytes, parts):
    """Compact JSON of pairs ``start, start + 1, ...`` (columns sliced to them), comma-joined,
    as bytes.  ``ca``/``cb``: name ids into ``nptr``/``nbytes`` (JSON-encoded names);
    ``sptr``/``sops``: served operations; ``rptr``/``rvals``: routes (empty: ``[qa, qb]``);
    ``shape_keys[shape]``: extra keys in order (0 qubit, 1 route, 2 relay, -1 none)."""
    n = qa.shape[0]
    size = 0
    for j in range(n):
        size += 400 + 21 * (sptr[j + 1] - sptr[j]) + 21 * (rptr[j + 1] - rptr[j])
        size += nptr[ca[j] + 1] - nptr[ca[j]] + nptr[cb[j] + 1] - nptr[cb[j]]
    out = np.empty(size, dtype=np.uint8)
    pos = 0
    for j in range(n):
        if j:
            out[pos] = 44
            pos += 1
        pos = _put(out, pos, parts[0])            # {"id":"e
        pos = _put_int(out, pos, start + j)
        pos = _put(out, pos, parts[1])            # ","qpus":[
        pos = _put_int(out, pos, qa[j])
        out[pos] = 44
        pos = _put_int(out, pos + 1, qb[j])
        pos = _put(out, pos, parts[2])            # ],"path":[
        pos = _put_int(out, pos, qa[j])
        out[pos] = 44
        pos = _put_int(out, pos + 1, qb[j])
        pos = _put(out, pos, parts[3])            # ],"comm_qubits":[
        pos = _put(out, pos, nbytes[nptr[ca[j]]:nptr[ca[j] + 1]])
        out[pos] = 44
        pos = _put(out, pos + 1, nbytes[nptr[cb[j]]:nptr[cb[j] + 1]])
        pos = _put(out, pos, parts[4])            # ],"epr_step":
        pos = _put_int(out, pos, epr[j])
        pos = _put(out, pos, parts[5])            # ,"ready_by":
        pos = _put_int(out, pos, ready[j])
        pos = _put(out, pos, parts[6])            # ,"consumed":
        pos = _put_int(out, pos, cons[j])
        pos = _put(out, pos, parts[7])            # ,"released":
        pos = _put_int(out, pos, rel[j])
        pos = _put(out, pos, parts[8] if state[j] else parts[9])   # ,"protocol":"state"/"gate"
        pos = _put(out, pos, parts[10])           # ,"window":
        if window[j] == NONE:
            pos = _put(out, pos, parts[11])       # null
        else:
            pos = _put_int(out, pos, window[j])
        pos = _put(out, pos, parts[12])           # ,"serves":[
        for t in range(sptr[j], sptr[j + 1]):
            if t > sptr[j]:
                out[pos] = 44
                pos += 1
            pos = _put_int(out, pos, sops[t])
        out[pos] = 93
        pos += 1
        for slot in range(shape_keys.shape[1]):
            key = shape_keys[shape[j], slot]
            if key < 0:
                break
            if key == 0:
                pos = _put(out, pos, parts[13])   # ,"qubit":
                if qubit[j] == NONE:
                    pos = _put(out, pos, parts[11])
                else:
                    pos = _put_int(out, pos, qubit[j])
            elif key == 1:
                pos = _put(out, pos, parts[14])   # ,"route":[
                if rptr[j + 1] == rptr[j]:
                    pos = _put_int(out, pos, qa[j])
                    out[pos] = 44
                    pos = _put_int(out, pos + 1, qb[j])
                else:
                    for t in range(rptr[j], rptr[j + 1]):
                        if t > rptr[j]:
                            out[pos] = 44
                            pos += 1
                        pos = _put_int(out, pos, rvals[t])
                out[pos] = 93
                pos += 1
            else:
                pos = _put(out, pos, parts[15] if relay[j] else parts[16])  # ,"relay":true/false
        out[pos] = 125
        pos += 1
    return out[:pos]
