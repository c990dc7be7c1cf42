"""Emission: turn a partitioned circuit into the cluster's programs and its Bell-pair schedule.

:func:`emit` walks the circuit once, in program order, and writes OpenQASM 3 text directly
(strings, no per-gate objects), so a circuit of 100,000 gates emits in about a second.

What it emits (see ``shared/DESIGN.md``, output contract, and :mod:`araqne.backend.schedule` for
the naming):

- Every input qubit ``q`` starts in data register ``qpu<a>`` of its QPU ``a = assignment[q]``, at
  slot = its rank among the qubits assigned to ``a`` (``layout_initial``).  One-qubit operations
  and measurements run there, into the input's own classical bits.
- A two-qubit operation ``i`` runs on ``P = gate_qpu[i]``.  An operand living on ``P`` is used
  directly; an operand in a window ``w`` (packet) living elsewhere is replaced by the linked copy
  of ``w``'s root on ``P`` (:mod:`araqne.backend.teleport`).  One copy per (window, QPU) serves
  every gate of the window on that QPU: it is made right before the first of them and released
  right after the last one.  An operand whose role is other must live on ``P``.
- Multi-hop: on a general network the copies of window ``w`` spread along the Steiner tree
  ``network.steiner_tree(home, targets)`` rooted at the root's QPU.  Each tree edge carries one
  Bell pair: the copy on a QPU is made from the copy on its parent in the tree (a copy of a copy,
  cat-entangler from a communication qubit), so a pure relay QPU (a Steiner node that runs no
  gate of ``w``) holds a copy, counted in its communication qubits, until every copy below it
  that is still to be used has been made.  No entanglement swapping is used; every ``epr`` is
  between linked QPUs.  With enough communication qubits the e-bits emitted equal
  :func:`araqne.objective.cost` exactly.
- Communication-qubit limit: QPU ``i`` never holds more than ``network.comm()[i]`` live copies,
  relays, in-flight teleported states and Bell-pair halves at once.  When a copy is needed on a
  full QPU, the live copy there whose next use is farthest in the future is released (Belady) and
  made again when next needed (extra e-bits, reported: ``ebits > ebits_model``).  A QPU with no
  communication qubits that must take part in a remote operation raises
  :class:`~araqne.errors.InfeasibleError`.
- Optional state teleportation (``moves``): ``(op_index, qubit, from_qpu, to_qpu)`` teleports the
  qubit right before operation ``op_index``, hop by hop along ``network.path`` (one Bell pair per
  hop, the state waiting in a communication qubit of each intermediate QPU), then swaps it into a
  free data slot of ``to_qpu`` (in a cycle of moves between full QPUs it waits in the
  communication qubit until a slot frees).  Live copies of the qubit's window are released first.
- Nested moves (all-to-all networks): a move made while a window of the qubit is open (the window
  has gates before and after it) is not a teleportation: the linked copy of the window on
  ``to_qpu`` (made now if there is none, one Bell pair) becomes the root, swapped into a data
  slot, and the old root becomes a copy in a communication qubit if the window uses that QPU
  again (later gates, or the root coming back), else it is released with its correction on the
  new root.  Every copy is released at the window's end with its Z (X) correction on the root
  wherever it then is, so a window costs one Bell pair per QPU it reaches besides the first,
  as :func:`araqne.objective.cost` counts.
"""

from __future__ import annotations

import gc
import heapq
from array import array
import json
import os
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import numpy as np

from ..errors import InfeasibleError, InputError
from ..ir import GATES, KIND, KIND_NQ, ROLE_X, ROLE_Z, XFLIP, ZFLIP, Circuit
from ..packets import Packets, find_windows
from .pairs import ScheduleData
from .schedule import (CLS_1Q, CLS_2Q, CLS_MR, CLS_SWAP, STEP_SHIFT, Program,
                       release_free_memory)
from .teleport import flip_copy, teleport_state

INF = 1 << 62

FLUSH_LINES = 1 << 16
"""Statements of distributed.qasm kept as separate strings before they (and each QPU's) are
joined into one chunk: a million-gate program then never holds millions of line objects."""

#: Definitions of distribution-basis gates that ``stdgates.inc`` lacks (emitted when used).
EXTRA_GATE_DEFS = {
    # parameter names in positional order: qiskit_qasm3_import binds them sorted by name
    "u": "gate u(p0, p1, p2) a { U(p0, p1, p2) a; }",
    "sxdg": "gate sxdg a { h a; sdg a; h a; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "rzx": "gate rzx(theta) a, b { h b; cx a, b; rz(theta) b; cx a, b; h b; }",
}

EPR_DEF = "gate epr a, b { h a; cx a, b; }"
EPR_HALF_DEF = "gate epr_half a { }"

_RESERVED = re.compile(r"^(qpu\d+|comm\d+|epr|epr_half|U|CX|phase|cphase|u[123]|swap|ccx|cswap|"
                       + "|".join(g.name for g in GATES) + ")$")


@dataclass(eq=False)
class Emission:
    """Programs and schedule of one distributed circuit.

    Attributes
    ----------
    distributed_qasm : str
        The combined OpenQASM 3 program (``distributed.qasm``).
    qpu_qasm : list of str
        The program of each QPU alone (``qpu<i>.qasm``).
    schedule_data : ScheduleData
        The ``schedule.json`` content, pairs and messages as columns
        (:mod:`araqne.backend.pairs`); :attr:`schedule` is the same as plain objects.
    ebits : int
        Bell pairs emitted (``epr`` statements).
    ebits_model : int
        The cost-model figure for this partition with unlimited communication qubits
        (:func:`araqne.objective.cost`; with ``moves``, the e-bits this emitter uses when no QPU runs
        out of communication qubits).
    ebits_per_link : dict of str to int
        Bell pairs per link ``"i-j"`` (``i < j``).
    peak_comm : list of int
        Most communication qubits in use at once on each QPU (the size of ``comm<i>``).
    layout_initial, layout_final : list of [int, int]
        ``[qpu, slot]`` of each input qubit (data register ``qpu<qpu>[slot]``) at the start and
        at the end.
    data_register_sizes : list of int
        Size of each data register ``qpu<i>``.
    evictions : int
        Copies released early because a QPU ran out of communication qubits.
    moves : list of [int, int, int, int]
        The state teleportations emitted (``[op_index, qubit, from_qpu, to_qpu]``).
    records : ndarray of int64, optional
        One record per statement of ``distributed_qasm`` in program order: its step, QPU,
        duration class and whether it waits for a new classical message
        (:meth:`araqne.backend.schedule.Program.record_arrays`).  The timing model reads these
        rather than parsing the text (which it does when they are missing).
    """

    distributed_qasm: str
    qpu_qasm: list
    schedule_data: ScheduleData
    ebits: int
    ebits_model: int
    ebits_per_link: dict
    peak_comm: list
    layout_initial: list
    layout_final: list
    data_register_sizes: list
    evictions: int = 0
    moves: list = field(default_factory=list)
    records: np.ndarray | None = field(default=None, repr=False)
    _schedule: dict | None = field(default=None, repr=False)

    @property
    def schedule(self) -> dict:
        """The ``schedule.json`` content as plain objects, built from :attr:`schedule_data` on
        first use and kept (assigning one replaces it; from then on it is what is written and
        timed)."""
        if self._schedule is None:
            self._schedule = self.schedule_data.to_dict()
        return self._schedule

    @schedule.setter
    def schedule(self, value: dict) -> None:
        self._schedule = value

    def __eq__(self, other) -> bool:
        """Same programs, schedule and figures (the schedule compared as its JSON text)."""
        if not isinstance(other, Emission):
            return NotImplemented
        plain = ("distributed_qasm", "qpu_qasm", "ebits", "ebits_model", "ebits_per_link",
                 "peak_comm", "layout_initial", "layout_final", "data_register_sizes",
                 "evictions", "moves")
        if any(getattr(self, f) != getattr(other, f) for f in plain):
            return False
        a, b = self.records, other.records
        if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
            return False
        return self.schedule_json() == other.schedule_json()

    __hash__ = None

    def schedule_json(self, extra: dict | None = None, end: str = "") -> str:
        """``schedule.json`` text, ``json.dumps({**schedule, **extra}, separators=(",", ":"))
        + end`` (from the columns unless :attr:`schedule` was built or replaced; ``end`` is
        joined in, not concatenated: no second copy of a 200 MB text)."""
        if self._schedule is None:
            return self.schedule_data.to_json(extra, end)
        return json.dumps(dict(self._schedule, **(extra or {})), separators=(",", ":")) + end

    def write(self, outdir) -> list[str]:
        """Write ``distributed.qasm``, ``qpu<i>.qasm`` and ``schedule.json`` into ``outdir``;
        return the paths written."""
        os.makedirs(outdir, exist_ok=True)
        paths = []
        p = os.path.join(outdir, "distributed.qasm")
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(self.distributed_qasm)
        paths.append(p)
        for i, text in enumerate(self.qpu_qasm):
            p = os.path.join(outdir, f"qpu{i}.qasm")
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(text)
            paths.append(p)
        p = os.path.join(outdir, "schedule.json")
        with open(p, "w", encoding="utf-8") as fh:
            json.dump(self.schedule, fh, indent=1)
            fh.write("\n")
        paths.append(p)
        return paths


# ---------------------------------------------------------------------------------- conditions


def condition_template(cond, bitnames: list[str], cregs: list[tuple[str, int, int]]):
    """OpenQASM 3 text of a classical condition as ``(template, bits)``.

    ``template`` holds ``"\\x00"`` where the conditioned statement goes; ``bits`` are the bit
    names read.  A whole register compares as ``if (c == 3) { ... }``; a negated one as
    ``if (c == 3) { } else { ... }`` (same meaning as ``!=``, which Qiskit's importer rejects).
    Other bit sets nest one ``if`` per bit (``if (c[0]) { if (!d[1]) { ... } }``); negated, a
    chain of ``else`` branches, one per bit that can mismatch.
    """
    bits = tuple(int(b) for b in cond.clbits)
    names = tuple(bitnames[b] for b in bits)
    value = int(cond.value)
    for reg, start, size in cregs:
        if bits == tuple(range(start, start + size)):
            if cond.negate:
                return f"if ({reg} == {value}) {{ }} else {{ \x00 }}", names
            return f"if ({reg} == {value}) {{ \x00 }}", names
    want = [(value >> j) & 1 for j in range(len(bits))]
    if not cond.negate:
        head = "".join(f"if ({'' if v else '!'}{nm}) {{ " for nm, v in zip(names, want))
        return head + "\x00" + " }" * len(bits), names
    # not (all match) = some bit mismatches: if (mismatch_1) {S} else { if (mismatch_2) {S} ... }
    out = ""
    for nm, v in zip(names, want):
        out += f"if ({'!' if v else ''}{nm}) {{ \x00 }} else {{ "
    out += "}" + " }" * (len(bits) - 1)
    return out, names


# ---------------------------------------------------------------------------------- trees


class _Tree:
    __slots__ = ("home", "parent", "children")

    def __init__(self, home: int, parent: dict[int, int]):
        self.home = home
        self.parent = parent
        self.children: dict[int, list[int]] = {}
        for v, p in parent.items():
            self.children.setdefault(p, []).append(v)

    def path(self, v: int) -> list[int]:
        out = [v]
        while v != self.home:
            v = self.parent[v]
            out.append(v)
        out.reverse()
        return out


class _Copy:
    __slots__ = ("idx", "name", "pair", "parent")

    def __init__(self, idx, name, pair, parent):
        self.idx = idx
        self.name = name
        self.pair = pair
        self.parent = parent


# ---------------------------------------------------------------------------------- emitter


def emit(circ: Circuit, packets: Packets | None, assignment, gate_qpu, network,
         moves=None) -> Emission:
    """Emit the distributed programs and Bell-pair schedule of a partitioned circuit.

    Parameters
    ----------
    circ : Circuit
        The circuit (IR).
    packets : Packets or None
        Windows of ``circ`` (:func:`araqne.packets.find_windows`; computed when ``None``).
    assignment : sequence of int
        QPU of every input qubit.
    gate_qpu : sequence of int
        QPU on which every operation runs (read for two-qubit operations).
    network : Network
        The cluster (links, data capacities, communication qubits ``network.comm()``).
    moves : list of (int, int, int, int), optional
        State teleportations ``(op_index, qubit, from_qpu, to_qpu)``, each done right before
        operation ``op_index`` (``op_index == num_ops`` moves after the last operation).

    Returns
    -------
    Emission

    Raises
    ------
    InfeasibleError
        A QPU's data qubits exceed its capacity, or a QPU has too few communication qubits for
        an operation it takes part in.
    InputError
        A classical register of the input has a name the output reserves (``qpu<i>``,
        ``comm<i>``, ``epr``, ``epr_half``).
    ValueError
        The placement is inconsistent (a gate runs away from an operand it cannot copy, a move
        from a QPU the qubit is not on, indices out of range).
    """
    if packets is None:
        packets = find_windows(circ)
    # the emitter allocates many small objects that live to the end: the cyclic garbage
    # collector would rescan them over and over for nothing
    enabled = gc.isenabled()
    gc.disable()
    try:
        em = _Emitter(circ, packets, assignment, gate_qpu, network, moves, None)
        em.run()
        out = em.result()
        em_evictions = em.evictions
        del em
        release_free_memory()
        if moves and em_evictions:  # else the run with unlimited comm qubits is the same
            big = [1 << 30] * network.k
            ref = _Emitter(circ, packets, assignment, gate_qpu, network, moves, big)
            ref.run()
            out.ebits_model = len(ref.prog.pairs)
    finally:
        if enabled:
            gc.enable()
    return out


class _Emitter:
    def __init__(self, circ, packets, assignment, gate_qpu, network, moves, comm_override):
        self.circ = circ
        self.packets = packets
        self.network = network
        k = network.k
        self.k = k
        n = circ.num_qubits
        m = circ.num_ops
        assignment = [int(a) for a in (assignment.tolist() if isinstance(assignment, np.ndarray)
                                       else assignment)]
        if len(assignment) != n:
            raise ValueError(f"assignment has {len(assignment)} entries for {n} qubits")
        if any(not 0 <= a < k for a in assignment):
            raise ValueError(f"assignment names a QPU outside 0..{k - 1}")
        self.assignment = assignment
        gq = gate_qpu.tolist() if isinstance(gate_qpu, np.ndarray) else [int(g) for g in gate_qpu]
        if len(gq) != m:
            raise ValueError(f"gate_qpu has {len(gq)} entries for {m} operations")
        self.gq = gq
        self.names = [q.name for q in network.qpus]
        self.M = ([int(c) for c in network.comm()] if comm_override is None
                  else list(comm_override))
        self.cap = [int(c) for c in network.capacities()]
        self.all_to_all = bool(network.all_to_all)

        # classical registers
        cregs = list(circ.cregs) if circ.cregs else ([("c", circ.num_clbits)] if circ.num_clbits
                                                     else [])
        if sum(int(s) for _, s in cregs) != circ.num_clbits:
            raise ValueError("classical registers do not add up to the circuit's bit count")
        self.cregs = []
        bitnames = []
        start = 0
        for name, size in cregs:
            size = int(size)
            if _RESERVED.match(name):
                raise InputError(f"{circ.name}: classical register name {name!r} is reserved in "
                                 f"the distributed program (qpu<i>, comm<i> and gate names)")
            self.cregs.append((name, start, size))
            bitnames.extend(f"{name}[{j}]" for j in range(size))
            start += size
        self.bitnames = bitnames
        taken = {name for name, _ in cregs}
        mreg = "m"
        while mreg in taken:
            mreg += "_"
        self.prog = Program(k, mreg)

        # data layout
        self.data_size = [0] * k
        self.data_free: list[list[int]] = [[] for _ in range(k)]
        self.loc_qpu = list(assignment)
        self.loc_slot = [0] * n
        for q in range(n):
            a = assignment[q]
            self.loc_slot[q] = self.data_size[a]
            self.data_size[a] += 1
        for a in range(k):
            if self.data_size[a] > self.cap[a]:
                raise InfeasibleError(
                    f"QPU {self.names[a]} is assigned {self.data_size[a]} qubits but holds "
                    f"{self.cap[a]}")
        self.loc_str = [f"qpu{self.loc_qpu[q]}[{self.loc_slot[q]}]" for q in range(n)]
        self.layout_initial = [[self.loc_qpu[q], self.loc_slot[q]] for q in range(n)]

        # communication qubits
        self.comm_free: list[list[int]] = [[] for _ in range(k)]
        self.comm_next = [0] * k
        self.comm_used = [0] * k
        self.occupant: list[dict[int, tuple]] = [{} for _ in range(k)]
        self.live: dict[int, dict[int, _Copy]] = {}
        self.trees: dict[int, _Tree] = {}
        self._tree_cache: dict[tuple, _Tree] = {}
        self.evictions = 0
        self._inflight: dict[tuple, object] = {}

        # moves
        self.moves_at: dict[int, list] = {}
        self.moves = []
        if moves:
            for mv in moves:
                t, q, a, b = (int(x) for x in mv)
                if not 0 <= t <= m or not 0 <= q < n or not 0 <= a < k or not 0 <= b < k:
                    raise ValueError(f"move {tuple(mv)} is out of range")
                self.moves_at.setdefault(t, []).append((q, a, b))
                self.moves.append([t, q, a, b])
        self._index_uses()

    # ------------------------------------------------------------------ preprocessing

    def _index_uses(self):
        """Ops of every (window, QPU) served by a copy, and each window's target QPUs."""
        circ, pk = self.circ, self.packets
        kind = circ.kind
        two = np.nonzero(KIND_NQ[kind] == 2)[0]
        s0 = circ.qptr[:-1][two]
        gq = np.asarray(self.gq, dtype=np.int64)
        P = gq[two] if two.size else np.zeros(0, dtype=np.int64)
        if P.size and (P.min() < 0 or P.max() >= self.k):
            bad = int(two[np.nonzero((P < 0) | (P >= self.k))[0][0]])
            raise ValueError(f"gate_qpu[{bad}] = {self.gq[bad]} is not a QPU")
        assign = np.asarray(self.assignment, dtype=np.int64)
        uses: dict[tuple[int, int], list[int]] = {}
        for col in (0, 1):
            slots = s0 + col
            q = circ.qargs[slots]
            w = pk.slot_window[slots]
            if not self.moves_at:
                away = assign[q] != P
                bad = np.nonzero(away & (w < 0))[0]
                if bad.size:
                    j = int(bad[0])
                    i = int(two[j])
                    raise ValueError(
                        f"operation {i} runs on QPU {int(P[j])} but its qubit {int(q[j])}, which "
                        f"it does not act on diagonally, lives on QPU {int(assign[q[j]])}")
                sel = np.nonzero(away & (w >= 0))[0]
            else:
                sel = np.nonzero(w >= 0)[0]
            for j, ww, pp in zip(two[sel].tolist(), w[sel].tolist(), P[sel].tolist()):
                uses.setdefault((ww, pp), []).append(j)
        self.nested = {}
        if self.moves_at and self.all_to_all:
            self._index_nested(uses)
        for lst in uses.values():
            lst.sort()
        self.uses = uses
        if self.all_to_all:
            # copies are made straight from the root (no tree): only the model count needs the
            # targets, so no set per window is kept (half a million sets on a 1M-gate circuit)
            root = self.packets.root.tolist()
            assign = self.assignment
            self.model_all_to_all = sum(1 for (ww, pp) in uses if assign[root[ww]] != pp)
            self.targets = {}
            return
        targets: dict[int, set[int]] = {}
        for (ww, pp) in uses:
            targets.setdefault(ww, set()).add(pp)
        self.targets = targets

    def _index_nested(self, uses) -> None:
        """Moves nested in a window of their qubit (all-to-all networks).

        A move of ``q`` before operation ``i`` is nested in window ``w`` of ``q`` when ``w`` has
        a two-qubit gate before ``i`` and one at ``i`` or later.  While ``w`` lasts, ``q``'s
        state is spread over linked copies (a GHZ state) that every diagonal gate may use, so
        the move only needs a copy on the target QPU (made if there is none: one e-bit),
        which becomes the root; the old root becomes a copy (kept while the window needs it
        there, else released).  ``self.nested[(i, q)] = w``, and the move is a use of the copy
        on its target QPU (so that a copy made for it is kept until then).
        """
        pk = self.packets
        by_q: dict[int, list] = {}
        for w, (r, f, l_) in enumerate(zip(pk.root.tolist(), pk.first.tolist(),
                                           pk.last.tolist())):
            if l_ > f:
                by_q.setdefault(r, []).append((f, l_, w))
        for lst in by_q.values():
            lst.sort()
        for i in sorted(self.moves_at):
            for q, _a, b in self.moves_at[i]:
                lst = by_q.get(q)
                if not lst:
                    continue
                j = bisect_left(lst, (i, -1, -1)) - 1
                if j >= 0 and lst[j][0] < i <= lst[j][1]:
                    w = lst[j][2]
                    self.nested[(i, q)] = w
                    uses.setdefault((w, b), []).append(i)

    def model_ebits(self) -> int:
        """Cost-model e-bits of the static assignment (no moves), as :func:`araqne.objective.cost`."""
        if self.all_to_all:
            return self.model_all_to_all
        root = self.packets.root
        total = 0
        for w, ts in self.targets.items():
            home = self.assignment[int(root[w])]
            ts = ts - {home}
            if not ts:
                continue
            if self.all_to_all:
                total += len(ts)
            else:
                total += int(self.network.steiner_cost(home, frozenset(ts)))
        return total

    # ------------------------------------------------------------------ main loop

    def run(self):
        circ = self.circ
        prog = self.prog
        kinds = circ.kind.tolist()
        # int64 columns as array('q'): 8 bytes a value where a list of large ints takes 36
        qptr = _int_array(circ.qptr)
        qargs = _int_array(circ.qargs)
        pptr = _int_array(circ.pptr)
        params = circ.params.tolist()
        clbit = circ.clbit.tolist()
        conds = circ.cond.tolist()
        slotw = _int_array(self.packets.slot_window)
        wbasis = self.packets.basis.tolist()
        self.wbasis = wbasis
        self.wroot = self.packets.root.tolist()
        nq_of = KIND_NQ.tolist()
        gnames = [g.name for g in GATES]
        nparams = [g.num_params for g in GATES]
        zflip = ZFLIP[:, 0].tolist()
        xflip = XFLIP[:, 0].tolist()
        k_measure = KIND["measure"]
        bitnames = self.bitnames
        templates: dict[int, tuple[str, tuple]] = {}
        gq = self.gq
        loc_qpu, loc_str = self.loc_qpu, self.loc_str
        live = self.live
        curwin = [-1] * circ.num_qubits
        self.curwin = curwin
        moves_at = self.moves_at
        op = prog.op
        last = prog.last
        lines = prog.lines
        qlines = prog.qlines
        used_kinds = set(kinds)
        self.used_kinds = used_kinds
        m = len(kinds)
        record = prog.rec
        serve = prog.pairs.serve
        # duration class of each kind, pre-shifted into the record layout
        cls_of = [(CLS_MR if g.name in ("measure", "reset") else
                   (CLS_2Q if g.num_qubits == 2 else CLS_1Q)) for g in GATES]
        cls_bits = [c << 1 for c in cls_of]

        flush_at = FLUSH_LINES
        for i in range(m):
            if len(lines) >= flush_at:
                prog.flush()
            if moves_at and i in moves_at:
                self._moves(i)
            kd = kinds[i]
            c = conds[i]
            if c >= 0:
                cond = templates.get(c)
                if cond is None:
                    cond = condition_template(circ.conditions[c], bitnames, self.cregs)
                    templates[c] = cond
            else:
                cond = None
            if nparams[kd]:
                head = gnames[kd] + "(" + ", ".join(map(repr, params[pptr[i]:pptr[i + 1]])) + ")"
            else:
                head = gnames[kd]
            s0 = qptr[i]
            if nq_of[kd] == 1:
                q = qargs[s0]
                P = loc_qpu[q]
                qs = loc_str[q]
                written = ()
                if kd == k_measure:
                    b = bitnames[clbit[i]]
                    text = f"{b} = measure {qs};"
                    written = (b,)
                else:
                    text = f"{head} {qs};"
                if cond is None:
                    if written:
                        op(P, text, (qs,), written, cls=CLS_MR)
                    else:
                        st = last.get(qs, 0) + 1
                        last[qs] = st
                        lines.append(text)
                        qlines[P].append(text)
                        record((st << STEP_SHIFT) | (P << 4) | cls_bits[kd])
                else:
                    op(P, cond[0].replace("\x00", text), (qs,), written, cond[1],
                       cls=cls_of[kd])
                w = curwin[q]
                if w >= 0 and w in live:
                    basis = wbasis[w]
                    if (zflip[kd] if basis == ROLE_Z else xflip[kd]):
                        for Q, rec in live[w].items():
                            flip_copy(prog, basis, Q, rec.name, cond)
                continue
            # two-qubit operation
            a = qargs[s0]
            b = qargs[s0 + 1]
            P = gq[i]
            wa = slotw[s0]
            wb = slotw[s0 + 1]
            if wa >= 0:
                curwin[a] = wa
            if wb >= 0:
                curwin[b] = wb
            keep = None
            if loc_qpu[a] == P:
                sa = loc_str[a]
            else:
                rec = self._copy_for(wa, a, P, i, keep)
                sa = rec.name
                keep = {(wa, P)}
                _serve(serve, rec, i)
            if loc_qpu[b] == P:
                sb = loc_str[b]
            else:
                rec = self._copy_for(wb, b, P, i, keep or set())
                sb = rec.name
                _serve(serve, rec, i)
            text = f"{head} {sa}, {sb};"
            if cond is None:
                st = last.get(sa, 0)
                st2 = last.get(sb, 0)
                if st2 > st:
                    st = st2
                st += 1
                last[sa] = st
                last[sb] = st
                lines.append(text)
                qlines[P].append(text)
                record((st << STEP_SHIFT) | (P << 4) | (CLS_2Q << 1))
            else:
                op(P, cond[0].replace("\x00", text), (sa, sb), (), cond[1], cls=CLS_2Q)
            if wa >= 0 and wa in live:
                self._release_done(wa, i)
            if wb >= 0 and wb in live:
                self._release_done(wb, i)

        if moves_at and m in moves_at:
            self._moves(m)
        # every window's copies are released after its last gate; anything left is a bug,
        # but release it rather than leave a comm qubit entangled
        for w in list(live):
            for Q in list(live.get(w, ())):
                self._release(w, Q)

    # ------------------------------------------------------------------ copies

    def _copy_for(self, w: int, q: int, P: int, i: int, keep) -> _Copy:
        if w < 0:
            raise ValueError(
                f"operation {i} runs on QPU {P} but its qubit {q}, which it does not act on "
                f"diagonally, lives on QPU {self.loc_qpu[q]}")
        lw = self.live.get(w)
        if lw is not None:
            rec = lw.get(P)
            if rec is not None:
                return rec
        if self.M[P] == 0:
            raise InfeasibleError(
                f"QPU {self.names[P]} has no communication qubits, but operation {i} "
                f"({GATES[int(self.circ.kind[i])].name}) runs there on qubit {q} of QPU "
                f"{self.names[self.loc_qpu[q]]}; allow at least 1 with --comm-qubits")
        return self._acquire(w, P, i, keep)

    def _build_tree(self, w: int, i: int, extra: int | None = None) -> _Tree:
        home = self.loc_qpu[self.wroot[w]]
        if self.moves_at:
            ts = {p for p in self.targets.get(w, ())
                  if p != home and bisect_left(self.uses[(w, p)], i) < len(self.uses[(w, p)])}
        else:
            ts = set(self.targets.get(w, ())) - {home}
        if extra is not None and extra != home:
            ts.add(extra)
        key = (home, frozenset(ts))
        tree = self._tree_cache.get(key)
        if tree is not None:
            self.trees[w] = tree
            return tree
        if self.all_to_all:
            parent = {t: home for t in ts}
        else:
            edges = self.network.steiner_tree(home, frozenset(ts))
            adj: dict[int, list[int]] = {}
            for x, y in edges:
                adj.setdefault(x, []).append(y)
                adj.setdefault(y, []).append(x)
            parent = {}
            seen = {home}
            stack = [home]
            while stack:
                u = stack.pop()
                for v in adj.get(u, ()):
                    if v not in seen:
                        seen.add(v)
                        parent[v] = u
                        stack.append(v)
            missing = ts - set(parent)
            if missing:
                raise RuntimeError(f"Steiner tree from QPU {home} misses QPUs {sorted(missing)}")
        tree = _Tree(home, parent)
        self.trees[w] = tree
        self._tree_cache[key] = tree
        return tree

    def _acquire(self, w: int, P: int, i: int, keep) -> _Copy:
        if self.all_to_all:
            # the Steiner tree is the star from the root's QPU: copy straight from the root
            self.live.setdefault(w, {})
            self._make_copy(w, self.loc_qpu[self.wroot[w]], P, i, keep or (), None, False)
            return self.live[w][P]
        tree = self.trees.get(w)
        if tree is None or tree.home != self.loc_qpu[self.wroot[w]]:
            tree = self._build_tree(w, i)
        if P not in tree.parent:
            tree = self._build_tree(w, i, extra=P)
        path = tree.path(P)
        lw = self.live.setdefault(w, {})
        j = len(path) - 1
        while j > 0 and path[j] not in lw:
            j -= 1
        pins = set(keep) if keep else set()
        if j > 0:
            pins.add((w, path[j]))
        for t in range(j, len(path) - 1):
            u, v = path[t], path[t + 1]
            self._make_copy(w, u, v, i, pins, path[: t + 2], relay=v != P)
            pins.add((w, v))
        return lw[P]

    def _make_copy(self, w, u, v, i, pins, route, relay):
        root = self.wroot[w]
        lw = self.live[w]
        if u == self.loc_qpu[root]:
            src = self.loc_str[root]
            parent = None
        else:
            parent = lw[u]
            src = parent.name
        hu = self._alloc(u, i, pins, ("half",))
        cv = self._alloc(v, i, pins, ("copy", w))
        half = f"comm{u}[{hu}]"
        copy = f"comm{v}[{cv}]"
        basis = self.wbasis[w]
        if basis != ROLE_Z and basis != ROLE_X:
            raise ValueError(f"linked copies exist in the Z or X basis only (got role {basis})")
        # cat_entangle(prog, basis, u, src, half, v, copy, window=w, qubit=root, route=...,
        # relay=...), fused
        n = self.prog.cat_copy(basis == ROLE_Z, u, src, half, v, copy, w, root, route,
                               bool(relay and (w, v) not in self.uses))
        self._free(u, hu)
        lw[v] = _Copy(cv, copy, n, parent)

    def _need(self, w: int, Q: int, i: int, strict: bool) -> int:
        """Next operation index at which the copy of window ``w`` on ``Q`` is needed (its own
        gates, or making a copy below it in the tree that is not live), or INF."""
        uses = self.uses
        lw = self.live.get(w, {})
        lst = uses.get((w, Q))
        t = INF
        if lst:
            j = bisect_right(lst, i) if strict else bisect_left(lst, i)
            if j < len(lst):
                t = lst[j]
        tree = self.trees.get(w)
        if tree is not None:
            stack = [c for c in tree.children.get(Q, ()) if c not in lw]
            while stack:
                c = stack.pop()
                lst = uses.get((w, c))
                if lst:
                    j = bisect_right(lst, i) if strict else bisect_left(lst, i)
                    if j < len(lst) and lst[j] < t:
                        t = lst[j]
                stack.extend(d for d in tree.children.get(c, ()) if d not in lw)
        return t

    def _release_done(self, w: int, i: int) -> None:
        lw = self.live[w]
        for Q in list(lw):
            if Q in lw and self._need(w, Q, i, True) >= INF:
                self._release(w, Q)

    def _release(self, w: int, Q: int) -> None:
        lw = self.live[w]
        rec = lw.pop(Q)
        if not lw:
            del self.live[w]
        root = self.wroot[w]
        # cat_disentangle(prog, basis, Q, copy, root QPU, root, pair), fused
        self.prog.cat_release(self.wbasis[w] == ROLE_Z, Q, rec.name, self.loc_qpu[root],
                              self.loc_str[root], rec.pair)
        self._free(Q, rec.idx)

    # ------------------------------------------------------------------ comm qubits

    def _alloc(self, Q: int, i: int, pins, occ: tuple) -> int:
        if self.comm_used[Q] < self.M[Q]:
            free = self.comm_free[Q]
            if free:
                idx = heapq.heappop(free)
            else:
                idx = self.comm_next[Q]
                self.comm_next[Q] += 1
            self.comm_used[Q] += 1
            self.occupant[Q][idx] = occ
            return idx
        if self.M[Q] == 0:
            raise InfeasibleError(
                f"QPU {self.names[Q]} has no communication qubits, but operation {i} needs a "
                f"Bell pair there; allow at least 1 with --comm-qubits")
        best, best_need = None, -1
        for idx, o in self.occupant[Q].items():
            if o[0] != "copy" or (o[1], Q) in pins:
                continue
            nd = self._need(o[1], Q, i, False)
            if nd > best_need:
                best, best_need = o[1], nd
        if best is None:
            what = (GATES[int(self.circ.kind[i])].name if i < self.circ.num_ops
                    else "final moves")
            raise InfeasibleError(
                f"QPU {self.names[Q]} needs more than its {self.M[Q]} communication qubit(s) at "
                f"once for operation {i} ({what}); raise them with --comm-qubits")
        self.evictions += 1
        self._release(best, Q)
        return self._alloc(Q, i, pins, occ)

    def _free(self, Q: int, idx: int) -> None:
        del self.occupant[Q][idx]
        self.comm_used[Q] -= 1
        heapq.heappush(self.comm_free[Q], idx)

    # ------------------------------------------------------------------ state teleportation

    def _moves(self, i: int) -> None:
        """Every move before operation ``i``, in the given order.

        A moved state waits in a communication qubit of its target QPU until a data slot is
        free there (a cycle of moves between full QPUs lands once every qubit has left)."""
        pending = []
        for q, a, b in self.moves_at[i]:
            if any(h[0] == q for h in pending):
                raise ValueError(f"qubit {q} moves again before operation {i} while it waits "
                                 f"for a data slot")
            held = self._move(q, a, b, i)
            if held is not None:
                pending.append(held)
                continue
            pending = [h for h in pending if not self._land(*h, i, wait=True)]
        for h in pending:
            self._land(*h, i, wait=False)

    def _move(self, q: int, a: int, b: int, i: int):
        """Move qubit ``q`` from QPU ``a`` to ``b`` before operation ``i``; returns ``None``
        when it landed in a data slot, else ``(q, b, comm_index)`` of the communication qubit
        that holds it."""
        if self.loc_qpu[q] != a:
            raise ValueError(f"move before operation {i}: qubit {q} is on QPU "
                             f"{self.loc_qpu[q]}, not {a}")
        if a == b:
            return None
        w = self.nested.get((i, q), -1)
        if w >= 0:
            return self._nested_move(q, a, b, i, w)
        w = self.curwin[q]
        if w >= 0:
            for Q in list(self.live.get(w, ())):
                self._release(w, Q)
            self.trees.pop(w, None)
        path = list(self.network.path(a, b))
        src = self.loc_str[q]
        src_slot = None   # comm slot of the state in flight (None: data slot)
        pairs = []
        for u, v in zip(path, path[1:]):
            pins: set = set()
            hu = self._alloc(u, i, pins, ("half",))
            cv = self._alloc(v, i, pins, ("state", q))
            recv = f"comm{v}[{cv}]"
            pair = teleport_state(self.prog, u, src, f"comm{u}[{hu}]", v, recv, window=None,
                                  qubit=q, route=path, serves=[i] if i < self.circ.num_ops else [])
            if pairs:   # the previous hop's pair is free once its receiving qubit is reset
                pairs[-1]["released"] = max(pairs[-1]["released"], self.prog.last[src])
            pairs.append(pair)
            self._free(u, hu)
            if src_slot is None:
                heapq.heappush(self.data_free[a], self.loc_slot[q])
            else:
                self._free(u, src_slot)
            src, src_slot = recv, cv
        self._inflight[(q, src_slot)] = pairs[-1]
        self.loc_qpu[q] = b
        self.loc_str[q] = src
        return None if self._land(q, b, src_slot, i, wait=True) else (q, b, src_slot)

    def _nested_move(self, q: int, a: int, b: int, i: int, w: int):
        """A move nested in window ``w`` of ``q`` (see :meth:`_index_nested`): the copy on
        ``b`` (made now if there is none) becomes the root; the old root on ``a`` becomes a
        copy in a communication qubit if the window needs one there later, else it is
        released (its correction goes to the new root)."""
        lw = self.live.setdefault(w, {})
        if b not in lw:
            self._make_copy(w, a, b, i, {(w, b)}, None, False)
        rec = lw.pop(b)
        src = self.loc_str[q]
        old_slot = self.loc_slot[q]
        z = self.wbasis[w] == ROLE_Z
        # the root is now the copy on b (in a communication qubit until it lands)
        self.loc_qpu[q] = b
        self.loc_str[q] = rec.name
        if self._need(w, a, i, False) < INF:
            ca = self._alloc(a, i, {(w, b)}, ("copy", w))
            name = f"comm{a}[{ca}]"
            self.prog.op(a, f"swap {src}, {name};", (src, name), cls=CLS_SWAP)
            lw[a] = _Copy(ca, name, rec.pair, None)
        else:
            self.prog.cat_release(z, a, src, b, rec.name, rec.pair)
        if not lw:
            del self.live[w]
        heapq.heappush(self.data_free[a], old_slot)
        self.occupant[b][rec.idx] = ("state", q)
        self._inflight[(q, rec.idx)] = rec.pair
        return None if self._land(q, b, rec.idx, i, wait=True) else (q, b, rec.idx)

    def _land(self, q: int, b: int, cslot: int, i: int, wait: bool) -> bool:
        """Swap the state of ``q``, held in communication qubit ``cslot`` of ``b``, into a
        free data slot of ``b``; with ``wait``, return False (and do nothing) when ``b`` has
        none yet."""
        free = self.data_free[b]
        if free:
            slot = heapq.heappop(free)
        elif self.data_size[b] < self.cap[b]:
            slot = self.data_size[b]
            self.data_size[b] += 1
        elif wait:
            return False
        else:
            raise InfeasibleError(
                f"moving qubit {q} to QPU {self.names[b]} before operation {i} exceeds its "
                f"{self.cap[b]} data qubits")
        src = f"comm{b}[{cslot}]"
        dst = f"qpu{b}[{slot}]"
        step = self.prog.op(b, f"swap {src}, {dst};", (src, dst), cls=CLS_SWAP)
        self._free(b, cslot)
        pair = self._inflight.pop((q, cslot))
        if isinstance(pair, int):
            rel = self.prog.pairs.released
            if step > rel[pair]:
                rel[pair] = step
        else:
            pair["released"] = max(pair["released"], step)
        self.loc_qpu[q] = b
        self.loc_slot[q] = slot
        self.loc_str[q] = dst
        return True

    # ------------------------------------------------------------------ output

    def result(self) -> Emission:
        prog = self.prog
        k = self.k
        model = self.model_ebits() if not self.moves_at else len(prog.pairs)
        # the run's indexes are dead now: free them before the texts are joined
        self.uses = self.targets = self.live = self.trees = self._tree_cache = None
        defs = [EPR_DEF]
        used = {GATES[kd].name for kd in self.used_kinds}
        defs += [d for name, d in EXTRA_GATE_DEFS.items() if name in used]
        cdecl = [f"bit[{size}] {name};" for name, _, size in self.cregs if size > 0]
        if prog.nbits:
            cdecl.append(f"bit[{prog.nbits}] {prog.mreg};")
        dregs = [f"qubit[{self.data_size[i]}] qpu{i};" for i in range(k) if self.data_size[i]]
        cregs_q = [f"qubit[{self.comm_next[i]}] comm{i};" for i in range(k) if self.comm_next[i]]
        head = ["OPENQASM 3.0;", 'include "stdgates.inc";'] + defs
        note = [
            "// araqne distributed program: data registers qpu<i>, communication registers "
            "comm<i> (declared in that order),",
            f"// input classical registers under their own names, protocol bits in {prog.mreg}; "
            "the only two-QPU statement is epr (one Bell pair, id in the trailing comment).",
        ]
        # joined with a final "" so that the text ends with a newline without another copy
        distributed = "\n".join(head + note + dregs + cregs_q + cdecl + prog.chunks + prog.lines
                                + [""])
        prog.chunks = []
        prog.lines = []
        release_free_memory()
        qpu_texts = []
        for i in range(k):
            qn = [
                f"// araqne: program of QPU {i} ({self.names[i]}). epr_half marks where the link "
                "delivers this QPU's half of a Bell pair (id and partner in the comment);",
                "// classical messages are comments '// send <bit> to qpu<j>' / "
                "'// recv <bit> from qpu<j>' named as in schedule.json.",
            ]
            regs = []
            if self.data_size[i]:
                regs.append(f"qubit[{self.data_size[i]}] qpu{i};")
            if self.comm_next[i]:
                regs.append(f"qubit[{self.comm_next[i]}] comm{i};")
            qpu_texts.append("\n".join(head + [EPR_HALF_DEF] + qn + regs + cdecl
                                       + prog.qchunks[i] + prog.qlines[i] + [""]))
            prog.qchunks[i] = []
            prog.qlines[i] = []
        data = prog.schedule_data()
        sched = data.head
        sched["comm_peak"] = list(self.comm_next)
        sched["evictions"] = self.evictions
        if self.moves:
            sched["moves"] = self.moves
        n = self.circ.num_qubits
        return Emission(
            distributed_qasm=distributed,
            qpu_qasm=qpu_texts,
            schedule_data=data,
            ebits=len(prog.pairs),
            ebits_model=model,
            ebits_per_link=dict(sched["per_link"]),
            peak_comm=list(self.comm_next),
            layout_initial=self.layout_initial,
            layout_final=[[self.loc_qpu[q], self.loc_slot[q]] for q in range(n)],
            data_register_sizes=list(self.data_size),
            evictions=self.evictions,
            moves=self.moves,
            records=prog.record_arrays(),
        )


def _int_array(a) -> array:
    """An int64 numpy array as ``array('q')`` (indexing gives Python ints, like a list)."""
    return array("q", np.ascontiguousarray(a, dtype=np.int64).tobytes())


def _serve(serve, rec: _Copy, i: int) -> None:
    """Record that operation ``i`` is served by this copy (and by the relays it came from);
    ``serve`` is :meth:`araqne.backend.pairs.PairTable.serve`."""
    while rec is not None:
        serve(rec.pair, i)
        rec = rec.parent
