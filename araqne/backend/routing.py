"""Routing inside a QPU: map each QPU's program onto its coupling map with Qiskit's SABRE.

The backend emits one program per QPU (``Emission.qpu_qasm``) as if its qubits were all-to-all.
Where a QPU declares a ``coupling`` (:meth:`araqne.network.QPU.coupling_edges`), two-qubit gates
may only act on coupled qubits; :func:`route_qpu_programs` inserts the SWAPs that make every gate
local to the map and reports how many it added per QPU.

The physical model of one QPU with ``n = qpu.qubits`` data qubits and ``C = qpu.comm_qubits``
communication qubits:

- **Sites.**  ``N = n + C`` physical qubits: data sites ``0..n-1`` coupled as the QPU's
  ``coupling`` says, then communication sites ``n..n+C-1``.  The routed program declares them as
  ``qubit[n] qpu<i>;`` and ``qubit[C] comm<i>;`` (same register names as the emitted program;
  sizes become the hardware's, so ``qpu<i>[s]`` is data site ``s``).
- **Where communication qubits sit.**  The coupling map names data qubits only, so each
  communication site is a leaf hung on one data site, its *port*, at the map's boundary: the
  ports are data sites of the lowest degree (the ends of a line, the corners of a grid, the
  outer qubits of a heavy-hex patch), spread apart by farthest-point sampling from the
  lowest-numbered one (a line of 4 with 2 communication qubits is ``comm[0] - 0 - 1 - 2 - 3 -
  comm[1]``).  With more communication qubits than boundary sites the remaining ports are the
  data sites farthest from the ports already chosen (ports repeat only when ``C > n``).
  :func:`comm_ports` computes them.
- **Bell-pair halves stay on communication sites.**  The link delivers a Bell-pair half into a
  communication qubit, so every ``epr_half comm<i>[j]`` must act on communication site ``n + j``
  (the register index in the schedule is kept).  Between two Bell pairs SABRE may move a
  communication qubit's state through the data qubits (a SWAP moves a state, which is allowed);
  before each ``epr_half`` the router brings communication qubit ``j`` back to its site along a
  shortest path (the *restore* SWAPs, counted in ``swaps_added``).  Qubits known to be in
  ``|0>`` (idle sites, communication qubits not yet used or reset since) are interchangeable:
  a communication qubit that was reset takes the label of the ``|0>`` qubit nearest its site,
  and a SWAP of two ``|0>`` qubits is a relabelling that emits no gate.  The program is
  therefore routed in segments between Bell-pair deliveries, each by
  :class:`~qiskit.transpiler.passes.SabreSwap` (``decay`` heuristic) starting from the layout
  the previous segment left.
- **Initial layout.**  Communication qubit ``j`` starts on site ``n + j``; data qubits start
  where :class:`~qiskit.transpiler.passes.SabreLayout` puts them, moved to the nearest free
  data site when SABRE chose a communication site or a clash.  ``restarts`` whole routings
  from different seeds are made and the one with the fewest SWAPs is kept.

The routed program equals the emitted one up to the layouts: run from data qubits in any state
at ``initial_layout`` (communication and idle qubits in ``|0>``, as on the hardware), every
measurement branch leaves the same state with qubit ``v`` at ``final_layout[v]``.

SWAPs are counted as ``swap`` gates: the routed program keeps them as ``swap a, b;`` (stdgates),
never decomposed, so ``swaps_added`` is the number of ``swap`` statements in the routed program
(inside ``if`` blocks too) minus those the emitted program already had (state teleportation
moves).  Each costs three CX on hardware (``cx_added``).

Routed programs are written by :func:`qiskit.qasm3.dumps` and parse back with
:func:`araqne.verification.load_program`; the schedule comments of the emitted program (``//
e<k>: Bell pair with ...`` on ``epr_half`` lines, ``// send``/``// recv`` messages) are put back
beside the statements they name.  The gates the emitted program defines itself (``u``,
``rzz``, ``rxx``, ``rzx``, ``sxdg``) become Qiskit's standard gates, since the exporter writes
an imported custom gate's definition with its first call's angles.  QPUs without a coupling map
(all-to-all) keep their program text unchanged.  QPUs running a QEC code are not routed: their programs act on logical qubits,
while the coupling map joins physical ones (``note`` says so).
"""

from __future__ import annotations

import functools
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..errors import InfeasibleError, InputError, UsageError

__all__ = ["QPURouting", "RoutingReport", "route_qpu_programs", "route_program", "comm_ports"]

DEFAULT_TRIALS = 4
"""SABRE trials per routed segment and layout (fixed, so results are deterministic)."""

DEFAULT_RESTARTS = 3
"""Whole routings per QPU from different SABRE seeds; the one with fewest SWAPs is kept."""


# ------------------------------------------------------------------------------------- report


@dataclass
class QPURouting:
    """Routing of one QPU's program.

    Attributes
    ----------
    index : int
        QPU index (its registers are ``qpu<index>`` and ``comm<index>``).
    name : str
        QPU name.
    coupling : str
        ``"all-to-all"``, ``"line"``, ``"grid"``, ``"heavy-hex"`` or ``"edges"`` (an edge list).
    routed : bool
        Whether the program was routed (False: all-to-all or coded QPU; text unchanged).
    swaps_added : int
        SWAP gates added (restore SWAPs included); 0 when not routed.
    restore_swaps : int
        Of ``swaps_added``, those that brought a communication qubit back to its site before a
        Bell-pair half was delivered into it.
    depth_before, depth_after : int
        ``QuantumCircuit.depth()`` of the emitted and of the routed program.
    qasm : str
        The routed program (OpenQASM 3), or the emitted one when not routed.
    data_sites, comm_sites : int
        Physical data and communication qubits (``qpu.qubits``, ``qpu.comm_qubits``).
    ports : list of int
        Data site each communication site ``n + j`` is coupled to.
    initial_layout, final_layout : list of int
        Physical site of each program qubit (data register ``qpu<i>`` then communication
        register ``comm<i>``, as declared by the emitted program) at the start and at the end.
    permutation : list of int
        For every site ``s``: the site at the end of whatever occupied ``s`` at the start (idle
        sites included); ``final_layout[v] == permutation[initial_layout[v]]``.
    note : str
        Why a QPU was not routed, else empty.
    """

    index: int
    name: str
    coupling: str
    routed: bool
    swaps_added: int
    depth_before: int
    depth_after: int
    qasm: str
    restore_swaps: int = 0
    data_sites: int = 0
    comm_sites: int = 0
    ports: list = field(default_factory=list)
    initial_layout: list = field(default_factory=list)
    final_layout: list = field(default_factory=list)
    permutation: list = field(default_factory=list)
    note: str = ""

    @property
    def cx_added(self) -> int:
        """CX gates the added SWAPs cost once decomposed (3 per SWAP)."""
        return 3 * int(self.swaps_added)

    def to_dict(self, with_qasm: bool = False) -> dict[str, Any]:
        """JSON-ready summary (the program text only with ``with_qasm``)."""
        out: dict[str, Any] = {
            "qpu": self.index, "name": self.name, "coupling": self.coupling,
            "routed": self.routed, "swaps_added": int(self.swaps_added),
            "restore_swaps": int(self.restore_swaps), "cx_added": self.cx_added,
            "depth_before": int(self.depth_before), "depth_after": int(self.depth_after),
        }
        if self.routed:
            out.update({"data_sites": self.data_sites, "comm_sites": self.comm_sites,
                        "comm_ports": list(self.ports),
                        "initial_layout": list(self.initial_layout),
                        "final_layout": list(self.final_layout)})
        if self.note:
            out["note"] = self.note
        if with_qasm:
            out["qasm"] = self.qasm
        return out


@dataclass
class RoutingReport:
    """Routing of every QPU's program (:func:`route_qpu_programs`).

    Attributes
    ----------
    qpus : list of QPURouting
        One per QPU, in network order.
    seed : int
        The SABRE seed used.
    """

    qpus: list
    seed: int = 0

    @property
    def swaps_added(self) -> int:
        """SWAPs added over all QPUs."""
        return sum(int(r.swaps_added) for r in self.qpus)

    @property
    def swaps_per_qpu(self) -> list[int]:
        """``swaps_added`` of each QPU."""
        return [int(r.swaps_added) for r in self.qpus]

    @property
    def qpu_qasm(self) -> list[str]:
        """Each QPU's program after routing (unchanged where not routed)."""
        return [r.qasm for r in self.qpus]

    def to_dict(self) -> dict[str, Any]:
        """The ``routing.json`` content (no program texts)."""
        return {"seed": int(self.seed), "swaps_added": self.swaps_added,
                "cx_added": 3 * self.swaps_added,
                "swap_counting": "swap gates added (3 CX each), restore swaps included",
                "qpus": [r.to_dict() for r in self.qpus]}

    def output_files(self) -> dict[str, str]:
        """File name -> text: ``qpu<i>.routed.qasm`` for every routed QPU and ``routing.json``."""
        files = {f"qpu{r.index}.routed.qasm": r.qasm for r in self.qpus if r.routed}
        files["routing.json"] = json.dumps(self.to_dict(), indent=2) + "\n"
        return files


# ------------------------------------------------------------------------------------- entry


def route_qpu_programs(emission, network, seed: int = 0, *, trials: int = DEFAULT_TRIALS,
                       restarts: int = DEFAULT_RESTARTS) -> RoutingReport:
    """Route every QPU's program onto that QPU's coupling map.

    Parameters
    ----------
    emission : Emission, PartitionResult or sequence of str
        The emitted programs (``Emission.qpu_qasm``; a ``PartitionResult`` is emitted first).
    network : Network
        The cluster; QPU ``i`` runs program ``i``.
    seed : int
        Seed of SABRE's layout and routing (results are deterministic for a given seed).
    trials : int
        SABRE trials per segment (and layout trials).
    restarts : int
        Whole routings per QPU (SABRE seeds derived from ``seed``); the fewest SWAPs is kept
        (then the lower depth).

    Returns
    -------
    RoutingReport

    Raises
    ------
    InfeasibleError
        A QPU's coupling map is disconnected, or smaller than its program (one line naming the
        QPU).
    InputError
        A program does not parse or is not a QPU program of this network.
    """
    if hasattr(emission, "emit") and not hasattr(emission, "qpu_qasm"):
        emission = emission.emit()
    texts = list(emission.qpu_qasm) if hasattr(emission, "qpu_qasm") else list(emission)
    if len(texts) != network.k:
        raise InputError(f"routing: {len(texts)} QPU programs for a network of {network.k} QPUs")
    if trials < 1 or restarts < 1:
        raise UsageError(f"routing: trials and restarts must be at least 1 (got {trials}, "
                         f"{restarts})")
    reports = [route_program(text, qpu, index=i, seed=seed, trials=trials, restarts=restarts)
               for i, (qpu, text) in enumerate(zip(network.qpus, texts))]
    return RoutingReport(reports, int(seed))


def route_program(text: str, qpu, index: int, seed: int = 0, *, trials: int = DEFAULT_TRIALS,
                  restarts: int = DEFAULT_RESTARTS) -> QPURouting:
    """Route the program ``text`` of QPU number ``index`` (a :class:`araqne.network.QPU`).

    See the module documentation for the model; raises as :func:`route_qpu_programs`.
    """
    from ..verification import load_program

    label = f"QPU {qpu.name!r} (qpu{index})"
    kind = _coupling_kind(qpu.coupling)
    try:
        qc = load_program(text)
    except InputError as err:
        raise InputError(f"routing: {label}: {str(err).split(': ', 1)[-1]}") from None
    depth = int(qc.depth())
    if kind == "all-to-all":
        return QPURouting(index, qpu.name, kind, False, 0, depth, depth, text,
                          data_sites=int(qpu.qubits), comm_sites=int(qpu.comm_qubits))
    if qpu.code is not None:
        return QPURouting(index, qpu.name, kind, False, 0, depth, depth, text,
                          data_sites=int(qpu.qubits), comm_sites=int(qpu.comm_qubits),
                          note=f"not routed: runs code {qpu.code!r}, so its program acts on "
                               f"logical qubits while the coupling map joins physical ones")
    try:
        edges = qpu.coupling_edges()
    except InputError as err:
        raise InputError(f"routing: {err}") from None
    qc = _canonical_circuit(qc, {}, label)
    best = None
    for r in range(max(1, int(restarts))):
        sub = seed if r == 0 else (int(seed) * 1_000_003 + r) % (1 << 32)
        got = _Router(qc, qpu, index, edges, kind, label, sub, trials, text, depth).run()
        if best is None or (got.swaps_added, got.depth_after) < (best.swaps_added,
                                                                 best.depth_after):
            best = got
    return best


# ------------------------------------------------------------------------------------- maps


def _coupling_kind(coupling) -> str:
    if coupling is None or coupling == "all-to-all":
        return "all-to-all"
    if isinstance(coupling, str):
        return coupling
    return "edges"


def _adjacency(n: int, edges) -> list[list[int]]:
    adj: list[set[int]] = [set() for _ in range(n)]
    for a, b in edges:
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    return [sorted(s) for s in adj]


def _bfs(adj: list[list[int]], src: int) -> list[int]:
    dist = [-1] * len(adj)
    dist[src] = 0
    queue = deque([src])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def comm_ports(n: int, edges, comm: int) -> list[int]:
    """The data site each of ``comm`` communication sites hangs on (see the module doc).

    Boundary sites (lowest degree in the map) first, spread by farthest-point sampling from the
    lowest-numbered one; then the other data sites, farthest first; ties go to the lower index.
    """
    if comm <= 0 or n <= 0:
        return []
    adj = _adjacency(n, edges)
    deg = [len(a) for a in adj]
    low = min(deg)
    boundary = [s for s in range(n) if deg[s] == low]
    ports = [boundary[0]]
    near = _bfs(adj, boundary[0])
    big = 1 << 30
    near = [d if d >= 0 else big for d in near]
    while len(ports) < comm:
        used = set(ports)
        pool = ([s for s in boundary if s not in used]
                or [s for s in range(n) if s not in used] or list(range(n)))
        best = max(pool, key=lambda s: (near[s], -s))
        ports.append(best)
        d = _bfs(adj, best)
        near = [min(a, b if b >= 0 else big) for a, b in zip(near, d)]
    return ports


# ------------------------------------------------------------------------------------- gates


@functools.lru_cache(maxsize=1)
def _standard_gates() -> dict:
    from qiskit.circuit.library import get_standard_gate_name_mapping
    return get_standard_gate_name_mapping()


def _canonical_op(op, cache: dict, label: str):
    """The Qiskit standard gate for a gate the importer built from a ``gate`` definition.

    The emitted programs define ``u``, ``rzz``, ``rxx``, ``rzx`` and ``sxdg`` themselves; the
    importer turns each call into an opaque ``Gate`` carrying that call's definition, which
    :func:`qiskit.qasm3.dumps` would then export once, with the first call's angles baked in.
    Standard gates export with a parameterised definition, so every such call is replaced by
    the standard gate of the same name (checked equal to its definition up to global phase).
    Any other parameterised custom gate is refused, since it could not be exported faithfully.
    """
    blocks = getattr(op, "blocks", None)
    if blocks:
        return op.replace_blocks([_canonical_circuit(b, cache, label) for b in blocks])
    if op.name in ("epr_half", "epr", "measure", "reset", "barrier", "delay"):
        return op
    std = _standard_gates().get(op.name)
    if std is not None and type(op) is type(std):
        return op
    params = tuple(op.params)
    key = (op.name, op.num_qubits, tuple(repr(p) for p in params))
    if key in cache:
        return cache[key]
    new = None
    if std is not None and std.num_qubits == op.num_qubits and len(std.params) == len(params):
        cand = std.base_class(*params)
        if getattr(op, "definition", None) is None:
            new = cand
        else:
            from qiskit.quantum_info import Operator
            try:
                if Operator(op).equiv(Operator(cand)):
                    new = cand
            except Exception:  # no matrix for this definition: keep the gate as it is
                new = None
    if new is None:
        if params:
            raise InputError(f"routing: {label}: cannot export the parameterised custom gate "
                             f"{op.name!r} faithfully; define it from standard gates")
        new = op
    cache[key] = new
    return new


def _canonical_circuit(circ, cache: dict, label: str):
    out = circ.copy_empty_like()
    for ci in circ.data:
        out.append(_canonical_op(ci.operation, cache, label), ci.qubits, ci.clbits, copy=False)
    return out


# ------------------------------------------------------------------------------------- router


def _multi_qubit(ops) -> bool:
    """Whether any instruction (or any block of a control-flow one) acts on 2+ qubits."""
    for ci in ops:
        op = ci.operation
        blocks = getattr(op, "blocks", None)
        if blocks:
            if any(_multi_qubit(b.data) for b in blocks):
                return True
        elif len(ci.qubits) > 1 and op.name != "barrier":
            return True
    return False


def _count(circ, name: str) -> int:
    """Instructions called ``name`` in ``circ``, inside control-flow blocks too."""
    total = 0
    for ci in circ.data:
        op = ci.operation
        if op.name == name:
            total += 1
        for block in getattr(op, "blocks", None) or ():
            total += _count(block, name)
    return total


class _Router:
    def __init__(self, qc, qpu, index, edges, kind, label, seed, trials, text, depth):
        self.qc = qc
        self.qpu = qpu
        self.index = index
        self.kind = kind
        self.label = label
        self.seed = int(seed)
        self.trials = int(trials)
        self.text = text
        self.depth = depth
        self.n = int(qpu.qubits)
        self.C = int(qpu.comm_qubits)
        self.edges = [(int(a), int(b)) for a, b in edges]

    # ------------------------------------------------------------------ checks and the map

    def _registers(self):
        regs = {r.name: r for r in self.qc.qregs}
        dname, cname = f"qpu{self.index}", f"comm{self.index}"
        extra = sorted(set(regs) - {dname, cname})
        if extra:
            raise InputError(f"routing: {self.label}: program declares qubit register "
                             f"{extra[0]!r}; a QPU program has only {dname} and {cname}")
        data, comm = regs.get(dname), regs.get(cname)
        order = [r.name for r in self.qc.qregs]
        if data is not None and comm is not None and order != [dname, cname]:
            raise InputError(f"routing: {self.label}: {dname} must be declared before {cname}")
        return (len(data) if data is not None else 0), (len(comm) if comm is not None else 0)

    def _check_map(self, D: int, Cp: int) -> None:
        n, label = self.n, self.label
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n):
                raise InputError(f"routing: {label}: coupling edge ({a}, {b}) names a qubit "
                                 f"outside 0..{n - 1}")
        if D > n:
            raise InfeasibleError(
                f"{label}: the program uses {D} data qubits but the {self.kind} coupling map "
                f"has {n}; the map is too small to route it")
        if Cp > self.C:
            raise InfeasibleError(
                f"{label}: the program uses {Cp} communication qubits but the QPU has "
                f"{self.C}; the map is too small to route it")
        adj = _adjacency(n, self.edges)
        dist = _bfs(adj, 0)
        if any(d < 0 for d in dist):
            s = dist.index(-1)
            raise InfeasibleError(
                f"{label}: the {self.kind} coupling map is disconnected (data qubit {s} has no "
                f"path to data qubit 0); routing needs a connected map")

    # ------------------------------------------------------------------ routing

    def run(self) -> QPURouting:
        from qiskit import QuantumCircuit, QuantumRegister
        from qiskit.transpiler import CouplingMap

        D, Cp = self._registers()
        self._check_map(D, Cp)
        n, C = self.n, self.C
        N = n + C
        ports = comm_ports(n, self.edges, C)
        cedges = self.edges + [(n + j, p) for j, p in enumerate(ports)]
        cmap = CouplingMap()
        for s in range(N):
            cmap.add_physical_qubit(s)
        for a, b in cedges:
            cmap.add_edge(a, b)
            cmap.add_edge(b, a)
        self.cmap = cmap
        nv = D + Cp

        # program qubits 0..nv-1 (data then comm); idle sites get ancilla ids nv..N-1
        qc = self.qc
        vid = {bit: k for k, bit in enumerate(qc.qubits)}
        flat = QuantumCircuit(QuantumRegister(N, "q"), *qc.cregs)
        ops = [(ci.operation, [vid[b] for b in ci.qubits], ci.clbits) for ci in qc.data]
        for op, vs, cl in ops:
            if op.name == "epr_half" and (len(vs) != 1 or vs[0] < D):
                raise InputError(f"routing: {self.label}: epr_half acts on a data qubit; Bell-"
                                 f"pair halves must go to communication qubits")
            flat.append(op, [flat.qubits[v] for v in vs], cl, copy=False)
        pos = self._initial_layout(flat, D, Cp, N)
        occ = [0] * N
        for v, s in enumerate(pos):
            occ[s] = v
        self.pos, self.occ = pos, occ
        initial = list(pos)

        out = QuantumCircuit(QuantumRegister(N, "q"), *qc.cregs)
        self.out = out
        self.restores = 0
        # fresh: virtuals known to be in |0> (idle sites; comm qubits before first use or
        # right after a reset); a SWAP between two fresh qubits is a relabelling, not a gate
        self.fresh = set(range(D, N))
        segment: list = []
        for op, vs, cl in ops:
            if op.name == "epr_half":
                self._flush(segment)
                segment = []
                v = vs[0]
                self._restore(v, n + (v - D))
                out.append(op, [out.qubits[pos[v]]], cl, copy=False)
            else:
                segment.append((op, vs, cl))
            for v in vs:
                if op.name == "reset":
                    self.fresh.add(v)
                else:
                    self.fresh.discard(v)
        self._flush(segment)

        # the routed program on named registers: qpu<i>[n] data sites, comm<i>[C] comm sites
        regs = [QuantumRegister(n, f"qpu{self.index}")]
        if C:
            regs.append(QuantumRegister(C, f"comm{self.index}"))
        named = QuantumCircuit(*regs, *qc.cregs)
        for ci in out.data:
            named.append(ci.operation, [named.qubits[out.find_bit(b).index] for b in ci.qubits],
                         ci.clbits, copy=False)
        from qiskit import qasm3
        swaps = _count(out, "swap") - _count(qc, "swap")
        occ0 = [0] * N  # occupant of each site at the start
        for v, s in enumerate(initial):
            occ0[s] = v
        permutation = [pos[occ0[s]] for s in range(N)]
        final = [pos[v] for v in range(nv)]
        header = self._header(ports, swaps, self.restores, initial[:nv], final)
        routed_text = _restore_comments(self.text, qasm3.dumps(named), header)
        return QPURouting(
            self.index, self.qpu.name, self.kind, True, int(swaps), self.depth,
            int(named.depth()), routed_text, restore_swaps=self.restores, data_sites=n,
            comm_sites=C, ports=ports, initial_layout=initial[:nv], final_layout=final,
            permutation=permutation)

    def _header(self, ports, swaps, restores, initial, final) -> list[str]:
        i, n = self.index, self.n
        hung = ", ".join(f"comm{i}[{j}]-qpu{i}[{p}]" for j, p in enumerate(ports))
        return [f"// araqne routing: QPU {i} ({self.qpu.name}) on its {self.kind} coupling map; "
                f"qpu{i}[s] is data site s (0..{n - 1}); communication sites hang on data "
                f"sites: {hung or 'none'}.",
                f"// SABRE seed {self.seed}; swap gates added: {swaps} (including {restores} "
                f"that return a communication qubit to its site before a Bell-pair half).",
                f"// layout (program qubit -> site, data register then communication register): "
                f"initial {initial}, final {final}."]

    def _initial_layout(self, flat, D: int, Cp: int, N: int) -> list[int]:
        """Site of each virtual (program qubits, then ancillas)."""
        from qiskit.transpiler import PassManager
        from qiskit.transpiler.passes import SabreLayout

        n = self.n
        sabre: list[int] | None = None
        if D and _multi_qubit(flat.data):
            pm = PassManager([SabreLayout(self.cmap, seed=self.seed, max_iterations=2,
                                          swap_trials=self.trials, layout_trials=self.trials,
                                          skip_routing=True)])
            pm.run(flat)
            layout = pm.property_set["layout"]
            if layout is not None:
                v2p = layout.get_virtual_bits()
                sabre = [int(v2p[flat.qubits[v]]) for v in range(D)]
        pos = [-1] * N
        taken = set()
        for j in range(Cp):
            pos[D + j] = n + j
            taken.add(n + j)
        want = sabre if sabre is not None else list(range(D))
        pending = []
        for v in range(D):
            s = want[v]
            if s < n and s not in taken:
                pos[v] = s
                taken.add(s)
            else:
                pending.append(v)
        for v in pending:  # nearest free data site to where SABRE wanted it
            src = want[v]
            best = min((s for s in range(n) if s not in taken),
                       key=lambda s: (self.cmap.distance(src, s), s))
            pos[v] = best
            taken.add(best)
        free = [s for s in range(N) if s not in taken]
        for k, v in enumerate(range(D + Cp, N)):
            pos[v] = free[k]
        return pos

    def _flush(self, segment) -> None:
        """Route one segment (between Bell-pair deliveries) from the current layout."""
        if not segment:
            return
        from qiskit import QuantumCircuit, QuantumRegister
        from qiskit.transpiler import PassManager
        from qiskit.transpiler.passes import SabreSwap

        out, pos, occ = self.out, self.pos, self.occ
        if not _multi_qubit([_Op(op, vs) for op, vs, _ in segment]):
            for op, vs, cl in segment:
                out.append(op, [out.qubits[pos[v]] for v in vs], cl, copy=False)
            return
        N = len(pos)
        seg = QuantumCircuit(QuantumRegister(N, "q"), *self.qc.cregs)
        for op, vs, cl in segment:
            seg.append(op, [seg.qubits[pos[v]] for v in vs], cl, copy=False)
        pm = PassManager([SabreSwap(self.cmap, heuristic="decay", seed=self.seed,
                                    trials=self.trials)])
        routed = pm.run(seg)
        for ci in routed.data:
            out.append(ci.operation, [out.qubits[routed.find_bit(b).index] for b in ci.qubits],
                       ci.clbits, copy=False)
        final = pm.property_set["final_layout"]
        if final is not None:
            p2v = final.get_physical_bits()
            new_occ = [occ[seg.find_bit(p2v[p]).index] if p in p2v else occ[p]
                       for p in range(N)]
            occ[:] = new_occ
            for s, v in enumerate(occ):
                pos[v] = s

    def _restore(self, v: int, home: int) -> None:
        """Bring virtual ``v`` back to site ``home`` before a Bell-pair half is put into it.

        When ``v`` is fresh (in ``|0>``: never used, or reset since), any fresh qubit will do:
        ``v`` takes the label of the fresh qubit nearest ``home`` (a relabelling, no gate).  Then
        SWAPs along a shortest path to ``home``; a SWAP between two fresh qubits on the way is a
        relabelling too and emits no gate.
        """
        pos, occ, fresh = self.pos, self.occ, self.fresh
        if pos[v] == home:
            return
        if v in fresh:  # any fresh qubit will do: take the one nearest home, relabelled v
            dist = self.cmap.distance
            f = min((s for s in range(len(occ)) if occ[s] in fresh),
                    key=lambda s: (dist(s, home), s))
            w = occ[f]
            occ[pos[v]], occ[f] = w, v
            pos[w], pos[v] = pos[v], f
        if pos[v] == home:
            return
        path = list(self.cmap.shortest_undirected_path(pos[v], home))
        for a, b in zip(path, path[1:]):
            if not (occ[a] in fresh and occ[b] in fresh):
                self.out.swap(a, b)
                self.restores += 1
            occ[a], occ[b] = occ[b], occ[a]
            pos[occ[a]] = a
            pos[occ[b]] = b


class _Op:
    """(operation, qubits) with the CircuitInstruction attributes :func:`_multi_qubit` reads."""

    __slots__ = ("operation", "qubits")

    def __init__(self, op, qubits):
        self.operation = op
        self.qubits = qubits


# ------------------------------------------------------------------------------------- text

_EPR_LINE = re.compile(r"^\s*epr_half\s+[^;]+;\s*//\s*(.*\S)\s*$")
_SEND = re.compile(r"^\s*//\s*send\s+(\S+)\s")
_RECV = re.compile(r"^\s*//\s*recv\s+(\S+)\s")
_STMT_EPR = re.compile(r"^\s*epr_half\s")


def _restore_comments(original: str, routed: str, header: list[str]) -> str:
    """Put the emitted program's comments back into the routed text.

    ``epr_half`` comments go on the k-th ``epr_half`` statement (Bell-pair halves keep their
    order); ``// send b ...`` after the first measurement into ``b``; ``// recv b ...`` before the
    first statement reading ``b``; other comment lines (the program's header) after the
    ``include`` line, followed by ``header``.
    """
    epr_notes: list[str | None] = []
    sends: list[tuple[str, str]] = []
    recvs: list[tuple[str, str]] = []
    top: list[str] = []
    for line in original.splitlines():
        if _STMT_EPR.match(line):
            m = _EPR_LINE.match(line)
            epr_notes.append(m.group(1) if m else None)
            continue
        s = line.strip()
        if not s.startswith("//"):
            continue
        m = _SEND.match(s)
        if m:
            sends.append((m.group(1), s))
            continue
        m = _RECV.match(s)
        if m:
            recvs.append((m.group(1), s))
            continue
        top.append(s)

    lines = routed.splitlines()
    after: dict[int, list[str]] = {}
    before: dict[int, list[str]] = {}
    k = 0
    for no, line in enumerate(lines):
        if _STMT_EPR.match(line) and k < len(epr_notes):
            if epr_notes[k] is not None:
                lines[no] = f"{line.rstrip()} // {epr_notes[k]}"
            k += 1
    body = next((no for no, line in enumerate(lines)
                 if not re.match(r"^\s*(OPENQASM|include|gate|bit|qubit|}|//)", line)
                 and line.strip() and not line.startswith(" ")), len(lines))
    for bit, text in sends:
        pat = re.compile(rf"^\s*{re.escape(bit)}\s*=\s*measure\b")
        no = next((j for j in range(len(lines)) if pat.match(lines[j])), None)
        if no is None:
            top.append(text)
        else:
            after.setdefault(no, []).append(text)
    for bit, text in recvs:
        tok = re.compile(rf"(?<![\w\]]){re.escape(bit)}(?![\w\[])")
        meas = re.compile(rf"^\s*{re.escape(bit)}\s*=")
        no = next((j for j in range(body, len(lines))
                   if tok.search(lines[j]) and not meas.match(lines[j])), None)
        if no is None:
            top.append(text)
        else:
            before.setdefault(no, []).append(text)
    inc = next((no for no, line in enumerate(lines) if line.startswith("include")), 0)
    out: list[str] = []
    for no, line in enumerate(lines):
        for text in before.get(no, ()):
            out.append(_indent_like(line, text))
        out.append(line)
        if no == inc:
            out.extend(top)
            out.extend(header)
        for text in after.get(no, ()):
            out.append(_indent_like(line, text))
    return "\n".join(out) + "\n"


def _indent_like(line: str, text: str) -> str:
    return line[: len(line) - len(line.lstrip())] + text
