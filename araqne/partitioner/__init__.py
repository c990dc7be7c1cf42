"""Partition the packet hypergraph: METIS seeds, then numba refinement, within an effort budget.

:func:`partition_hypergraph` returns the qubit assignment and gate sides with the fewest e-bits
it found.  Each restart seeds (METIS with a new seed, or a perturbation of the best partition so
far), repairs capacity, then alternates k-way FM passes over qubit moves with gate placement
(greedy flips and the exact vertex cover of :mod:`.cover`) until neither improves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import InfeasibleError
from .bounds import km1_lower_bound
from .cover import optimal_sides
from .detach import detach, detach_refine
from .parallel import run_all
from .reduce import Reduction, reduce_hypergraph
from .refine import cost_of_counts, fm_pass, fm_pass_large, greedy_flips, pin_counts
from .seed import (fill_seed, graph_cut, linear_seed, metis_seed, random_seed,
                   repair_capacity)


@dataclass
class Partition:
    """A partition of the packet hypergraph.

    Attributes
    ----------
    part : ndarray of int64
        QPU of each qubit.
    side : ndarray of int64
        Side of each free gate (0: beside ``gate_qubits[g, 0]``, 1: beside the other).
    km1 : int
        Its objective: weighted connectivity-minus-one (e-bits on an all-to-all network), or
        the network cost when refined with a table.
    restarts : int
        Starts refined (fewer than the budget when one reached
        :func:`.bounds.km1_lower_bound` or when ``probed``).
    probed : bool
        The restarts stopped after the first batch because gates free to sit on any QPU
        already beat this side-only partition by :data:`DETACHED_PROBE` (only when asked,
        with ``detached_next``).
    """

    part: np.ndarray
    side: np.ndarray
    km1: int
    restarts: int = 0
    probed: bool = False

    def vertex_blocks(self, hg) -> np.ndarray:
        """QPU of every vertex (qubits then free gates)."""
        gq = hg.gate_qubits[np.arange(hg.num_gates), self.side] if hg.num_gates else \
            np.zeros(0, dtype=np.int64)
        return np.concatenate([self.part, self.part[gq]])


LARGE_PINS = 200_000
"""Above this many pins a hypergraph is *large*: one restart per unit of effort, no recursive
bisection seed, of the first seeds (linear, fill, METIS) only the one cutting the least
qubit-graph weight is refined, capacity repair moves qubits in batches, and refinement uses
:func:`.refine.fm_pass_large`."""

EAGER_PINS = 1_500
"""Up to this many pins, the FM passes of the side-only refinement update the gains of a
moved qubit's neighbours at once (exact FM order, :func:`.refine.fm_pass` with ``eager``);
above, a stale gain is noticed only when it reaches the top of the heap.  Eager gains cost a
recomputation for nearly every qubit after each move on dense circuits.  At 1,500 rather than
5,000 pins, the side-only stage of the 131 Mt-KaHyPar benchmark cases took 13.5 and 13.7 s of
CPU time instead of 16.0 and 17.0 s (one thread, alternated runs); the final km1 after the
detached search changed on 7 (4 better, 3 worse, the most cp_fraction_64 at k = 4, 401 to
414; none worse than Mt-KaHyPar).  Lazy gains everywhere save more but lose QAOA on 128 qubits
at k = 4 (1,024 pins): 64 against Mt-KaHyPar's 62."""

LARGE_MIN_PASS_GAIN = 1e-3
"""On large hypergraphs, refinement stops after a pass that improves the cost by less than
this fraction."""

LARGE_TOP_TARGETS = 2
"""On large hypergraphs, the targets per qubit whose gate flips are resolved (best bare
gains first)."""


def _gate_incidence(n: int, gate_qubits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the free gates beside each qubit (either operand), each gate once per qubit.

    A gate of :func:`_sub_hypergraph` whose other qubit lies outside the block has the same
    qubit twice; listed twice, a move of that qubit would carry the gate's pins twice.
    """
    from ..hypergraph import group_by
    g = np.arange(gate_qubits.shape[0], dtype=np.int64)
    second = gate_qubits[:, 1] != gate_qubits[:, 0]
    q = np.concatenate([gate_qubits[:, 0], gate_qubits[second, 1]]).astype(np.int64)
    return group_by(q, np.concatenate([g, g[second]]), n)


class _Refiner:
    """Holds the arrays of one hypergraph and runs refinement on (part, side) states."""

    def __init__(self, hg, capacities: np.ndarray, table: np.ndarray | None = None):
        self.hg = hg
        self.use_table = table is not None
        self.table = (np.zeros((1, 1), dtype=np.int64) if table is None
                      else np.ascontiguousarray(table, dtype=np.int64))
        self.n = hg.num_qubits
        self.k = int(capacities.shape[0])
        self.cap = capacities.astype(np.int64)
        self.qgptr, self.qglist = _gate_incidence(self.n, hg.gate_qubits)
        size = int(hg.epin.shape[0])
        self.eager = size <= EAGER_PINS
        self.large = size > LARGE_PINS
        self.max_stall = max(50, min(self.n // 4, 400)) if self.eager else 100

    def counts(self, part, side):
        hg = self.hg
        return pin_counts(self.n, self.k, hg.eptr, hg.epin, part, side, hg.gate_qubits)

    def loads(self, part):
        return np.bincount(part, weights=self.hg.vweight, minlength=self.k).astype(np.int64)

    def repair(self, part, side) -> bool:
        hg = self.hg
        load = self.loads(part)
        if np.all(load <= self.cap):
            return True  # nothing to move (pin counts cost a pass over every pin)
        cnt = self.counts(part, side)
        return bool(repair_capacity(self.n, self.k, part, side, hg.gate_qubits, hg.vptr,
                                    hg.vedge, self.qgptr, self.qglist, cnt, load, self.cap,
                                    hg.vweight, hg.eweight, hg.roots, self.table,
                                    self.use_table, self.large))

    def cost(self, part, cnt) -> int:
        """Objective of a state: km1, or the network cost when a table was given."""
        return int(cost_of_counts(cnt, self.k, self.hg.eweight, part, self.hg.roots, self.table,
                                  self.use_table))

    def place_gates(self, part, side) -> None:
        """Exact gate sides for km1 (vertex cover); on a general network kept only where the
        network cost does not get worse (the cover is exact for km1 only)."""
        best = optimal_sides(self.hg, part, self.k, side)
        if self.use_table:
            if self.cost(part, self.counts(part, best)) > self.cost(part,
                                                                  self.counts(part, side)):
                return
        side[:] = best

    def refine(self, part, side, rng) -> int:
        """Improve (part, side) in place until a fixed point; return the final cost."""
        hg = self.hg
        n, k = self.n, self.k
        tb, ut, roots = self.table, self.use_table, hg.roots
        self.place_gates(part, side)
        cnt = self.counts(part, side)
        best = self.cost(part, cnt)
        while True:
            load = self.loads(part)
            tiebreak = rng.permutation(n + 1)[:n].astype(np.int64)
            if self.large:
                fm_pass_large(n, k, part, side, hg.gate_qubits, hg.vptr, hg.vedge, self.qgptr,
                              self.qglist, cnt, load, self.cap, hg.vweight, hg.eweight,
                              tiebreak, self.max_stall, LARGE_TOP_TARGETS, roots, tb, ut)
            else:
                fm_pass(n, k, part, side, hg.gate_qubits, hg.eptr, hg.epin, hg.vptr, hg.vedge,
                        self.qgptr, self.qglist, cnt, load, self.cap, hg.vweight, hg.eweight,
                        tiebreak, self.max_stall, self.eager, roots, tb, ut)
            greedy_flips(n, k, part, side, hg.gate_qubits, hg.vptr, hg.vedge, cnt, hg.eweight,
                         100, roots, tb, ut)
            self.place_gates(part, side)
            cnt = self.counts(part, side)
            cur = self.cost(part, cnt)
            if cur >= best:
                return min(cur, best)
            if self.large and best - cur < LARGE_MIN_PASS_GAIN * best:
                return cur  # a pass costs seconds here: stop when it hardly pays
            best = cur


SMALL_PINS = 12_000
"""Hypergraphs of fewer pins get up to 16 times more restarts (``SMALL_PINS / pins``).  At
12,000 rather than 3,000, CZ-fraction 48 on 6 QPUs of 8 qubits (1,499 pins) falls from 232.6
to 230.6 e-bits (mean of 5), for 0.7 s more per circuit."""


def partition_hypergraph(hg, capacities: np.ndarray, seed: int = 0, effort: float = 1.0,
                         table: np.ndarray | None = None,
                         detached_next: bool = False, start_only: bool = False,
                         reduction: Reduction | None = None) -> Partition:
    """Find a low-e-bit partition of ``hg`` into QPUs of the given capacities.

    Parameters
    ----------
    hg : Hypergraph
        Packet hypergraph.
    capacities : ndarray of int64
        Capacity (in vertex-weight units) of each QPU.
    seed : int
        Random seed; equal seeds give equal partitions.
    effort : float
        Work budget: the number of restarts grows with it (1.0 is the default).  Below
        ``SMALL_PINS`` pins the restarts are multiplied by up to 16 (``SMALL_PINS / pins``):
        a restart there takes milliseconds, and more of them find better optima.
        Without a ``table`` the search runs on the exact reduction of ``hg``
        (:func:`.reduce.reduce_hypergraph`), so the pins counted are the reduced ones.
    table : ndarray of int64, shape (k, 2**k), optional
        Network cost of a hyperedge by (root QPU, bit set of its QPUs), e.g.
        :meth:`araqne.network.Network.steiner_table`: refinement then minimises e-bits over
        the links directly.  km1 (all-to-all) when omitted.
    detached_next : bool
        The caller goes on with :func:`.multilevel.detached_search` from the result (gates on
        any QPU, all-to-all): after the first batch of starts, the best is probed by
        :func:`.detach.detach` with flows, and when that beats it by more than
        :data:`DETACHED_PROBE` the remaining restarts are skipped (``probed``): the side-only
        model is then a poor proxy of the objective, and the detached search does the real
        work from any decent start.  Ignored with a ``table``.
    start_only : bool
        The caller needs no more than a start for :func:`.multilevel.detached_search` on an
        all-to-all network (the static km1 of the Mt-KaHyPar benchmark): the best of the
        linear, fill and METIS seeds after a few FM passes, and no side-only restart
        (:func:`seed_start`).  :func:`araqne.partition` keeps every
        restart, because its side-only result also competes under communication-qubit limits
        and seeds the teleportation search.  Ignored with a ``table``.
    reduction : Reduction, optional
        ``reduce_hypergraph(hg)`` when the caller has it already (the detached search's
        :attr:`.multilevel.FreshPartitions.reduction`), so that it is not computed twice;
        ignored with a ``table``.

    Returns
    -------
    Partition

    Raises
    ------
    InfeasibleError
        When the qubits do not fit in the total capacity.
    ValueError
        When ``reduction`` is not that of ``hg``.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    need = int(hg.vweight.sum())
    if need > int(capacities.sum()):
        raise InfeasibleError(
            f"the circuit needs {need} qubits but the cluster holds only "
            f"{int(capacities.sum())} ({k} QPUs)")
    if k == 1 or n == 0:
        return Partition(np.zeros(n, dtype=np.int64), np.zeros(hg.num_gates, dtype=np.int64), 0)
    if table is None:
        red = reduction if reduction is not None else reduce_hypergraph(hg)
        if red.original is not hg:
            raise ValueError("the reduction given is of another hypergraph")
        work = hg if red.trivial else red.hg
        if start_only:
            best = seed_start(work, capacities, seed)
        else:
            best = _search(work, capacities, seed, effort, None, detached_next)
        if red.trivial:
            return best
        return Partition(best.part, red.lift_side(best.side), best.km1, best.restarts,
                         best.probed)
    return _search(hg, capacities, seed, effort, table)


RESTART_BATCH = 2
"""Restarts refined side by side (:func:`.parallel.run_all`).  A fixed number, not the core
count, so that the partition depends on the seed alone: a perturbation starts from the best
partition of the batches before its own, whatever ran at the same time."""


DETACHED_PROBE = 0.2
"""With ``detached_next``, :func:`partition_hypergraph` stops restarting once gates free to
sit on any QPU (:func:`.detach.detach` of the best so far, FM then minimum cuts) cost less
than ``1 - DETACHED_PROBE`` times its side-only km1.  There the restarts polish a model the
detached search leaves far behind.  Over the 131 Mt-KaHyPar benchmark cases (one thread,
CPU time) the side-only stage took 15.7 s instead of 26.2 s, every final km1 unchanged; a
probe by FM alone took 21.4 s (the cuts are what reveal QFT's gates on third QPUs), and 0.1
instead of 0.2 made 4 final km1 worse by up to 0.7%.  It is also the point
(``1 / 0.8 = 1.25``) beyond which the side-only result is no second start of the
teleportation search (:data:`araqne.api.TELEPORT_SECOND_START`)."""


def _search(hg, capacities: np.ndarray, seed: int, effort: float,
            table: np.ndarray | None, detached_next: bool = False) -> Partition:
    """The restarts of :func:`partition_hypergraph` on ``hg`` as given.

    The starts are refined in batches of :data:`RESTART_BATCH` at once, each with its own
    random generator; the first best result (in start order) is kept.  With
    ``detached_next``, the probe of :data:`DETACHED_PROBE` runs after the first batch.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    rng = np.random.default_rng(seed)
    ref = _Refiner(hg, capacities, table)
    size = int(hg.epin.shape[0])
    # small hypergraphs are cheap to restart: spend the same work on more tries
    boost = min(16.0, max(1.0, SMALL_PINS / max(size, 1)))
    restarts = max(1, int(round(4 * effort * boost)))
    large = size > LARGE_PINS
    if large:
        restarts = max(1, int(round(effort)))
    # a partition at the lower bound is optimal: the remaining starts cannot beat it
    bound = km1_lower_bound(hg, capacities) if table is None else -1

    def refine_from(start, task_seed: int) -> Partition:
        task_rng = np.random.default_rng(task_seed)
        part = start(task_rng)
        side = np.zeros(hg.num_gates, dtype=np.int64)
        if not ref.repair(part, side):
            part = random_seed(n, capacities, task_rng)
        km1 = ref.refine(part, side, task_rng)
        return Partition(part, side, km1)

    # every start draws from the generator of its task: (rng) -> partition of the qubits
    starts: list = []
    if large:
        # a refinement pass costs seconds at this size: of the first seeds, refine only the
        # one that cuts the least weight of the qubit graph (METIS's own objective)
        graph = hg.qubit_graph()
        seeds = [linear_seed(n, capacities), fill_seed(n, capacities),
                 metis_seed(hg, capacities, int(rng.integers(1 << 30)), graph)]
        cuts = [graph_cut(graph, s) for s in seeds]
        del graph
        chosen = seeds[int(np.argmin(cuts))]
        starts.append(lambda g: chosen)
    else:
        starts.append(lambda g: linear_seed(n, capacities))
        starts.append(lambda g: fill_seed(n, capacities))
        if k > 2:
            starts.append(lambda g: bisection_seed(hg, capacities, int(g.integers(1 << 30)),
                                                   effort))
    for r in range(1 if large else 0, restarts):
        if r % 3 == 0:
            starts.append(lambda g: metis_seed(hg, capacities, int(g.integers(1 << 30))))
        elif r % 3 == 1:
            starts.append(None)  # a perturbation of the best partition so far
        else:
            starts.append(lambda g: random_seed(n, capacities, g))
    best: Partition | None = None
    ran = 0
    probed = False
    for i in range(0, len(starts), RESTART_BATCH):
        if best is not None and best.km1 <= bound:
            break
        if detached_next and i == RESTART_BATCH:
            _, loose = detach(hg, best.part, best.side, capacities, flows=True)
            if loose < (1 - DETACHED_PROBE) * best.km1:
                probed = True
                break
        tasks = []
        for start in starts[i:i + RESTART_BATCH]:
            if start is None:
                base = best.part if best is not None else None
                start = (lambda g, base=base: _perturb(base, capacities, g) if base is not None
                         else random_seed(n, capacities, g))
            tasks.append(partial(refine_from, start, int(rng.integers(1 << 62))))
        for result in run_all(tasks):
            ran += 1
            if best is None or result.km1 < best.km1:
                best = result
    best.restarts = ran
    best.probed = probed
    return best


SEED_PASSES = 1
"""Flat k-way FM passes (:func:`.detach.detach_refine`, free gates on any QPU) that rank the
seeds of :func:`seed_start`.  Unrefined, the fill seed of UCCSD-24 at k = 4 looks best (920
against METIS's 936) but the V-cycles cannot leave it (920 against 824 from METIS); after one
pass METIS leads (826 against 920; a second pass changes neither).  Alternated runs of the
131 Mt-KaHyPar benchmark cases (two threads, seeds 0 to 2): one pass instead of two took 0.97
of the wall time (0.95 above 20,000 pins), km1 sum 252,018 to 251,986 (11 runs better, 7
worse)."""


def seed_start(hg, capacities: np.ndarray, seed: int) -> Partition:
    """A start for :func:`.multilevel.detached_search` from the qubit seeds, each barely
    refined (``start_only``).

    The seeds are the linear, fill and METIS ones (METIS seeded from ``seed``), each brought
    within capacity (:func:`.seed.repair_capacity`) and refined by :data:`SEED_PASSES` flat
    FM passes with free gates on any QPU; the qubits of the first of the lowest km1 are the
    start, with the free gates on their optimal sides (:func:`.cover.optimal_sides`).  The
    search's V-cycles refine a start level by level, far more cheaply than the flat
    side-only passes of :func:`_search` from the same seeds, and end at about the same km1
    (see ``benchmarks/README.md``, "araqne against Mt-KaHyPar").

    Returns
    -------
    Partition
        Its ``km1`` is the side-only cost of the start, ``restarts`` the number of seeds
        that fit.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    caps = capacities.astype(np.int64)
    ref = _Refiner(hg, capacities)
    vweight = np.concatenate([hg.vweight, np.zeros(hg.num_gates, dtype=np.int64)])
    groups = np.zeros(vweight.shape[0], dtype=np.int64)
    metis = int(np.random.default_rng(seed).integers(1 << 30))
    seeds = (lambda: linear_seed(n, capacities), lambda: fill_seed(n, capacities),
             lambda: metis_seed(hg, capacities, metis))

    def ranked(make) -> tuple[np.ndarray, int] | None:
        part = make()
        side = np.zeros(hg.num_gates, dtype=np.int64)
        if not ref.repair(part, side):
            return None
        ref.place_gates(part, side)
        blocks = Partition(part, side, 0).vertex_blocks(hg)
        km1 = detach_refine(k, hg.eptr, hg.epin, hg.vptr, hg.vedge, hg.eweight, vweight, caps,
                            blocks, SEED_PASSES, max(100, blocks.shape[0] // 10), groups, 1,
                            True)
        return blocks[:n].copy(), km1

    fits = [r for r in run_all([partial(ranked, make) for make in seeds]) if r is not None]
    if not fits:  # the caller checked the total capacity: some seed always fits
        raise InfeasibleError("no qubit seed fits the capacities")
    best = min(fits, key=lambda r: r[1])[0]
    tried = len(fits)
    side = np.zeros(hg.num_gates, dtype=np.int64)
    ref.place_gates(best, side)
    return Partition(best, side, ref.cost(best, ref.counts(best, side)), tried)


def bisection_seed(hg, capacities: np.ndarray, seed: int, effort: float) -> np.ndarray:
    """Recursive bisection: split the QPUs in two groups, partition the qubits between the
    groups (refined bipartition), and recurse into each group on its sub-hypergraph.

    Hyperedges cut at one level are split into their parts on each side (cut-net splitting), so
    the km1 of the result is the sum of the bisections' costs.
    """
    n = hg.num_qubits
    k = int(capacities.shape[0])
    result = np.zeros(n, dtype=np.int64)

    def recurse(sub, qubits: np.ndarray, qpus: np.ndarray, seed: int) -> None:
        if qpus.shape[0] == 1 or qubits.shape[0] == 0:
            result[qubits] = qpus[0]
            return
        half = qpus.shape[0] // 2
        left, right = qpus[:half], qpus[half:]
        caps2 = np.array([capacities[left].sum(), capacities[right].sum()], dtype=np.int64)
        p2 = partition_hypergraph(sub, caps2, seed=seed, effort=effort / 4)
        side = p2.vertex_blocks(sub)
        for b, group in ((0, left), (1, right)):
            keep = np.flatnonzero(p2.part == b)
            recurse(_sub_hypergraph(sub, side, b, keep), qubits[keep], group, seed + 1 + b)

    recurse(hg, np.arange(n, dtype=np.int64), np.arange(k, dtype=np.int64), seed)
    return result


def _sub_hypergraph(hg, vblock: np.ndarray, b: int, keep: np.ndarray):
    """The part of ``hg`` on block ``b``: its qubits (renumbered as in ``keep``) and gates.

    A gate whose other qubit lies outside the block stays beside its qubit inside (both of its
    candidate qubits become that one); hyperedges keep their pins inside the block and are
    dropped when fewer than two remain.
    """
    from ..hypergraph import Hypergraph, incidence
    n = hg.num_qubits
    qmap = np.full(n, -1, dtype=np.int64)
    qmap[keep] = np.arange(keep.shape[0], dtype=np.int64)
    gates = np.flatnonzero(vblock[n:] == b)
    gq = qmap[hg.gate_qubits[gates]]
    gq = np.where(gq < 0, gq[:, ::-1], gq)
    n2 = keep.shape[0]
    vmap = np.full(hg.num_vertices, -1, dtype=np.int64)
    vmap[keep] = np.arange(n2, dtype=np.int64)
    vmap[n + gates] = n2 + np.arange(gates.shape[0], dtype=np.int64)
    sizes = np.diff(hg.eptr)
    e_of_pin = np.repeat(np.arange(hg.num_edges, dtype=np.int64), sizes)
    newv = vmap[hg.epin]
    inside = newv >= 0
    pe, pv = e_of_pin[inside], newv[inside]
    per_edge = np.bincount(pe, minlength=hg.num_edges)
    keep_e = np.flatnonzero(per_edge >= 2)
    emap = np.full(hg.num_edges, -1, dtype=np.int64)
    emap[keep_e] = np.arange(keep_e.shape[0], dtype=np.int64)
    ok = emap[pe] >= 0
    pe, pv = emap[pe[ok]], pv[ok]
    ne = keep_e.shape[0]
    nv = n2 + gates.shape[0]
    eptr, vptr, vedge = incidence(pe, pv, ne, nv)
    roots = qmap[hg.roots[keep_e]]
    return Hypergraph(num_qubits=n2, num_gates=int(gates.shape[0]), eptr=eptr, epin=pv,
                      vptr=vptr, vedge=vedge, eweight=hg.eweight[keep_e],
                      vweight=hg.vweight[keep], gate_qubits=gq,
                      gate_edges=np.where(hg.gate_edges[gates] >= 0,
                                          emap[np.maximum(hg.gate_edges[gates], 0)], -1),
                      op_anchor=np.zeros(0, dtype=np.int64), roots=roots,
                      espan=hg.espan[keep_e])


def _perturb(part: np.ndarray, capacities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swap random pairs of qubits, up to a quarter of them (capacity-neutral)."""
    part = part.copy()
    n = part.shape[0]
    swaps = int(rng.integers(1, max(2, n // 4 + 1)))
    for _ in range(swaps):
        a, b = rng.integers(n), rng.integers(n)
        part[a], part[b] = part[b], part[a]
    return part
