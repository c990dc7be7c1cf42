"""Time and fidelity model of an emitted distributed program.

:func:`estimate` reads what emission produced (the pairs of the schedule and one record per
statement of ``distributed.qasm``: its step, QPU, duration class and whether it waits for a
classical message, :attr:`araqne.backend.Emission.records`; the text is parsed only for an
emission without records; emission is not re-run) and the network's durations, link rates,
fidelities and memory times, and returns a :class:`TimingReport`.  Everything is deterministic
and linear in the program's statements plus its Bell pairs (numba kernels: 0.25 s for the 6.3
million statements and half a million pairs of a 1M-gate circuit).

The model
---------
**Layers.**  Time advances step by step over the ASAP layers of ``distributed.qasm`` (the
``steps`` of ``schedule.json``, :data:`araqne.backend.schedule.STEPS_DEFINITION`).  A step lasts
the longest operation in it, so QPUs advance in lock-step (a conservative, synchronous
schedule; a QPU never runs ahead of a slower one).  Operation durations come from
:meth:`araqne.network.QPU.durations` (modality defaults or overrides):

- one-qubit gate ``t_1q``; two-qubit gate ``t_2q`` (``swap``, used by state teleportation to
  move a state into a data slot, is three CX: ``3 t_2q``); ``measure`` and ``reset`` ``t_measure``
  (an active reset is a measurement and a conditional flip);
- ``epr`` takes no local time: the Bell pair is delivered by its link, whose generation is
  modelled below;
- a classically controlled statement (``if (...)``) whose condition reads a bit last written on
  another QPU waits for that classical message: it lasts its body's duration plus
  ``classical_latency_s`` (default :data:`DEFAULT_CLASSICAL_LATENCY_S` = 1 us: ~200 m of fibre at
  5 ns/m plus a few hundred ns of processing; a fair figure for QPUs in one data centre, where
  links are a few metres to a few hundred metres long).  One latency per statement, counted once
  per (bit, value written, receiving QPU) as the schedule's ``messages`` are; messages to the same
  statement travel in parallel.
- **QEC.**  On a QPU running a code, every (logical) operation takes one *logical cycle*:
  ``code.cycle_time_factor(d)`` syndrome-extraction rounds of ``code.round_time(t_1q, t_2q,
  t_measure)`` each.  For the surface code that is ``d`` rounds of ``2 t_1q + 4 t_2q +
  t_measure``: a lattice-surgery merge or split must repeat the stabiliser measurements ``d``
  times to be fault tolerant against measurement errors (Horsman, Fowler, Devitt, Van Meter,
  New J. Phys. 14, 123011 (2012); Litinski, "A Game of Surface Codes", Quantum 3, 128 (2019),
  whose clock cycle is ``d`` code cycles).  Pauli-frame tracking and decoder latency are not
  modelled (every logical operation, Pauli corrections included, takes a full logical cycle).
  So on an all-coded cluster with instantaneous links and no classical latency the makespan is
  exactly ``d * round_time`` times the number of steps holding a local operation: it grows
  linearly in ``d``.

**Bell pairs.**  A link makes Bell pairs one at a time: one *raw* pair every ``1 / rate_hz``
seconds (``rate_hz = None``: instantaneous).  One e-bit (one ``epr``) of a link takes
``network.physical_bell_pairs_per_ebit`` physical pairs (``d**2`` across a surface-code seam, 1
between uncoded QPUs) times ``2**distill_rounds`` (distillation, below), made back to back:
``tau = raw_pairs_per_ebit / rate_hz``.  A link serves its e-bits in the order of their ``epr``
steps (ties in program order).

- *Without a buffer (on demand)*: generation of an e-bit starts when the program reaches its
  ``epr`` step (which, being an ASAP layer, is when its two communication qubits are free) and the
  link has finished the previous pair; the program waits at the ``epr`` step until the pair
  exists.  ``ready = max(link_free, T_start[epr_step]) + tau``; ``T_end[epr_step] >= ready``.
- *With an entanglement buffer*: the link runs ahead of the program and stores pairs until used,
  and the program waits only at the pair's first use (``T_end[ready_by] >= ready``).  Look-ahead
  is limited by two things.  **Storage**: a pair is stored in communication qubits, one at each
  end.  Its own communication qubits (named in the schedule) are free from ``T_start[epr_step]``
  on; earlier than that it needs spare ones.  We assume the spare ones are those the program
  never uses: ``spare_i = comm_qubits_i - peak_comm_i`` on QPU ``i``, shared equally by the links
  of ``i`` that carry pairs, so link ``(a, b)`` holds at most ``B = min(spare_a // links_a,
  spare_b // links_b)`` pairs ahead of the program (``buffer_slots`` overrides ``B``: dedicated
  memories).  A stored-ahead pair frees its slot when the program reaches its ``epr`` step (it
  then moves into its own communication qubits), so pair ``j`` of a link may start once pair
  ``j - B`` of that link has been taken.  This never lets a QPU hold more than its communication
  qubits.  **Memory**: a pair older than ``memory_s`` at its first use has decohered and would
  have to be remade, so generation is delayed until ``memory_s`` before the pair's estimated
  first use (``T_start[epr_step]`` plus the gate-only duration of steps ``epr_step..ready_by``),
  but never beyond on-demand generation.  Each e-bit thus completes at
  ``max(link_free + tau, min(T_start[epr_step], take[j - B]) + tau,
  min(first_use_estimate - memory_s, T_start[epr_step] + tau))``.
- ``distill_rounds`` rounds of distillation add ``r * (t_2q + t_measure + classical_latency_s)``
  (slowest end; the local CNOT, the measurement and the exchange of results) after generation,
  without occupying the link.

Every quantity is a max-plus expression of the durations and ``tau``, hence: infinite rates give
the gate-only makespan exactly, a faster link never lengthens a schedule, and the buffered
schedule is never longer than the on-demand one.  The makespan is the gate-only makespan plus
the stalls; each stall (the time a step waits past its own operations) is charged to the link
of the latest pair it waited for.  The *critical link* is the link with the largest stall in
the buffered schedule (then on demand, then the longest generation time).

**Fidelity.**  The product, over consumed e-bits, of the link's Bell-pair fidelity (``None`` =
1).  With ``distill_rounds = r``, each e-bit is distilled from ``2**r`` raw pairs by ``r``
rounds of BBPSSW recurrence on Werner states (Bennett, Brassard, Popescu, Schumacher, Smolin,
Wootters, PRL 76, 722 (1996); Deutsch et al., PRL 77, 2818 (1996) converge faster; see Dür and
Briegel, Rep. Prog. Phys. 70, 1381 (2007))::

    F' = (F**2 + ((1 - F)/3)**2) / p,    p = F**2 + 2 F (1 - F)/3 + 5 ((1 - F)/3)**2

(``p`` is the success probability; the count of raw pairs is the deterministic ``2**r``, the
expected count with failures is reported beside it).  Distillation helps only when ``F > 1/2``.
Memory decoherence: a pair stored ``wait`` seconds between its delivery and its first use is
multiplied by ``exp(-wait / memory_s)`` (an exponential decay of the Bell-state fidelity, a
first-order model), reported as ``memory_factor`` (on demand) and ``memory_factor_buffered``;
pairs whose ``wait`` exceeds ``memory_s`` are counted as ``memory_violations``.  The lifetime of
a linked copy after its first use is not charged here: it depends on what the data qubit does.
**Coded hops** (``physical_pairs_per_ebit > 1``, a lattice-surgery seam): the physical pairs'
noise is corrected by the code, so they contribute 1 to the product, and the link reports
whether its (distilled) infidelity is below the seam threshold :data:`SEAM_THRESHOLD` (~10%;
Ramette, Sinclair, Breuckmann, Vuletic, npj Quantum Inf. 10, 58 (2024)); a logical error rate
is not estimated.  An injection bridge (uncoded to coded, 1 pair) is not fault tolerant and
counts like an uncoded hop.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numba import njit

from .. import qec
from .schedule import CLS_1Q, CLS_2Q, CLS_EPR, CLS_MR, CLS_SWAP, STEP_SHIFT

__all__ = ["estimate", "TimingReport", "LinkTiming", "bbpssw", "distill",
           "DEFAULT_CLASSICAL_LATENCY_S", "SEAM_THRESHOLD", "MODEL_DEFINITION", "format_seconds"]

DEFAULT_CLASSICAL_LATENCY_S = 1e-6
"""Latency of one classical message between QPUs of one data centre (seconds)."""

SEAM_THRESHOLD = 0.10
"""Bell-pair infidelity a surface-code lattice-surgery seam tolerates (Ramette et al. 2024)."""

MODEL_DEFINITION = (
    "Layered model: each ASAP step of distributed.qasm lasts its longest operation (t_1q, t_2q, "
    "3 t_2q for swap, t_measure for measure and reset, 0 for epr; plus the classical latency "
    "for a condition on a bit measured on another QPU; one logical cycle = "
    "cycle_time_factor(d) * round_time on coded QPUs). A link makes one raw pair per 1/rate_hz "
    "seconds, physical_pairs_per_ebit * 2**distill_rounds per e-bit, in epr-step order. On "
    "demand: generation starts at the epr step and the program waits there. Buffered: pairs are "
    "made ahead into spare communication qubits (buffer_slots per link) and at most memory_s "
    "before their estimated first use; the program waits at first use. Fidelity: product of the "
    "e-bits' (BBPSSW-distilled) link fidelities; coded hops count 1 (seam-corrected); memory "
    "factor exp(-wait/memory_s) per pair.")
"""One-paragraph statement of the model, stored in the report."""

_QREF = re.compile(r"(?:qpu|comm)\d+\[\d+\]")
_IFCOND = re.compile(r"if\s*\(([^)]*)\)")
_BITREF = re.compile(r"[A-Za-z_]\w*\[\d+\]")
_REGCMP = re.compile(r"([A-Za-z_]\w*)\s*==")
_BITDECL = re.compile(r"bit\[(\d+)\]\s+([A-Za-z_]\w*)\s*;")


# ------------------------------------------------------------------------------ distillation


def bbpssw(fidelity: float) -> tuple[float, float]:
    """One BBPSSW round on two Werner pairs of fidelity ``F``: ``(F', success probability)``.

    ``F' = (F^2 + ((1-F)/3)^2) / p`` with ``p = F^2 + 2F(1-F)/3 + 5((1-F)/3)^2`` (Bennett et al.,
    PRL 76, 722 (1996)); the output is twirled back to a Werner state.
    """
    f = float(fidelity)
    e = (1.0 - f) / 3.0
    p = f * f + 2.0 * f * e + 5.0 * e * e
    return (f * f + e * e) / p, p


def distill(fidelity: float, rounds: int) -> tuple[float, float]:
    """``rounds`` BBPSSW rounds: ``(fidelity, expected raw pairs per output pair)``.

    The expected count accounts for failed rounds (a failure discards both pairs); the
    deterministic count the timing model uses is ``2**rounds``.
    """
    f = float(fidelity)
    expected = 1.0
    for _ in range(int(rounds)):
        f, p = bbpssw(f)
        expected = 2.0 * expected / p
    return f, expected


def format_seconds(t: float | None) -> str:
    """``t`` seconds in engineering units (``"12.3 us"``); ``"-"`` for ``None``."""
    if t is None:
        return "-"
    t = float(t)
    if t == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(t) >= scale:
            return f"{t / scale:.4g} {unit}"
    return f"{t / 1e-12:.4g} ps"


# ------------------------------------------------------------------------------ report


@dataclass
class LinkTiming:
    """Bell-pair traffic and timing of one link ``"i-j"`` (``i < j``).

    Attributes
    ----------
    link : str
        ``"i-j"``.
    between : list of str
        The two QPU names.
    ebits : int
        E-bits (``epr`` statements) on the link.
    physical_pairs_per_ebit : int
        Physical Bell pairs per e-bit before distillation (``d**2`` across a surface-code seam).
    raw_pairs_per_ebit : int
        ``physical_pairs_per_ebit * 2**distill_rounds``.
    raw_pairs : int
        Raw pairs the link generates: ``ebits * raw_pairs_per_ebit``.
    expected_raw_pairs : float
        The same counting failed distillation rounds.
    rate_hz, fidelity, memory_s : float or None
        The link's properties (``None``: instantaneous, ideal, unlimited).
    ebit_fidelity : float
        Fidelity of one e-bit after distillation (the raw fidelity when ``distill_rounds = 0``).
    pair_time_s : float
        Generation time of one e-bit, ``raw_pairs_per_ebit / rate_hz`` (0 when instantaneous).
    generation_time_s : float
        ``ebits * pair_time_s``: time the link is busy.
    busy_fraction, busy_fraction_buffered : float
        ``generation_time_s`` over the on-demand and buffered makespans.
    required_rate_hz : float or None
        ``raw_pairs`` over the gate-only makespan: the mean rate the link needs never to slow
        the program down (``None`` when the gate-only makespan is 0).
    stall_s, stall_buffered_s : float
        Program waiting charged to this link in the on-demand and buffered schedules.
    keeps_up : bool
        Generation keeps up with consumption: the link never stalls the buffered schedule.
    buffer_slots : int
        Pairs the link may hold ahead of the program (buffered schedule).
    max_wait_s, max_wait_buffered_s : float
        Longest time one of its pairs waits between delivery and first use.
    memory_violations, memory_violations_buffered : int
        Pairs that wait longer than ``memory_s``.
    coded : bool
        A lattice-surgery seam (``physical_pairs_per_ebit > 1``): pair noise is corrected.
    below_seam_threshold : bool or None
        For coded links, ``1 - ebit_fidelity < SEAM_THRESHOLD``; ``None`` otherwise.
    """

    link: str
    between: list
    ebits: int
    physical_pairs_per_ebit: int
    raw_pairs_per_ebit: int
    raw_pairs: int
    expected_raw_pairs: float
    rate_hz: float | None
    fidelity: float | None
    memory_s: float | None
    ebit_fidelity: float
    pair_time_s: float
    generation_time_s: float
    busy_fraction: float
    busy_fraction_buffered: float
    required_rate_hz: float | None
    stall_s: float
    stall_buffered_s: float
    keeps_up: bool
    buffer_slots: int
    max_wait_s: float
    max_wait_buffered_s: float
    memory_violations: int
    memory_violations_buffered: int
    coded: bool
    below_seam_threshold: bool | None


@dataclass
class TimingReport:
    """Time and fidelity estimate of one emitted program (see the module docstring).

    Attributes
    ----------
    makespan_s : float
        Run time with on-demand Bell pairs (no buffer).
    makespan_buffered_s : float
        Run time with an entanglement buffer (``<= makespan_s``).
    makespan_gates_s : float
        Run time of the operations alone (instantaneous links): a lower bound of both.
    num_steps : int
        ASAP steps of ``distributed.qasm``.
    ebits : int
        E-bits consumed (``epr`` statements).
    physical_bell_pairs : int
        Physical Bell pairs before distillation (e-bits times ``physical_pairs_per_ebit``).
    raw_bell_pairs : int
        Pairs the links generate, distillation included.
    distill_rounds : int
    classical_latency_s : float
    remote_feedforwards : int
        Classically controlled statements that wait for a message from another QPU (each pays
        ``classical_latency_s``).
    fidelity : float
        Product of the consumed e-bits' fidelities (after distillation; coded hops count 1).
    fidelity_log10 : float
        ``log10`` of that product (finite when the product underflows; ``-inf`` if a factor is 0).
    memory_factor, memory_factor_buffered : float
        Product of ``exp(-wait / memory_s)`` over the pairs, on demand and buffered.
    fidelity_with_memory, fidelity_buffered : float
        ``fidelity`` times the matching memory factor.
    memory_violations, memory_violations_buffered : int
        Pairs stored longer than their link's ``memory_s``.
    critical_link : str or None
        Link that slows the program most (largest buffered stall, then on-demand stall, then
        generation time); ``None`` when no link takes any time.
    stall_s, stall_buffered_s : float
        ``makespan - makespan_gates``, on demand and buffered.
    input_makespan_s : float or None
        Gate-only makespan of the input circuit on one QPU with the cluster's slowest durations
        (given ``circuit``), for comparison.
    qpus : list of dict
        Per QPU: ``name``, ``t_1q``, ``t_2q``, ``t_measure``, ``logical_cycle_s`` (``None``
        when uncoded).
    per_link : dict of str to LinkTiming
        Links that carry e-bits.
    model : str
        :data:`MODEL_DEFINITION`.
    """

    makespan_s: float
    makespan_buffered_s: float
    makespan_gates_s: float
    num_steps: int
    ebits: int
    physical_bell_pairs: int
    raw_bell_pairs: int
    distill_rounds: int
    classical_latency_s: float
    remote_feedforwards: int
    fidelity: float
    fidelity_log10: float
    memory_factor: float
    memory_factor_buffered: float
    fidelity_with_memory: float
    fidelity_buffered: float
    memory_violations: int
    memory_violations_buffered: int
    critical_link: str | None
    stall_s: float
    stall_buffered_s: float
    input_makespan_s: float | None
    qpus: list = field(default_factory=list)
    per_link: dict = field(default_factory=dict)
    model: str = MODEL_DEFINITION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``per_link`` as plain dicts; ``-inf`` ``fidelity_log10`` as None)."""
        out = asdict(self)
        if not math.isfinite(out["fidelity_log10"]):
            out["fidelity_log10"] = None
        return out


# ------------------------------------------------------------------------------ parsing


class _Parsed:
    __slots__ = ("D", "epr_steps", "messages")

    def __init__(self, D, epr_steps, messages):
        self.D = D                  # D[s]: duration of step s (D[0] = 0)
        self.epr_steps = epr_steps  # step of every epr statement, in program order
        self.messages = messages    # remote feed-forwards waited for


def _qpu_of(ref: str) -> int:
    return int(ref[3:ref.index("[")]) if ref[0] == "q" else int(ref[4:ref.index("[")])


def _parse(text: str, dur1, dur2, durm, dswap, latency: float) -> _Parsed:
    """Steps and step durations of ``distributed.qasm``, streamed once.

    Recomputes the ASAP step of every statement exactly as the emitter does
    (:class:`araqne.backend.schedule.Program`): ``1 + max`` of the steps of the earlier
    statements on any of its qubits or bits, written or read.
    """
    last: dict[str, int] = {}
    writer: dict[str, tuple[int, int]] = {}   # bit -> (qpu, version)
    sent: set = set()
    regs: dict[str, int] = {}
    qcache: dict[str, int] = {}
    D = [0.0]
    epr_steps: list[int] = []
    messages = 0
    findq = _QREF.findall
    started = False
    for raw in io.StringIO(text):
        line = raw.strip()
        if not line:
            continue
        if not started:
            if line.startswith(("OPENQASM", "include", "gate ", "//", "qubit[")):
                continue
            if line.startswith("bit["):
                m = _BITDECL.match(line)
                if m:
                    regs[m.group(2)] = int(m.group(1))
                continue
            started = True
        if line.startswith("//"):
            continue
        cut = line.find("//")
        if cut >= 0:
            line = line[:cut].rstrip()
        reads: list[str] = []
        body = line
        if line.startswith("if"):
            for cond in _IFCOND.findall(line):
                m = _REGCMP.search(cond)
                if m:
                    name = m.group(1)
                    reads.extend(f"{name}[{j}]" for j in range(regs.get(name, 0)))
                else:
                    reads.extend(_BITREF.findall(cond))
            body = _IFCOND.sub(" ", line).replace("else", " ").replace("{", " ").replace("}", " ")
            body = body.split(";", 1)[0].strip() + ";"
        refs = findq(body)
        if not refs:
            continue
        written = None
        if body.startswith("epr "):
            kind = "epr"
        else:
            eq = body.find(" = measure ")
            if eq >= 0:
                kind = "measure"
                written = body[:eq].strip()
            else:
                sp = body.find(" ")
                par = body.find("(")
                kind = body[:sp if par < 0 or sp < par else par]
        # step
        s = 0
        for a in refs:
            v = last.get(a, 0)
            if v > s:
                s = v
        if written is not None:
            v = last.get(written, 0)
            if v > s:
                s = v
        for b in reads:
            v = last.get(b, 0)
            if v > s:
                s = v
        s += 1
        for a in refs:
            last[a] = s
        for b in reads:
            last[b] = s
        q = qcache.get(refs[0])
        if q is None:
            q = _qpu_of(refs[0])
            qcache[refs[0]] = q
        if written is not None:
            last[written] = s
            old = writer.get(written)
            writer[written] = (q, 0 if old is None else old[1] + 1)
        # duration
        if kind == "epr":
            d = 0.0
            epr_steps.append(s)
        elif kind == "measure" or kind == "reset":
            d = durm[q]
        elif len(refs) >= 2:
            d = dswap[q] if kind == "swap" else dur2[q]
        else:
            d = dur1[q]
        if reads:
            remote = False
            for b in reads:
                w = writer.get(b)
                if w is not None and w[0] != q:
                    key = (b, w[1], q)
                    if key not in sent:
                        sent.add(key)
                        remote = True
            if remote:
                d += latency
                messages += 1
        if s >= len(D):
            D.append(d)
        elif d > D[s]:
            D[s] = d
    return _Parsed(D, epr_steps, messages)


@njit(cache=True)
def _records_kernel(records, table, latency):
    """Step durations, epr steps and remote feed-forwards from the emitter's statement records.

    ``table[qpu, cls]`` is the duration of a statement of class ``cls`` on ``qpu``; a record
    with its remote bit set adds ``latency``.  Same arithmetic as :func:`_parse` (one float add,
    then a max per step), so the durations are bit for bit the same.
    """
    n = records.shape[0]
    S = 0
    neprs = 0
    for j in range(n):
        r = records[j]
        st = r >> STEP_SHIFT
        if st > S:
            S = st
        if ((r >> 1) & 7) == CLS_EPR:
            neprs += 1
    D = np.zeros(S + 1)
    epr_steps = np.empty(neprs, dtype=np.int64)
    e = 0
    messages = 0
    for j in range(n):
        r = records[j]
        st = r >> STEP_SHIFT
        q = (r >> 4) & 0xFFFFF
        c = (r >> 1) & 7
        if c == CLS_EPR:
            epr_steps[e] = st
            e += 1
        d = table[q, c]
        if r & 1:
            d += latency
            messages += 1
        if d > D[st]:
            D[st] = d
    return D, epr_steps, messages


def _from_records(records, dur1, dur2, durm, dswap, latency: float) -> _Parsed:
    """:class:`_Parsed` from :attr:`Emission.records` (no text is read)."""
    k = len(dur1)
    table = np.zeros((k, 5))
    for q in range(k):
        table[q, CLS_EPR] = 0.0
        table[q, CLS_1Q] = dur1[q]
        table[q, CLS_2Q] = dur2[q]
        table[q, CLS_MR] = durm[q]
        table[q, CLS_SWAP] = dswap[q]
    D, epr_steps, messages = _records_kernel(np.asarray(records, dtype=np.int64), table,
                                             float(latency))
    return _Parsed(D, epr_steps, int(messages))


# ------------------------------------------------------------------------------ the sweep


@njit(cache=True)
def _prefix_sums(D):
    """``G[s] = D[1] + ... + D[s]``, summed left to right (``G[0] = 0``)."""
    G = np.zeros(D.shape[0])
    acc = 0.0
    for s in range(1, D.shape[0]):
        acc += D[s]
        G[s] = acc
    return G


@njit(cache=True)
def _sweep_kernel(S, D, G, launch, es, wait_order, ws, plink, prb, tau, lat, slots, mem, has_mem,
                  buffered):
    """One pass over the steps; returns (T_end, ready per pair, stall per link).

    Pairs are launched at their epr step ``es`` in the order ``launch`` (by step, then program
    order) and waited for at step ``ws`` in the order ``wait_order`` (by wait step, then launch
    order): at each step the latest ready pair the step waits for stalls it, the first such
    pair in that order being charged.
    """
    npairs = plink.shape[0]
    nlinks = tau.shape[0]
    T_end = np.zeros(S + 1)
    ready = np.zeros(npairs)
    link_free = np.zeros(nlinks)
    stall = np.zeros(nlinks)
    # the epr-time of the j-th pair launched on each link (buffered: slot reuse)
    per_link = np.zeros(nlinks + 1, dtype=np.int64)
    for p in range(npairs):
        per_link[plink[p] + 1] += 1
    for L in range(nlinks):
        per_link[L + 1] += per_link[L]
    takes = np.zeros(npairs)
    ntakes = np.zeros(nlinks, dtype=np.int64)
    t = 0.0
    li = 0
    wi = 0
    for s in range(1, S + 1):
        while li < npairs and es[launch[li]] == s:
            p = launch[li]
            li += 1
            L = plink[p]
            tl = tau[L]
            if buffered:
                B = slots[L]
                j = ntakes[L]
                if B <= 0:
                    lo = t
                elif j < B:
                    lo = 0.0
                else:
                    lo = takes[per_link[L] + j - B]
                    if t < lo:
                        lo = t
                lf = link_free[L]
                g = (lf if lf > lo else lo) + tl
                if has_mem[L]:
                    rb = prb[p]
                    est = t + (G[rb] - G[s - 1]) - mem[L]
                    cap = t + tl
                    bound = est if est < cap else cap
                    if bound > g:
                        g = bound
                takes[per_link[L] + j] = t
                ntakes[L] = j + 1
            else:
                lf = link_free[L]
                g = (lf if lf > t else t) + tl
            link_free[L] = g
            ready[p] = g + lat[L]
        end = t + D[s]
        base = end
        arg = -1
        while wi < npairs and ws[wait_order[wi]] <= s:
            p = wait_order[wi]
            wi += 1
            if ws[p] == s and ready[p] > end:
                end = ready[p]
                arg = p
        if arg >= 0:
            stall[plink[arg]] += end - base
        T_end[s] = end
        t = end
    return T_end, ready, stall


@njit(cache=True)
def _pair_waits(plink, prb, T_n, ready_n, T_b, ready_b, mem, has_mem, nl):
    """Per link: pairs, summed wait/memory (decay exponents), longest wait and pairs stored
    longer than the memory time, on demand and buffered (pairs in program order)."""
    count = np.zeros(nl, dtype=np.int64)
    decay_n = np.zeros(nl)
    decay_b = np.zeros(nl)
    maxw_n = np.zeros(nl)
    maxw_b = np.zeros(nl)
    viol_n = np.zeros(nl, dtype=np.int64)
    viol_b = np.zeros(nl, dtype=np.int64)
    for p in range(plink.shape[0]):
        L = plink[p]
        count[L] += 1
        rb = prb[p]
        wn = T_n[rb] - ready_n[p]
        if not wn > 0.0:
            wn = 0.0
        wb = T_b[rb] - ready_b[p]
        if not wb > 0.0:
            wb = 0.0
        if wn > maxw_n[L]:
            maxw_n[L] = wn
        if wb > maxw_b[L]:
            maxw_b[L] = wb
        if has_mem[L]:
            m = mem[L]
            decay_n[L] += wn / m
            decay_b[L] += wb / m
            if wn > m:
                viol_n[L] += 1
            if wb > m:
                viol_b[L] += 1
    return count, decay_n, decay_b, maxw_n, maxw_b, viol_n, viol_b


# ------------------------------------------------------------------------------ estimate


def _op_times(network):
    """Per QPU: (t_1q, t_2q, t_measure, swap, logical cycle or None) in seconds."""
    rows = []
    for q in network.qpus:
        du = q.durations()
        code = q.code_obj
        if code is None:
            rows.append((du["t_1q"], du["t_2q"], du["t_measure"], 3 * du["t_2q"], None))
            continue
        round_time = getattr(code, "round_time", None)
        if not callable(round_time):
            rt = qec.Code.round_time(code, du["t_1q"], du["t_2q"], du["t_measure"])
        else:
            rt = round_time(du["t_1q"], du["t_2q"], du["t_measure"])
        cyc = float(code.cycle_time_factor(q.distance)) * float(rt)
        rows.append((cyc, cyc, cyc, cyc, cyc))
    return rows


def _input_makespan(circuit, times) -> float:
    """Gate-only ASAP makespan of the input circuit with the slowest QPU's durations."""
    from ..ir import GATES, KIND_NQ
    t1 = max(r[0] for r in times)
    t2 = max(r[1] for r in times)
    tm = max(r[2] for r in times)
    names = [g.name for g in GATES]
    dur = np.array([tm if nm in ("measure", "reset") else (t2 if nq == 2 else t1)
                    for nm, nq in zip(names, KIND_NQ.tolist())], dtype=np.float64)
    cptr = np.zeros(len(circuit.conditions) + 1, dtype=np.int64)
    cbits: list[int] = []
    for c, cond in enumerate(circuit.conditions):
        cbits.extend(int(b) for b in cond.clbits)
        cptr[c + 1] = len(cbits)
    nbits = max([circuit.num_clbits, 0] + [b + 1 for b in cbits]
                + ([int(circuit.clbit.max()) + 1] if circuit.clbit.size else []))
    return float(_input_makespan_kernel(circuit.kind.astype(np.int64), circuit.qptr,
                                        circuit.qargs, circuit.clbit, circuit.cond, cptr,
                                        np.array(cbits, dtype=np.int64), circuit.num_qubits,
                                        nbits, dur))


@njit(cache=True)
def _input_makespan_kernel(kind, qptr, qargs, clbit, cond, cptr, cbits, n, nbits, dur):
    """ASAP layers of the input over its qubits and classical bits (written or read); the sum
    of each layer's longest duration."""
    steps_q = np.zeros(n, dtype=np.int64)
    steps_c = np.zeros(nbits, dtype=np.int64)
    D = np.zeros(kind.shape[0] + 1)
    S = 0
    for i in range(kind.shape[0]):
        s = 0
        for j in range(qptr[i], qptr[i + 1]):
            if steps_q[qargs[j]] > s:
                s = steps_q[qargs[j]]
        if clbit[i] >= 0 and steps_c[clbit[i]] > s:
            s = steps_c[clbit[i]]
        c = cond[i]
        if c >= 0:
            for j in range(cptr[c], cptr[c + 1]):
                if steps_c[cbits[j]] > s:
                    s = steps_c[cbits[j]]
        s += 1
        for j in range(qptr[i], qptr[i + 1]):
            steps_q[qargs[j]] = s
        if clbit[i] >= 0:
            steps_c[clbit[i]] = s
        if c >= 0:
            for j in range(cptr[c], cptr[c + 1]):
                steps_c[cbits[j]] = s
        d = dur[kind[i]]
        if d > D[s]:
            D[s] = d
        if s > S:
            S = s
    total = 0.0
    for s in range(S + 1):
        total += D[s]
    return total


_MISSING = -(1 << 62)


def _pair_columns(emission):
    """``(head, npairs, qpus[0], qpus[1], epr_step, ready_by, id_of)`` of the schedule's pairs,
    as int64 arrays: from the columns of :attr:`Emission.schedule_data` when the schedule was
    never built as objects, else from :attr:`Emission.schedule` (``ready_by`` missing:
    ``_MISSING``)."""
    data = getattr(emission, "schedule_data", None)
    if data is not None and getattr(emission, "_schedule", None) is None:
        t = data.pairs

        def col(a):
            return np.array(a, dtype=np.int64) if len(a) else np.zeros(0, dtype=np.int64)
        return (data.head, len(t), col(t.qa), col(t.qb), col(t.epr), col(t.ready),
                lambda j: f"e{j}")
    sched = emission.schedule
    pairs = sched.get("pairs", [])
    n = len(pairs)
    qa = np.fromiter((p["qpus"][0] for p in pairs), dtype=np.int64, count=n)
    qb = np.fromiter((p["qpus"][1] for p in pairs), dtype=np.int64, count=n)
    es = np.fromiter((p["epr_step"] for p in pairs), dtype=np.int64, count=n)
    rb = np.fromiter((p.get("ready_by", _MISSING) for p in pairs), dtype=np.int64, count=n)
    return sched, n, qa, qb, es, rb, lambda j: pairs[j]["id"]


def estimate(emission, network, circuit=None, distill_rounds: int = 0, *,
             classical_latency_s: float = DEFAULT_CLASSICAL_LATENCY_S,
             buffer_slots: int | None = None) -> TimingReport:
    """Makespans (on demand and buffered), per-link load and fidelity of an emitted program.

    Parameters
    ----------
    emission : araqne.backend.Emission
        The emitted programs (``schedule`` and ``distributed_qasm`` are read, not re-emitted).
    network : Network
        The cluster they were emitted for (durations, codes, link rate/fidelity/memory).
    circuit : Circuit, optional
        The input circuit, for ``input_makespan_s`` (a single-QPU reference).
    distill_rounds : int
        BBPSSW rounds per e-bit (``2**rounds`` raw pairs each).
    classical_latency_s : float
        Latency of one classical message between QPUs (default 1 us, one data centre).
    buffer_slots : int, optional
        Pairs each link may hold ahead of the program; default from the spare communication
        qubits (see the module docstring).

    Returns
    -------
    TimingReport

    Raises
    ------
    ValueError
        Bad arguments, or a schedule that does not match ``distributed.qasm``.
    """
    if isinstance(distill_rounds, bool) or int(distill_rounds) != distill_rounds \
            or distill_rounds < 0:
        raise ValueError(f"distill_rounds must be a non-negative integer (got {distill_rounds!r})")
    distill_rounds = int(distill_rounds)
    latency = float(classical_latency_s)
    if not latency >= 0:
        raise ValueError(f"classical_latency_s must be >= 0 (got {classical_latency_s!r})")
    if buffer_slots is not None and (isinstance(buffer_slots, bool) or int(buffer_slots) < 0):
        raise ValueError(f"buffer_slots must be a non-negative integer (got {buffer_slots!r})")
    sched, npairs, qa, qb, sched_es, prb_given, pair_id = _pair_columns(emission)
    k = network.k
    times = _op_times(network)
    dur1 = [r[0] for r in times]
    dur2 = [r[1] for r in times]
    durm = [r[2] for r in times]
    dswap = [r[3] for r in times]
    records = getattr(emission, "records", None)
    if records is not None:
        parsed = _from_records(records, dur1, dur2, durm, dswap, latency)
    else:  # an Emission built by hand: read the text
        parsed = _parse(emission.distributed_qasm, dur1, dur2, durm, dswap, latency)
    D = np.asarray(parsed.D, dtype=np.float64)
    S = len(D) - 1
    if S != int(sched.get("num_steps", S)) or len(parsed.epr_steps) != npairs:
        raise ValueError(f"schedule ({sched.get('num_steps')} steps, {npairs} pairs) does not "
                         f"match distributed.qasm ({S} steps, {len(parsed.epr_steps)} epr)")
    G = _prefix_sums(D)
    gates_only = float(G[S])

    # per pair: link (numbered in "i-j" order), ready_by, epr step
    es = np.asarray(parsed.epr_steps, dtype=np.int64)
    bad = np.nonzero(sched_es != es)[0]
    if bad.size:
        j = int(bad[0])
        raise ValueError(f"pair {pair_id(j)}: schedule epr_step {int(sched_es[j])} but "
                         f"distributed.qasm puts it at step {int(es[j])}")
    prb = np.where(prb_given == _MISSING, es, prb_given)
    lo = np.minimum(qa, qb)
    hi = np.maximum(qa, qb)
    uniq, plink = np.unique(lo * k + hi, return_inverse=True)
    plink = plink.reshape(-1).astype(np.int64)
    keys = [(int(u) // k, int(u) % k) for u in uniq.tolist()]
    link_index = {kv: L for L, kv in enumerate(keys)}
    order = list(range(len(keys)))

    nl = len(link_index)
    tau = [0.0] * nl
    lat = [0.0] * nl
    slots = [0] * nl
    mem: list[float | None] = [None] * nl
    info = [None] * nl
    peak = list(getattr(emission, "peak_comm", None) or sched.get("comm_peak") or [0] * k)
    comm = [int(q.comm_qubits) for q in network.qpus]
    deg = [0] * k
    for a, b in link_index:
        deg[a] += 1
        deg[b] += 1
    mult = 1 << distill_rounds
    for (a, b), L in link_index.items():
        link = network.link(a, b)
        rate = None if link is None else link.rate_hz
        fid = None if link is None else link.fidelity
        memory = None if link is None else link.memory_s
        bp = int(network.physical_bell_pairs_per_ebit(a, b))
        raw = bp * mult
        tau[L] = 0.0 if rate is None else raw / float(rate)
        if distill_rounds:
            per_round = max(durm[a] + dur2[a], durm[b] + dur2[b]) + latency
            lat[L] = distill_rounds * per_round
        if buffer_slots is not None:
            slots[L] = int(buffer_slots)
        else:
            spare = [max(comm[x] - int(peak[x] if x < len(peak) else 0), 0) // deg[x]
                     for x in (a, b)]
            slots[L] = min(spare)
        mem[L] = None if memory is None else float(memory)
        f_e, expected = distill(1.0 if fid is None else float(fid), distill_rounds)
        info[L] = (rate, fid, memory, bp, raw, f_e, expected * bp)

    launch = np.argsort(es, kind="stable")              # by epr step, then program order
    wait_b = np.maximum(prb, es)                        # buffered: wait at first use
    wait_order_b = launch[np.argsort(wait_b[launch], kind="stable")]
    tau_a = np.array(tau, dtype=np.float64)
    lat_a = np.array(lat, dtype=np.float64)
    slots_a = np.array(slots, dtype=np.int64)
    has_mem = np.array([m is not None for m in mem], dtype=np.bool_)
    mem_a = np.array([0.0 if m is None else m for m in mem], dtype=np.float64)
    T_n, ready_n, stall_n = _sweep_kernel(S, D, G, launch, es, launch, es, plink, prb, tau_a,
                                          lat_a, slots_a, mem_a, has_mem, False)
    T_b, ready_b, stall_b = _sweep_kernel(S, D, G, launch, es, wait_order_b, wait_b, plink, prb,
                                          tau_a, lat_a, slots_a, mem_a, has_mem, True)
    makespan_n = float(T_n[S]) if S else 0.0
    makespan_b = float(T_b[S]) if S else 0.0
    stall_n = stall_n.tolist()
    stall_b = stall_b.tolist()

    # memory and per-link counts (one pass over the pairs)
    count, decay_n, decay_b, maxw_n, maxw_b, viol_n, viol_b = (
        a.tolist() for a in _pair_waits(plink, prb, T_n, ready_n, T_b, ready_b, mem_a, has_mem,
                                        nl))

    per_link: dict[str, LinkTiming] = {}
    log_f = 0.0
    zero = False
    mdec_n = 0.0
    mdec_b = 0.0
    physical = 0
    raw_total = 0
    names = [q.name for q in network.qpus]
    for (a, b), L in zip(keys, order):
        rate, fid, memory, bp, raw, f_e, expected = info[L]
        n = count[L]
        coded = bp > 1
        if not coded:
            if f_e <= 0:
                zero = zero or n > 0
            elif n:
                log_f += n * math.log(f_e)
            mdec_n += decay_n[L]
            mdec_b += decay_b[L]
        gen = n * tau[L]
        physical += n * bp
        raw_total += n * raw
        per_link[f"{a}-{b}"] = LinkTiming(
            link=f"{a}-{b}", between=[names[a], names[b]], ebits=n,
            physical_pairs_per_ebit=bp, raw_pairs_per_ebit=raw, raw_pairs=n * raw,
            expected_raw_pairs=n * expected, rate_hz=rate, fidelity=fid, memory_s=memory,
            ebit_fidelity=f_e, pair_time_s=tau[L], generation_time_s=gen,
            busy_fraction=gen / makespan_n if makespan_n > 0 else 0.0,
            busy_fraction_buffered=gen / makespan_b if makespan_b > 0 else 0.0,
            required_rate_hz=(n * raw / gates_only) if gates_only > 0 else None,
            stall_s=stall_n[L], stall_buffered_s=stall_b[L], keeps_up=stall_b[L] <= 0.0,
            buffer_slots=slots[L], max_wait_s=maxw_n[L], max_wait_buffered_s=maxw_b[L],
            memory_violations=viol_n[L] if not coded else 0,
            memory_violations_buffered=viol_b[L] if not coded else 0,
            coded=coded,
            below_seam_threshold=(1.0 - f_e < SEAM_THRESHOLD) if coded else None)

    best = None
    best_key = (0.0, 0.0, 0.0)
    for name, lt in per_link.items():
        kv = (lt.stall_buffered_s, lt.stall_s, lt.generation_time_s)
        if kv > best_key:
            best, best_key = name, kv

    fidelity = 0.0 if zero else math.exp(log_f)
    log10 = -math.inf if zero else log_f / math.log(10.0)
    mf_n = math.exp(-mdec_n)
    mf_b = math.exp(-mdec_b)
    qpus = [{"name": q.name, "t_1q": q.durations()["t_1q"], "t_2q": q.durations()["t_2q"],
             "t_measure": q.durations()["t_measure"], "logical_cycle_s": times[i][4]}
            for i, q in enumerate(network.qpus)]
    return TimingReport(
        makespan_s=makespan_n, makespan_buffered_s=makespan_b, makespan_gates_s=gates_only,
        num_steps=S, ebits=npairs, physical_bell_pairs=physical, raw_bell_pairs=raw_total,
        distill_rounds=distill_rounds, classical_latency_s=latency,
        remote_feedforwards=parsed.messages, fidelity=fidelity, fidelity_log10=log10,
        memory_factor=mf_n, memory_factor_buffered=mf_b,
        fidelity_with_memory=fidelity * mf_n, fidelity_buffered=fidelity * mf_b,
        memory_violations=sum(lt.memory_violations for lt in per_link.values()),
        memory_violations_buffered=sum(lt.memory_violations_buffered
                                       for lt in per_link.values()),
        critical_link=best, stall_s=makespan_n - gates_only,
        stall_buffered_s=makespan_b - gates_only,
        input_makespan_s=None if circuit is None else _input_makespan(circuit, times),
        qpus=qpus, per_link=per_link)
