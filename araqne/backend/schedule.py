"""Program builder and Bell-pair schedule of the backend.

:class:`Program` collects, in program order, the statements of the combined program
(``distributed.qasm``) and of every QPU's own program (``qpu<i>.qasm``), while it computes the
*step* of every statement and records every Bell pair and classical message for
``schedule.json``.

Steps
-----
The step of a statement of ``distributed.qasm`` is ``1 + max`` of the steps of the earlier
statements sharing any of its qubits or classical bits (bits it writes *or* reads in a
condition); statements touching nothing earlier are at step 1.  These are the ASAP layers of the
program: statements of one step can run at once.

Naming (shared by ``distributed.qasm``, ``qpu<i>.qasm`` and ``schedule.json``)
-------------------------------------------------------------------------------
- ``qpu<i>[s]``: data qubit ``s`` of QPU ``i``; ``comm<i>[s]``: its communication qubit ``s``.
- The input's classical registers keep their names and sizes and are declared first, so input bit
  ``j`` is bit ``j`` of the program.  Protocol measurements go to one extra register,
  ``m`` (``m_``, ``m__``... if the input already uses the name), one fresh bit per measurement:
  ``m[17]``.  A classical message carries one bit and is named by it: ``m[17]`` (or an input bit
  such as ``c[2]`` when a conditioned operation runs on another QPU than the measurement).
- Bell pair ``e<n>`` (``e0``, ``e1``, ... in program order): ``epr comm0[1], comm2[0]; // e5`` in
  ``distributed.qasm``; in ``qpu<i>.qasm`` each end is the statement
  ``epr_half comm0[1]; // e5 ...`` (``gate epr_half a { }``: an opaque marker where the link
  layer delivers this QPU's half of the pair, in the Bell state ``(|00> + |11>)/sqrt(2)`` with the
  partner's half), and each message is a comment, ``// send m[17] to qpu2 (e5)`` after the
  sender's measurement and ``// recv m[17] from qpu0 (e5)`` before the receiver's first use.

schedule.json
-------------
``{"steps": <definition>, "num_steps", "pairs": [...], "messages": [...], "per_link": {"i-j": n},
"total", "comm_peak": [...], "evictions", ("moves")}``.  A pair is ``{"id": "e5", "qpus": [a, b]
(sender, receiver), "path": [a, b] (always one link: no swapping), "route": [home, ..., b] (the
tree path its copy or state travels), "comm_qubits": ["comm<a>[i]", "comm<b>[j]"], "epr_step",
"ready_by", "consumed", "released", "protocol": "gate" | "state", "window": w (None for state),
"qubit": root or moved qubit, "relay": true when b only relays the copy, "serves": [input op
indices run with this copy or with copies made from it]}``.  A message is ``{"name": "m[17]",
"from", "to", "sent_step", "pair"}``.
"""

from __future__ import annotations

from array import array
from collections import defaultdict

import numpy as np

from .pairs import MessageTable, PairRef, PairTable, ScheduleData

#: duration classes of the statements (:attr:`Program.records`), read by the timing model
CLS_EPR = 0
CLS_1Q = 1
CLS_2Q = 2
CLS_MR = 3      # measure or reset
CLS_SWAP = 4
#: bit layout of one record: ``step << STEP_SHIFT | qpu << 4 | cls << 1 | remote``
STEP_SHIFT = 24
MAX_QPUS = 1 << 20


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere)."""
    try:
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("c")
        fn = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None
    if fn is not None:
        fn.argtypes = [ctypes.c_size_t]
        fn.restype = ctypes.c_int
    return fn


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Give the memory freed inside the C heap back to the system (glibc ``malloc_trim``; a
    no-op elsewhere).  Emission joins its statements into chunks and the chunks into the final
    texts; the freed chunks stay resident as free heap pages (about 0.55 GB on a 1M-gate
    circuit) unless given back."""
    if _TRIM is not None:
        _TRIM(0)


def classify(text: str, num_qubits: int, measures: bool) -> int:
    """Duration class of a statement given as text (for :meth:`Program.op` callers that do not
    say): ``reset`` and measurements ``CLS_MR``, ``swap`` ``CLS_SWAP``, others by qubit count.
    The kind is the first word of the statement's body (after any ``if (...) {`` prefix)."""
    if measures:
        return CLS_MR
    body = text
    if body.startswith("if"):
        cut = body.rfind(")", 0, body.find(";") if ";" in body else len(body))
        body = body[cut + 1:].replace("{", " ").replace("}", " ").replace("else", " ").lstrip()
    word = body.split(" ", 1)[0].split("(", 1)[0]
    if word == "reset":
        return CLS_MR
    if num_qubits >= 2:
        return CLS_SWAP if word == "swap" else CLS_2Q
    return CLS_1Q

STEPS_DEFINITION = (
    "ASAP layers of distributed.qasm: the step of a statement is 1 + the largest step of the "
    "earlier statements on any of its qubits or classical bits (written or read in a "
    "condition); statements of one step can run in parallel. Pairs: epr_step = step of the "
    "epr statement itself (its earliest possible step), ready_by = the step by which the Bell "
    "pair must be delivered (the step before the first local operation that uses it), "
    "consumed = step at which the protocol has used it up (the linked copy or the teleported "
    "state is complete on the receiving end), released = step of the last reset that frees "
    "its communication qubits.")


class Program:
    """Statements of the combined and per-QPU programs, with steps, pairs and messages.

    Parameters
    ----------
    k : int
        Number of QPUs.
    mreg : str
        Name of the protocol-measurement register.
    """

    __slots__ = ("k", "mreg", "lines", "qlines", "chunks", "qchunks", "last", "writer", "sent",
                 "pairs", "messages", "nbits", "per_link", "records", "rec")

    def __init__(self, k: int, mreg: str = "m"):
        if k >= MAX_QPUS:
            raise ValueError(f"at most {MAX_QPUS - 1} QPUs (got {k})")
        self.k = k
        self.mreg = mreg
        self.lines: list[str] = []
        self.qlines: list[list[str]] = [[] for _ in range(k)]
        # earlier statements, joined (see :meth:`flush`): the programs are
        # "\n".join(chunks + lines) and "\n".join(qchunks[i] + qlines[i])
        self.chunks: list[str] = []
        self.qchunks: list[list[str]] = [[] for _ in range(k)]
        self.last: dict[str, int] = {}
        self.writer: dict[str, tuple[int, int, int]] = {}   # bit -> (qpu, step, version)
        self.sent: set = set()
        self.pairs = PairTable()          # the Bell pairs, column by column
        self.messages = MessageTable(mreg)
        self.nbits = 0
        self.per_link: dict[str, int] = defaultdict(int)
        # one int per statement of distributed.qasm, in program order: its step, QPU, duration
        # class and whether it waits for a new classical message (see :meth:`record_arrays`);
        # the timing model reads these instead of re-parsing the text
        self.records = array("q")
        self.rec = self.records.append

    # ------------------------------------------------------------------ statements

    def new_bit(self) -> str:
        """A fresh protocol bit ``m[n]``."""
        b = f"{self.mreg}[{self.nbits}]"
        self.nbits += 1
        return b

    def op(self, qpu: int, text: str, qargs=(), written=(), read=(), pair: int | None = None,
           cls: int | None = None) -> int:
        """Append a local statement of QPU ``qpu``; return its step.

        ``qargs`` are the qubits it touches, ``written`` the bits it measures into, ``read`` the
        bits of its condition.  A read bit last written on another QPU becomes a message.
        ``cls`` is its duration class (``CLS_*``; derived from the text when omitted);
        ``pair`` the number of the Bell pair its messages serve.
        """
        last = self.last
        s = 0
        for a in qargs:
            v = last.get(a, 0)
            if v > s:
                s = v
        for b in written:
            v = last.get(b, 0)
            if v > s:
                s = v
        remote = 0
        if read:
            for b in read:
                v = last.get(b, 0)
                if v > s:
                    s = v
                w = self.writer.get(b)
                if w is not None and w[0] != qpu and self._message(b, w, qpu, pair):
                    remote = 1
        s += 1
        for a in qargs:
            last[a] = s
        for b in written:
            last[b] = s
            old = self.writer.get(b)
            self.writer[b] = (qpu, s, 0 if old is None else old[2] + 1)
        for b in read:
            last[b] = s
        self.lines.append(text)
        self.qlines[qpu].append(text)
        if cls is None:
            cls = classify(text, len(qargs), bool(written))
        self.rec((s << STEP_SHIFT) | (qpu << 4) | (cls << 1) | remote)
        return s

    # fast paths of :meth:`op` for the protocol gadgets

    def op1(self, qpu: int, text: str, a: str, cls: int = CLS_1Q) -> int:
        """``op`` on one qubit, no classical bits (``cls``: ``CLS_MR`` for a reset)."""
        last = self.last
        s = last.get(a, 0) + 1
        last[a] = s
        self.lines.append(text)
        self.qlines[qpu].append(text)
        self.rec((s << STEP_SHIFT) | (qpu << 4) | (cls << 1))
        return s

    def op2(self, qpu: int, text: str, a: str, b: str) -> int:
        """``op`` on two qubits, no classical bits."""
        last = self.last
        s = last.get(a, 0)
        t = last.get(b, 0)
        s = (s if s > t else t) + 1
        last[a] = s
        last[b] = s
        self.lines.append(text)
        self.qlines[qpu].append(text)
        self.rec((s << STEP_SHIFT) | (qpu << 4) | (CLS_2Q << 1))
        return s

    def measure(self, qpu: int, a: str, bit: str) -> int:
        """``bit = measure a;`` on QPU ``qpu``: a protocol bit (:meth:`new_bit`), read once by
        :meth:`if1`."""
        last = self.last
        s = last.get(a, 0)
        t = last.get(bit, 0)
        s = (s if s > t else t) + 1
        last[a] = s
        last[bit] = s
        old = self.writer.get(bit)
        self.writer[bit] = (qpu, s, 0 if old is None else old[2] + 1)
        text = f"{bit} = measure {a};"
        self.lines.append(text)
        self.qlines[qpu].append(text)
        self.rec((s << STEP_SHIFT) | (qpu << 4) | (CLS_MR << 1))
        return s

    def if1(self, qpu: int, bit: str, text: str, a: str, pair: int | None = None) -> int:
        """``if (bit) text`` acting on qubit ``a`` of QPU ``qpu``.

        ``bit`` is a protocol bit written by :meth:`measure` and read here only: it is then
        forgotten (its step and writer), so that a program of a million Bell pairs does not
        keep two million dead entries; its message, if any, is always new.
        """
        last = self.last
        s = last.get(a, 0)
        t = last.pop(bit, 0)
        s = (s if s > t else t) + 1
        last[a] = s
        w = self.writer.pop(bit, None)
        remote = 0
        if w is not None and w[0] != qpu:
            self._send(bit, w[0], w[1], qpu, pair, int(bit[len(self.mreg) + 1:-1])
                       if bit.startswith(self.mreg + "[") else None)
            remote = 1
        line = f"if ({bit}) {text}"
        self.lines.append(line)
        self.qlines[qpu].append(line)
        self.rec((s << STEP_SHIFT) | (qpu << 4) | (CLS_1Q << 1) | remote)
        return s

    def _message(self, bit: str, w: tuple[int, int, int], to: int, pair: int | None) -> bool:
        """Record the message of ``bit`` to QPU ``to`` unless already sent; True when new."""
        key = (bit, w[2], to)
        if key in self.sent:
            return False
        self.sent.add(key)
        self._send(bit, w[0], w[1], to, pair)
        return True

    def _send(self, bit: str, src: int, step: int, to: int, pair: int | None,
              index: int | None = None) -> None:
        """Record a message of ``bit`` (``index``: its number in the protocol register)."""
        tag = f" (e{pair})" if pair is not None else ""
        self.qlines[src].append(f"// send {bit} to qpu{to}{tag}")
        self.qlines[to].append(f"// recv {bit} from qpu{src}{tag}")
        self.messages.add(bit, src, to, step, pair, index)

    def epr(self, qa: int, a: str, qb: int, b: str, **record) -> PairRef:
        """Append ``epr a, b;`` between linked QPUs ``qa`` and ``qb``; return the pair record
        (a :class:`~araqne.backend.pairs.PairRef`: ``pair["ready_by"] = s`` writes it).

        ``record`` fills the schedule entry (``protocol``, ``window``, ``serves``, ``qubit``,
        ``route``, ``relay``); ``id``, ``qpus``, ``path``, ``comm_qubits`` and ``epr_step`` are
        set here, and ``ready_by``, ``consumed``, ``released`` provisionally (the gadgets set
        them).
        """
        pid = f"e{len(self.pairs)}"
        last = self.last
        s = max(last.get(a, 0), last.get(b, 0)) + 1
        last[a] = s
        last[b] = s
        self.lines.append(f"epr {a}, {b}; // {pid}")
        self.rec((s << STEP_SHIFT) | (qa << 4))
        self.qlines[qa].append(f"epr_half {a}; // {pid}: Bell pair with qpu{qb} {b}")
        self.qlines[qb].append(f"epr_half {b}; // {pid}: Bell pair with qpu{qa} {a}")
        key = f"{min(qa, qb)}-{max(qa, qb)}"
        self.per_link[key] += 1
        return PairRef(self.pairs, self.pairs.add(qa, a, qb, b, s, record))

    # fused gadgets: the statements of :func:`araqne.backend.teleport.cat_entangle` and
    # :func:`~araqne.backend.teleport.cat_disentangle`, same text, steps, records, messages and
    # pair fields, in one call (the emitter's hot path; the gadgets stay the reference)

    def cat_copy(self, z_basis: bool, u: int, src: str, half: str, v: int, copy: str,
                 window: int, qubit: int, route, relay: bool) -> int:
        """``cat_entangle(self, basis, u, src, half, v, copy, window=window, qubit=qubit,
        route=route, relay=relay)`` (``u != v``); returns the pair's number."""
        last = self.last
        get = last.get
        lines = self.lines
        qlines = self.qlines
        rec = self.rec
        qu = qlines[u]
        qv = qlines[v]
        pairs = self.pairs
        n = len(pairs.qa)
        # epr
        s = get(half, 0)
        t = get(copy, 0)
        s = (s if s > t else t) + 1
        last[half] = s
        last[copy] = s
        lines.append(f"epr {half}, {copy}; // e{n}")
        rec((s << STEP_SHIFT) | (u << 4))
        qu.append(f"epr_half {half}; // e{n}: Bell pair with qpu{v} {copy}")
        qv.append(f"epr_half {copy}; // e{n}: Bell pair with qpu{u} {half}")
        self.per_link[f"{u}-{v}" if u < v else f"{v}-{u}"] += 1
        pairs.add_copy(u, half, v, copy, s, window, qubit, route, relay)
        ub = u << 4
        # entangle the source with the half
        if z_basis:
            s = get(src, 0)
            t = last[half]
            first = (s if s > t else t) + 1
            last[src] = first
            last[half] = first
            text = f"cx {src}, {half};"
            lines.append(text)
            qu.append(text)
            rec((first << STEP_SHIFT) | ub | (CLS_2Q << 1))
            ms = first + 1
        else:
            first = last[half] + 1
            text = f"h {half};"
            lines.append(text)
            qu.append(text)
            rec((first << STEP_SHIFT) | ub | (CLS_1Q << 1))
            s = get(src, 0)
            s = (s if s > first else first) + 1
            last[src] = s
            text2 = f"cx {half}, {src};"
            lines.append(text2)
            qu.append(text2)
            rec((s << STEP_SHIFT) | ub | (CLS_2Q << 1))
            s += 1
            lines.append(text)
            qu.append(text)
            rec((s << STEP_SHIFT) | ub | (CLS_1Q << 1))
            ms = s + 1
        # measure the half into a fresh protocol bit (read once, below: never stored)
        j = self.nbits
        self.nbits = j + 1
        bit = f"{self.mreg}[{j}]"
        text = f"{bit} = measure {half};"
        lines.append(text)
        qu.append(text)
        rec((ms << STEP_SHIFT) | ub | (CLS_MR << 1))
        # if (bit) x copy;  (on v: a message from u)
        s = get(copy, 0)
        s = (s if s > ms else ms) + 1
        qu.append(f"// send {bit} to qpu{v} (e{n})")
        qv.append(f"// recv {bit} from qpu{u} (e{n})")
        self.messages.add(bit, u, v, ms, n, j)
        text = f"if ({bit}) x {copy};"
        lines.append(text)
        qv.append(text)
        rec((s << STEP_SHIFT) | (v << 4) | (CLS_1Q << 1) | 1)
        if not z_basis:
            s += 1
            text = f"h {copy};"
            lines.append(text)
            qv.append(text)
            rec((s << STEP_SHIFT) | (v << 4) | (CLS_1Q << 1))
        last[copy] = s
        # reset the half
        freed = ms + 1
        last[half] = freed
        text = f"reset {half};"
        lines.append(text)
        qu.append(text)
        rec((freed << STEP_SHIFT) | ub | (CLS_MR << 1))
        pairs.ready[n] = first - 1
        pairs.consumed[n] = s
        pairs.released[n] = freed if freed > s else s
        return n

    def cat_release(self, z_basis: bool, q: int, copy: str, root_qpu: int, root: str,
                    n: int) -> int:
        """``cat_disentangle(self, basis, q, copy, root_qpu, root, n)``; returns the step of
        the reset."""
        last = self.last
        lines = self.lines
        rec = self.rec
        qq = self.qlines[q]
        qb = q << 4
        s = last.get(copy, 0) + 1
        if z_basis:
            text = f"h {copy};"
            lines.append(text)
            qq.append(text)
            rec((s << STEP_SHIFT) | qb | (CLS_1Q << 1))
            s += 1
            fix = "z"
        else:
            fix = "x"
        j = self.nbits
        self.nbits = j + 1
        bit = f"{self.mreg}[{j}]"
        text = f"{bit} = measure {copy};"
        lines.append(text)
        qq.append(text)
        rec((s << STEP_SHIFT) | qb | (CLS_MR << 1))
        ms = s
        # if (bit) fix root;  on the root's QPU
        t = last.get(root, 0)
        t = (t if t > ms else ms) + 1
        last[root] = t
        remote = 0
        if root_qpu != q:
            self.qlines[q].append(f"// send {bit} to qpu{root_qpu} (e{n})")
            self.qlines[root_qpu].append(f"// recv {bit} from qpu{q} (e{n})")
            self.messages.add(bit, q, root_qpu, ms, n, j)
            remote = 1
        text = f"if ({bit}) {fix} {root};"
        lines.append(text)
        self.qlines[root_qpu].append(text)
        rec((t << STEP_SHIFT) | (root_qpu << 4) | (CLS_1Q << 1) | remote)
        step = ms + 1
        last[copy] = step
        text = f"reset {copy};"
        lines.append(text)
        qq.append(text)
        rec((step << STEP_SHIFT) | qb | (CLS_MR << 1))
        rel = self.pairs.released
        if step > rel[n]:
            rel[n] = step
        return step

    # ------------------------------------------------------------------ output

    def flush(self) -> None:
        """Join the statements so far into one chunk per program (``lines`` and ``qlines`` are
        emptied in place, so references to them stay valid)."""
        if self.lines:
            self.chunks.append("\n".join(self.lines))
            self.lines.clear()
        for i, q in enumerate(self.qlines):
            if q:
                self.qchunks[i].append("\n".join(q))
                q.clear()

    def record_arrays(self) -> np.ndarray:
        """The statement records as int64: ``step << STEP_SHIFT | qpu << 4 | cls << 1 | remote``
        per statement of ``distributed.qasm`` in program order (``remote``: the statement waits
        for a classical message it is the first to need)."""
        if not len(self.records):
            return np.zeros(0, dtype=np.int64)
        return np.frombuffer(self.records, dtype=np.int64)   # a view: no statement follows

    def num_steps(self) -> int:
        """Depth of the combined program in steps."""
        return max(self.last.values(), default=0)

    def schedule_data(self) -> ScheduleData:
        """The ``schedule.json`` content, its pairs and messages as columns."""
        per_link = {key: self.per_link[key]
                    for key in sorted(self.per_link, key=lambda s: tuple(map(int, s.split("-"))))}
        head = {
            "steps": STEPS_DEFINITION,
            "num_steps": self.num_steps(),
            "pairs": None,
            "messages": None,
            "per_link": per_link,
            "total": len(self.pairs),
        }
        return ScheduleData(head, self.pairs, self.messages)

    def schedule(self) -> dict:
        """The ``schedule.json`` content as plain objects."""
        return self.schedule_data().to_dict()
