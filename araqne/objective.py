"""The reference objective: e-bits consumed by a distribution of a circuit.

This is the one definition every other part is tested against (the numba kernels, the
backend's count of emitted Bell pairs, the schedule).  It is deliberately plain Python, written
for clarity rather than speed.

The model (shared/DESIGN.md): each qubit lives on one QPU (``assignment``); each two-qubit gate
runs on one QPU (``gate_qpu``).  An operand whose role in the gate is ``ROLE_OTHER`` must be at
home, so the gate runs where that qubit lives.  An operand in a window (packet) is served, away
from home, by a linked copy of its qubit: one copy per window and per QPU, whatever the number of
gates it serves.  A window whose root lives on QPU ``r`` and whose gates run on QPUs ``S`` costs
the e-bits of the cheapest tree joining ``r`` to ``S`` over the network's links: ``|S - {r}|``
on an all-to-all network (the connectivity metric, lambda - 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from .ir import KIND_NQ, Circuit
from .network import Network
from .packets import Packets, find_windows


def window_qpus(circ: Circuit, assignment: Sequence[int], gate_qpu: Sequence[int],
                packets: Packets | None = None) -> list[set[int]]:
    """QPUs other than the root's home on which each window needs a linked copy.

    Parameters
    ----------
    circ : Circuit
        The circuit (IR).
    assignment : sequence of int
        QPU of every qubit.
    gate_qpu : sequence of int
        QPU on which every operation runs (read for two-qubit gates only).
    packets : Packets, optional
        Windows of ``circ`` (computed when omitted).

    Returns
    -------
    list of set of int
        For window ``w``, the QPUs where a copy of ``root[w]`` is needed.

    Raises
    ------
    ValueError
        When a gate runs away from an operand that cannot be copied (role other).
    """
    if packets is None:
        packets = find_windows(circ)
    need: list[set[int]] = [set() for _ in range(packets.num_windows)]
    for i in range(circ.num_ops):
        if KIND_NQ[circ.kind[i]] != 2:
            continue
        where = int(gate_qpu[i])
        for slot in range(int(circ.qptr[i]), int(circ.qptr[i + 1])):
            q = int(circ.qargs[slot])
            w = int(packets.slot_window[slot])
            if w < 0:
                if int(assignment[q]) != where:
                    raise ValueError(
                        f"operation {i} runs on QPU {where} but its qubit {q}, which it does "
                        f"not act on diagonally, lives on QPU {int(assignment[q])}")
            elif int(assignment[q]) != where:
                need[w].add(where)
    return need


def cost(circ: Circuit, assignment: Sequence[int], gate_qpu: Sequence[int],
         network: Network | None = None, packets: Packets | None = None,
         moves: Sequence | None = None) -> int:
    """E-bits consumed by running ``circ`` with this assignment and gate placement.

    Parameters
    ----------
    circ : Circuit
        The circuit (IR).
    assignment : sequence of int
        QPU of every qubit.
    gate_qpu : sequence of int
        QPU on which every operation runs (read for two-qubit gates only).
    network : Network, optional
        The cluster; all-to-all when omitted.  On a general network a window costs the
        Steiner tree joining its root's QPU to the QPUs it serves.
    packets : Packets, optional
        Windows of ``circ`` (computed when omitted).
    moves : sequence of (int, int, int, int), optional
        State teleportations ``(op_index, qubit, from_qpu, to_qpu)`` done right before
        operation ``op_index`` (``assignment`` is then the placement at the start).  On an
        all-to-all network a move *nested* in a window of its qubit (the window has a gate
        before ``op_index`` and one at or after it) costs nothing of its own: while the window
        lasts the qubit's state is spread over linked copies, so the window costs one e-bit
        per QPU it reaches besides the first (its root's QPUs over its span and the QPUs its
        gates run on); any other move costs one.  On a general network every move costs the
        hops of ``network.path`` and a window whose root moves is cut there, each piece
        needing its own copies from the root's QPU of the time.

    Returns
    -------
    int
        Total e-bits (logical).
    """
    if moves:
        return _cost_with_moves(circ, assignment, gate_qpu, network, packets, moves)
    need = window_qpus(circ, assignment, gate_qpu, packets)
    if packets is None:
        packets = find_windows(circ)
    general = network is not None and not network.all_to_all
    total = 0
    for w, targets in enumerate(need):
        if not targets:
            continue
        if general:
            home = int(assignment[int(packets.root[w])])
            total += int(network.steiner_cost(home, frozenset(targets)))
        else:
            total += len(targets)
    return total


def _cost_with_moves(circ: Circuit, assignment: Sequence[int], gate_qpu: Sequence[int],
                     network: Network | None, packets: Packets | None, moves: Sequence) -> int:
    """:func:`cost` of a placement that changes by state teleportation (plain Python)."""
    if packets is None:
        packets = find_windows(circ)
    general = network is not None and not network.all_to_all
    if not general:
        return _nested_cost(circ, assignment, gate_qpu, packets, moves)
    where = [int(a) for a in assignment]
    piece = [0] * circ.num_qubits  # moves of each qubit so far: its windows' piece number
    at_op: dict[int, list] = {}
    for op, q, a, b in moves:
        at_op.setdefault(int(op), []).append((int(q), int(a), int(b)))
    total = 0
    need: dict[tuple[int, int], set[int]] = {}
    home: dict[tuple[int, int], int] = {}

    def apply(op: int) -> int:
        hops = 0
        for q, a, b in at_op.get(op, ()):
            if where[q] != a:
                raise ValueError(f"move before operation {op}: qubit {q} is on QPU "
                                 f"{where[q]}, not {a}")
            hops += len(network.path(a, b)) - 1 if general else 1
            where[q] = b
            piece[q] += 1
        return hops

    for i in range(circ.num_ops):
        total += apply(i)
        if KIND_NQ[circ.kind[i]] != 2:
            continue
        at = int(gate_qpu[i])
        for slot in range(int(circ.qptr[i]), int(circ.qptr[i + 1])):
            q = int(circ.qargs[slot])
            w = int(packets.slot_window[slot])
            if w < 0:
                if where[q] != at:
                    raise ValueError(
                        f"operation {i} runs on QPU {at} but its qubit {q}, which it does "
                        f"not act on diagonally, is on QPU {where[q]}")
            else:
                key = (w, piece[q])
                home.setdefault(key, where[q])
                if where[q] != at:
                    need.setdefault(key, set()).add(at)
    total += apply(circ.num_ops)
    for key, targets in need.items():
        if general:
            total += int(network.steiner_cost(home[key], frozenset(targets)))
        else:
            total += len(targets)
    return total


def _nested_cost(circ: Circuit, assignment: Sequence[int], gate_qpu: Sequence[int],
                 packets: Packets, moves: Sequence) -> int:
    """:func:`cost` with moves on an all-to-all network (nested state teleportation).

    Walks the operations in order.  Window ``w`` reaches ``reach[w]``: its root's QPU at its
    first gate, every QPU its root is moved to while ``w`` is open (between its first and
    last two-qubit gate) and every QPU one of its gates runs on; it costs
    ``len(reach[w]) - 1``.  A move outside every window of its qubit costs one e-bit.
    """
    where = [int(a) for a in assignment]
    first = [int(f) for f in packets.first]
    last = [int(x) for x in packets.last]
    current = [-1] * circ.num_qubits  # window of each qubit's latest two-qubit gate
    reach: dict[int, set[int]] = {}
    at_op: dict[int, list] = {}
    for op, q, a, b in moves:
        at_op.setdefault(int(op), []).append((int(q), int(a), int(b)))
    total = 0

    def apply(op: int) -> int:
        paid = 0
        for q, a, b in at_op.get(op, ()):
            if where[q] != a:
                raise ValueError(f"move before operation {op}: qubit {q} is on QPU "
                                 f"{where[q]}, not {a}")
            w = current[q]
            if a != b:
                if w >= 0 and first[w] < op <= last[w]:
                    reach[w].add(b)   # nested: the window's copies carry the state
                else:
                    paid += 1
            where[q] = b
        return paid

    for i in range(circ.num_ops):
        total += apply(i)
        if KIND_NQ[circ.kind[i]] != 2:
            continue
        at = int(gate_qpu[i])
        for slot in range(int(circ.qptr[i]), int(circ.qptr[i + 1])):
            q = int(circ.qargs[slot])
            w = int(packets.slot_window[slot])
            if w < 0:
                if where[q] != at:
                    raise ValueError(
                        f"operation {i} runs on QPU {at} but its qubit {q}, which it does "
                        f"not act on diagonally, is on QPU {where[q]}")
                continue
            current[q] = w
            reach.setdefault(w, {where[q]}).add(at)
    total += apply(circ.num_ops)
    return total + sum(len(r) - 1 for r in reach.values())
