"""The cluster: QPUs, the links between them, hop distances and Steiner costs.

A :class:`Network` answers what the partitioner and backend ask of the hardware: how many logical
data qubits each QPU holds (``capacities``), how many communication qubits (``comm``), which pairs
are linked and how many e-bits a Bell pair between two QPUs costs (``distances``, in hops), what a
packet spanning several QPUs costs (``steiner_cost``, a Steiner tree in the link graph, since each
hop of entanglement swapping consumes one e-bit), and how many physical Bell pairs one logical
e-bit takes where QPUs run a QEC code (``physical_bell_pairs_per_ebit``).

Networks are built from flags (:meth:`Network.uniform`) or read from a TOML or JSON file
(:meth:`Network.from_file`); the format is described there.  Timing and fidelity data (gate
durations per modality, link rate, fidelity and memory time) are carried here for the timing model
but not used by the cost model.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from . import qec
from .errors import InfeasibleError, InputError, UsageError

TOPOLOGIES = ("all", "line", "ring", "star", "grid")
"""Topologies :meth:`Network.uniform` builds."""

COUPLINGS = ("all-to-all", "line", "grid", "heavy-hex")
"""Named intra-QPU coupling maps a network file may give (else an explicit edge list)."""

BRIDGES = {
    "lattice-surgery": (
        "coded QPUs with different codes or distances are linked by lattice surgery across a "
        "seam; one logical e-bit costs the larger of the two ends' Bell-pair counts "
        "(the seam must protect to the stronger end's distance)"),
    "injection": (
        "as lattice-surgery, and an uncoded QPU may link to a coded one: its Bell-pair half is "
        "injected into a fresh code block on the coded side, so a logical e-bit costs 1 physical "
        "Bell pair but is only as good as the physical pair (not fault-tolerant)"),
}
"""How coded and uncoded QPUs (or different codes/distances) are bridged, by file name."""

# Default gate and measurement durations (seconds) by modality.  Orders of magnitude from
# published hardware, meant for a first timing estimate, not for any particular device:
# - superconducting: ~25-50 ns single-qubit, ~50-500 ns two-qubit, ~0.5-4 us readout
#   (Krantz et al., "A quantum engineer's guide to superconducting qubits", Appl. Phys. Rev. 6,
#   021318 (2019); Arute et al., Nature 574, 505 (2019)).
# - trapped-ion: ~1-10 us single-qubit, ~100-250 us Molmer-Sorensen gates, ~100-300 us
#   fluorescence detection (Bruzewicz et al., "Trapped-ion quantum computing: progress and
#   challenges", Appl. Phys. Rev. 6, 021314 (2019)).
# - neutral-atom: ~0.5-1 us single-qubit, ~250 ns Rydberg CZ, ~0.5-10 ms imaging readout
#   (Evered et al., Nature 622, 268 (2023); Bluvstein et al., Nature 626, 58 (2024)).
# - photonic: linear-optical operations and fusions at GHz-scale clock rates, ~10 ns detection
#   with superconducting nanowire detectors (Bartolucci et al., "Fusion-based quantum
#   computation", Nat. Commun. 14, 912 (2023); Rudolph, APL Photonics 2, 030901 (2017)).
MODALITY_DURATIONS: dict[str, dict[str, float]] = {
    "superconducting": {"t_1q": 5e-8, "t_2q": 3e-7, "t_measure": 1e-6},
    "trapped-ion": {"t_1q": 1e-5, "t_2q": 2e-4, "t_measure": 3e-4},
    "neutral-atom": {"t_1q": 1e-6, "t_2q": 2.5e-7, "t_measure": 1e-3},
    "photonic": {"t_1q": 1e-9, "t_2q": 1e-8, "t_measure": 1e-8},
}
"""Per-modality default durations (seconds) of ``t_1q``, ``t_2q``, ``t_measure``."""

GENERIC_DURATIONS = dict(MODALITY_DURATIONS["superconducting"])
"""Durations used when a QPU names no (or an unrecognised) modality."""

_MODALITY_ALIASES = {
    "superconducting": "superconducting", "superconductor": "superconducting",
    "transmon": "superconducting", "sc": "superconducting",
    "trapped-ion": "trapped-ion", "trapped-ions": "trapped-ion", "ion": "trapped-ion",
    "ions": "trapped-ion", "ion-trap": "trapped-ion",
    "neutral-atom": "neutral-atom", "neutral-atoms": "neutral-atom", "rydberg": "neutral-atom",
    "atom": "neutral-atom", "atoms": "neutral-atom",
    "photonic": "photonic", "photon": "photonic", "photons": "photonic", "optical": "photonic",
}

TABLE_MAX_K = 12
"""Largest QPU count for which :meth:`Network.steiner_table` is built (a k x 2**k table)."""

EXACT_MAX_TERMINALS = 12
"""Largest terminal count (root plus targets) solved exactly by Dreyfus-Wagner when k exceeds
:data:`TABLE_MAX_K`; larger sets use a 2-approximation."""


@dataclass
class QPU:
    """One quantum processing unit.

    Attributes
    ----------
    name : str
        Unique name; QPU ``i`` in every output is the ``i``-th QPU of the network.
    qubits : int
        Data qubits (excluding communication qubits); physical qubits when ``code`` is set.
    comm_qubits : int
        Communication qubits, which hold linked copies and teleported qubits in flight.  When a
        code is set these are logical communication slots (each a code block on the hardware),
        since a linked copy of a logical qubit is itself logical.
    modality : str or None
        Free-text hardware modality; recognised names (see :data:`MODALITY_DURATIONS`) set the
        default gate durations.
    code : str or None
        Name of the QEC code in :data:`araqne.qec.CODES`, or ``None`` for bare physical qubits.
    distance : int or None
        Code distance (required with ``code``).
    coupling : str, list of (int, int), or None
        Intra-QPU coupling of the data qubits: one of :data:`COUPLINGS` or an edge list;
        ``None`` means all-to-all.
    t_1q, t_2q, t_measure : float or None
        Duration overrides in seconds; ``None`` takes the modality default.
    """

    name: str
    qubits: int
    comm_qubits: int = 2
    modality: str | None = None
    code: str | None = None
    distance: int | None = None
    coupling: str | list | None = None
    t_1q: float | None = None
    t_2q: float | None = None
    t_measure: float | None = None

    @property
    def code_obj(self) -> qec.Code | None:
        """The :class:`araqne.qec.Code` of this QPU, or ``None`` when uncoded."""
        return None if self.code is None else qec.get_code(self.code)

    @property
    def block_size(self) -> int:
        """Physical qubits per logical qubit (1 when uncoded)."""
        code = self.code_obj
        return 1 if code is None else int(code.block_size(self.distance))

    @property
    def logical_qubits(self) -> int:
        """Logical data qubits: ``floor(qubits / block_size)``, or ``qubits`` when uncoded."""
        return self.qubits // self.block_size

    @property
    def modality_key(self) -> str | None:
        """The recognised modality (a key of :data:`MODALITY_DURATIONS`), or ``None``."""
        if not self.modality:
            return None
        norm = re.sub(r"[\s_]+", "-", self.modality.strip().lower())
        return _MODALITY_ALIASES.get(norm)

    def durations(self) -> dict[str, float]:
        """Gate and measurement durations in seconds: ``{"t_1q", "t_2q", "t_measure"}``.

        Modality defaults (or :data:`GENERIC_DURATIONS`) with this QPU's overrides applied.
        """
        out = dict(MODALITY_DURATIONS.get(self.modality_key or "", GENERIC_DURATIONS))
        for key in ("t_1q", "t_2q", "t_measure"):
            value = getattr(self, key)
            if value is not None:
                out[key] = float(value)
        return out

    def coupling_edges(self) -> list[tuple[int, int]] | None:
        """Edges between this QPU's (physical) data qubits, or ``None`` for all-to-all.

        ``line`` chains the qubits, ``grid`` lays them row-major on a ``ceil(sqrt(n))``-wide grid,
        ``heavy-hex`` takes the first ``n`` qubits, in breadth-first order, of the smallest
        Qiskit heavy-hex lattice that holds them (so the result is connected).
        """
        n = self.qubits
        c = self.coupling
        if c is None or c == "all-to-all":
            return None
        if c == "line":
            return [(i, i + 1) for i in range(n - 1)]
        if c == "grid":
            cols = int(math.ceil(math.sqrt(n)))
            edges = []
            for i in range(n):
                if (i % cols) + 1 < cols and i + 1 < n:
                    edges.append((i, i + 1))
                if i + cols < n:
                    edges.append((i, i + cols))
            return edges
        if c == "heavy-hex":
            return _heavy_hex(n)
        if isinstance(c, str):
            raise InputError(f"qpu {self.name!r}: unknown coupling {c!r}")
        return [(int(a), int(b)) for a, b in c]


@dataclass
class Link:
    """A photonic link between two QPUs (indices into ``Network.qpus``).

    Attributes
    ----------
    a, b : int
        The two QPUs.
    rate_hz : float or None
        Bell-pair generation rate (pairs per second); ``None`` means unlimited (pairs are ready
        whenever needed).
    fidelity : float or None
        Fidelity of a generated Bell pair, in (0, 1]; ``None`` means ideal (1.0).
    memory_s : float or None
        How long a quantum memory stores a Bell-pair half (seconds); ``None`` means unlimited.
    """

    a: int
    b: int
    rate_hz: float | None = None
    fidelity: float | None = None
    memory_s: float | None = None


@dataclass
class Network:
    """QPUs and the links between them.

    An empty ``links`` list means all-to-all.  Graph answers (distances, paths, Steiner trees) are
    cached and recomputed when the QPU count or the link list changes.

    Attributes
    ----------
    qpus : list of QPU
    links : list of Link
    bridge : str or None
        How QPUs with different codes (or coded and uncoded QPUs) are linked: a key of
        :data:`BRIDGES`; required when the cluster mixes them.
    """

    qpus: list[QPU]
    links: list[Link] = field(default_factory=list)
    bridge: str | None = None
    _graph: Any = field(default=None, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def uniform(cls, qpus: int, capacity: int, comm_qubits: int = 2,
                topology: str = "all", *, code: str | None = None,
                distance: int | None = None) -> "Network":
        """``qpus`` identical QPUs of ``capacity`` data qubits joined in ``topology``.

        With ``code`` (and ``distance``), ``capacity`` counts physical qubits and every QPU runs
        that code, so ``capacities()`` reports ``capacity // block_size``.
        """
        if qpus < 1:
            raise UsageError(f"--qpus must be at least 1 (got {qpus})")
        if capacity < 1:
            raise UsageError(f"--capacity must be at least 1 (got {capacity})")
        if comm_qubits < 0:
            raise UsageError(f"--comm-qubits must be at least 0 (got {comm_qubits})")
        if topology not in TOPOLOGIES:
            raise UsageError(f"--topology must be one of {', '.join(TOPOLOGIES)} (got {topology!r})")
        if code is not None:
            try:
                code_obj = qec.get_code(code)
            except InputError as err:
                raise UsageError(f"--code: {err}") from None
            if distance is None:
                raise UsageError(f"--distance is required with --code {code}")
            why = qec.check_distance(code_obj, distance)
            if why:
                raise UsageError(f"--distance: {why}")
            block = code_obj.block_size(distance)
            if capacity < block:
                raise UsageError(f"--capacity {capacity} is smaller than one {code}-code block "
                                 f"of distance {distance} ({block} physical qubits)")
        elif distance is not None:
            raise UsageError("--distance needs --code")
        nodes = [QPU(f"qpu{i}", capacity, comm_qubits, code=code, distance=distance)
                 for i in range(qpus)]
        links: list[Link] = []
        if topology == "line" or topology == "ring":
            links = [Link(i, i + 1) for i in range(qpus - 1)]
            if topology == "ring" and qpus > 2:
                links.append(Link(qpus - 1, 0))
        elif topology == "star":
            links = [Link(0, i) for i in range(1, qpus)]
        elif topology == "grid":
            cols = int(np.ceil(np.sqrt(qpus)))
            for i in range(qpus):
                r, c = divmod(i, cols)
                if c + 1 < cols and i + 1 < qpus:
                    links.append(Link(i, i + 1))
                if i + cols < qpus:
                    links.append(Link(i, i + cols))
        return cls(nodes, links)

    @classmethod
    def from_file(cls, path: str | Path) -> "Network":
        """Read a network from a TOML or JSON file.

        The format (JSON uses the same keys, with ``"qpu"`` and ``"link"`` arrays of objects)::

            bridge = "lattice-surgery"   # optional, or a [bridge] table with kind = "..."

            [[qpu]]
            name = "a"            # required, unique; QPU i is the i-th [[qpu]]
            qubits = 40           # required; data qubits (physical when a code is set)
            comm_qubits = 2       # default 2
            modality = "neutral-atom"   # optional free text; sets default durations
            code = "surface"      # optional, a key of araqne.qec.CODES
            distance = 5          # required with code
            coupling = "line"     # optional: all-to-all, line, grid, heavy-hex or [[0, 1], ...]
            t_1q = 1e-6           # optional duration overrides (seconds): t_1q, t_2q, t_measure

            [[link]]
            between = ["a", "b"]  # required
            rate_hz = 1.0e5       # optional Bell-pair rate (default unlimited)
            fidelity = 0.95       # optional, in (0, 1] (default 1)
            memory_s = 1.0e-3     # optional memory time (default unlimited)

        No ``[[link]]`` means all-to-all.  The format is chosen by the suffix (``.toml`` or
        ``.json``), else by whether the text starts with ``{``.

        Raises
        ------
        InputError
            On any malformed or invalid content, with one line naming the file, the line (TOML;
            JSON syntax errors too), the table and the key.
        InfeasibleError
            When the link graph is disconnected (naming two QPUs with no path between them).
        """
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"{source}: network file is not UTF-8 text ({err.reason})") from None
        except OSError as err:
            raise InputError(f"{source}: cannot read network file: "
                             f"{err.strerror or err}") from None
        suffix = Path(path).suffix.lower()
        is_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
        if is_json:
            try:
                data = json.loads(text, object_pairs_hook=_json_object)
            except json.JSONDecodeError as err:
                raise InputError(f"{source}:{err.lineno}:{err.colno}: malformed JSON: "
                                 f"{err.msg}") from None
            except _DuplicateKey as err:
                line = _json_key_line(text, err.key)
                where = f"{source}:{line}" if line else source
                raise InputError(f"{where}: duplicate key {err.key!r}") from None
            return cls.from_dict(data, source)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            msg = str(err)
            m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", msg)
            if m:
                msg = msg[:m.start()]
                raise InputError(f"{source}:{m.group(1)}:{m.group(2)}: malformed TOML: "
                                 f"{msg}") from None
            m = re.search(r"\s*\(at end of document\)\s*$", msg)
            if m:
                line = text.count("\n") + 1
                raise InputError(f"{source}:{line}: malformed TOML: {msg[:m.start()]} "
                                 f"(at end of document)") from None
            raise InputError(f"{source}: malformed TOML: {msg}") from None
        return cls._from_data(data, source, text)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<network>") -> "Network":
        """Build a network from the parsed file structure (see :meth:`from_file`).

        ``source`` prefixes every error message.  Raises as :meth:`from_file`.
        """
        return cls._from_data(data, source, None)

    @classmethod
    def _from_data(cls, data: Any, source: str, toml_text: str | None) -> "Network":
        where = _Where(source, toml_text)
        if not isinstance(data, dict):
            raise InputError(f"{source}: the top level must be a table (got {_tname(data)})")
        _check_keys(data, _TOP_KEYS, where, None, None, "top-level")
        if "qpu" not in data:
            raise InputError(f"{where()}missing required key 'qpu' (at least one [[qpu]] table)")
        raw_qpus = data["qpu"]
        if not isinstance(raw_qpus, list) or not all(isinstance(q, dict) for q in raw_qpus):
            raise InputError(f"{where(None, None, 'qpu')}'qpu' must be an array of tables "
                             f"([[qpu]]) (got {_tname(raw_qpus)})")
        if not raw_qpus:
            raise InputError(f"{where(None, None, 'qpu')}'qpu' is empty: at least one QPU "
                             f"is required")
        qpus = []
        for i, entry in enumerate(raw_qpus):
            _check_entry(entry, _QPU_KEYS, where, "qpu", i)
            coupling = entry.get("coupling")
            if isinstance(coupling, list):
                coupling = [(a, b) for a, b in coupling]
            qpus.append(QPU(name=entry["name"], qubits=entry["qubits"],
                            comm_qubits=entry.get("comm_qubits", 2),
                            modality=entry.get("modality"), code=entry.get("code"),
                            distance=entry.get("distance"), coupling=coupling,
                            t_1q=entry.get("t_1q"), t_2q=entry.get("t_2q"),
                            t_measure=entry.get("t_measure")))
        _check_qpus(qpus, where)

        index = {q.name: i for i, q in enumerate(qpus)}
        raw_links = data.get("link", [])
        if not isinstance(raw_links, list) or not all(isinstance(x, dict) for x in raw_links):
            raise InputError(f"{where(None, None, 'link')}'link' must be an array of tables "
                             f"([[link]]) (got {_tname(raw_links)})")
        links = []
        for j, entry in enumerate(raw_links):
            _check_entry(entry, _LINK_KEYS, where, "link", j)
            ends = []
            for name in entry["between"]:
                if name not in index:
                    close = difflib.get_close_matches(name, list(index), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise InputError(f"{where('link', j, 'between')}'between' names unknown "
                                     f"QPU {name!r}{hint}")
                ends.append(index[name])
            links.append(Link(ends[0], ends[1], rate_hz=entry.get("rate_hz"),
                              fidelity=entry.get("fidelity"), memory_s=entry.get("memory_s")))

        bridge = data.get("bridge")
        bridge_at: tuple = (None, None, "bridge")
        if isinstance(bridge, dict):
            _check_entry(bridge, _BRIDGE_KEYS, where, "bridge", None)
            bridge = bridge["kind"]
            bridge_at = ("bridge", None, "kind")
        elif bridge is not None and not isinstance(bridge, str):
            raise InputError(f"{where(None, None, 'bridge')}'bridge' must be a string or a "
                             f"[bridge] table (got {_tname(bridge)})")
        net = cls(qpus, links, bridge)
        _check_links(net, where)
        _check_cluster(net, where, bridge_at)
        return net

    def validate(self, source: str = "<network>") -> None:
        """Check a programmatically built network as :meth:`from_file` checks a file.

        Raises
        ------
        InputError
            On invalid values (capacities, codes, links, bridge), naming ``qpu[i]``/``link[j]``.
        InfeasibleError
            When the link graph is disconnected.
        """
        where = _Where(source, None)
        for j, link in enumerate(self.links):
            for end in (link.a, link.b):
                if isinstance(end, bool) or not isinstance(end, (int, np.integer)) \
                        or not 0 <= end < self.k:
                    raise InputError(f"{where('link', j)}QPU index {end!r} is out of range "
                                     f"0..{self.k - 1}")
        _check_qpus(self.qpus, where)
        _check_links(self, where)
        _check_cluster(self, where, (None, None, "bridge"))

    def to_dict(self) -> dict:
        """The file structure of this network (inverse of :meth:`from_dict`; JSON-ready)."""
        qpus = []
        for q in self.qpus:
            entry: dict[str, Any] = {"name": q.name, "qubits": q.qubits,
                                     "comm_qubits": q.comm_qubits}
            for key in ("modality", "code", "distance"):
                if getattr(q, key) is not None:
                    entry[key] = getattr(q, key)
            if q.coupling is not None:
                entry["coupling"] = (q.coupling if isinstance(q.coupling, str)
                                     else [[int(a), int(b)] for a, b in q.coupling])
            for key in ("t_1q", "t_2q", "t_measure"):
                if getattr(q, key) is not None:
                    entry[key] = getattr(q, key)
            qpus.append(entry)
        out: dict[str, Any] = {}
        if self.bridge is not None:
            out["bridge"] = self.bridge
        out["qpu"] = qpus
        if self.links:
            links = []
            for link in self.links:
                entry = {"between": [self.qpus[link.a].name, self.qpus[link.b].name]}
                for key in ("rate_hz", "fidelity", "memory_s"):
                    if getattr(link, key) is not None:
                        entry[key] = getattr(link, key)
                links.append(entry)
            out["link"] = links
        return out

    # ------------------------------------------------------------------ capacities

    @property
    def k(self) -> int:
        """Number of QPUs."""
        return len(self.qpus)

    @property
    def all_to_all(self) -> bool:
        """True when every pair of QPUs is linked directly."""
        return not self.links or bool(np.all(self.distances()[~np.eye(self.k, dtype=bool)] == 1))

    def index(self, name: str) -> int:
        """Index of the QPU called ``name`` (KeyError when there is none)."""
        for i, q in enumerate(self.qpus):
            if q.name == name:
                return i
        raise KeyError(name)

    def capacities(self) -> np.ndarray:
        """Logical data-qubit capacity of each QPU (int64): what the partitioner places.

        Equal to ``qubits`` for uncoded QPUs, ``floor(qubits / block_size)`` for coded ones.
        """
        return np.array([q.logical_qubits for q in self.qpus], dtype=np.int64)

    def physical_capacities(self) -> np.ndarray:
        """Physical data qubits of each QPU (int64), as declared."""
        return np.array([q.qubits for q in self.qpus], dtype=np.int64)

    def comm(self) -> np.ndarray:
        """Communication qubits of each QPU (int64; logical slots on coded QPUs)."""
        return np.array([q.comm_qubits for q in self.qpus], dtype=np.int64)

    # ------------------------------------------------------------------ link graph

    def edges(self) -> list[tuple[int, int]]:
        """Edges ``(a, b)`` with ``a < b`` of the link graph, sorted (every pair if all-to-all)."""
        return list(self._g().edges)

    def link(self, a: int, b: int) -> Link | None:
        """The :class:`Link` joining ``a`` and ``b`` (an implicit default one when the network is
        all-to-all), or ``None`` when they are not directly linked."""
        if not self.links:
            return Link(a, b) if a != b and 0 <= a < self.k and 0 <= b < self.k else None
        for link in self.links:
            if {link.a, link.b} == {a, b} and a != b:
                return link
        return None

    def distances(self) -> np.ndarray:
        """Hop distance between every pair of QPUs (int64, k x k).

        Raises
        ------
        InfeasibleError
            When the network is disconnected.
        """
        return self._g().dist().copy()

    def path(self, a: int, b: int) -> list[int]:
        """A shortest path of QPU indices from ``a`` to ``b`` (both included).

        Among shortest paths, the one that is lexicographically smallest (each step goes to the
        lowest-index neighbour still on a shortest path), so results are reproducible.
        """
        return list(self._g().path(int(a), int(b)))

    def steiner_cost(self, root: int, targets: Iterable[int]) -> int:
        """E-bits to entangle ``root`` with every QPU in ``targets``: the edge count of a
        minimum Steiner tree spanning them in the link graph (unit edge weights).

        Exact when ``k <= TABLE_MAX_K`` (read from :meth:`steiner_table`) or when the terminal
        count (root plus distinct targets) is at most :data:`EXACT_MAX_TERMINALS` (Dreyfus-Wagner
        dynamic programming, ``O(3**t k + 2**t k**2)``); otherwise a 2-approximation
        (networkx's Mehlhorn algorithm), so it may overestimate.  Results are cached.
        ``root`` in ``targets`` is ignored; no targets cost 0.
        """
        return self._g().cost(int(root), _targets(root, targets))

    def steiner_tree(self, root: int, targets: Iterable[int]) -> list[tuple[int, int]]:
        """Edges ``(a, b)``, ``a < b``, sorted, of the Steiner tree :meth:`steiner_cost` counts.

        Same exactness as :meth:`steiner_cost` (``len(tree) == steiner_cost``).  On an
        all-to-all network the tree is the star from ``root``.
        """
        return list(self._g().tree(int(root), _targets(root, targets)))

    def steiner_table(self) -> np.ndarray | None:
        """All Steiner costs as an int64 array ``T`` of shape ``(k, 2**k)``, or ``None`` when
        ``k > TABLE_MAX_K``.

        ``T[r, mask]`` is :meth:`steiner_cost` of root ``r`` and the QPUs whose bits are set in
        ``mask`` (bit ``i`` is QPU ``i``; a set root bit changes nothing).  Built once by
        Dreyfus-Wagner over all QPUs as terminals (exact), for the numba partitioner to index.
        """
        if self.k > TABLE_MAX_K:
            return None
        return np.ascontiguousarray(self._g().table()[0].T)

    # ------------------------------------------------------------------ QEC

    def physical_bell_pairs_per_ebit(self, a: int, b: int) -> int:
        """Physical Bell pairs one logical e-bit between QPUs ``a`` and ``b`` consumes.

        Per link: 1 between uncoded QPUs; the code's ``bell_pairs_per_logical_ebit`` between
        QPUs running the same code and distance (``d**2`` for the surface code); the larger of
        the two ends' counts across a lattice-surgery bridge; 1 across an injection bridge
        (uncoded to coded).  For QPUs that are not linked directly the e-bit is swapped along
        :meth:`path`, one logical e-bit per hop, and the per-hop counts are summed.  0 when
        ``a == b``.
        """
        a, b = int(a), int(b)
        p = self.path(a, b)
        return sum(self._hop_bell_pairs(u, v) for u, v in zip(p, p[1:]))

    def _hop_bell_pairs(self, a: int, b: int) -> int:
        ca, cb = self.qpus[a].code_obj, self.qpus[b].code_obj
        if ca is None or cb is None:
            return 1
        return int(max(ca.bell_pairs_per_logical_ebit(self.qpus[a].distance),
                       cb.bell_pairs_per_logical_ebit(self.qpus[b].distance)))

    # ------------------------------------------------------------------ reporting

    def describe(self) -> dict:
        """A JSON-ready summary for ``summary.json``.

        ``{"qpus": [{"name", "data_qubits", "comm_qubits", "code", "distance",
        "logical_qubits", "block_size", "modality", "durations"}, ...],
        "links": [{"a", "b", "between", "rate_hz", "fidelity", "memory_s",
        "physical_bell_pairs_per_ebit"}, ...], "all_to_all", "bridge"}``.  ``links`` lists the
        edges of the link graph (every pair, with ``None`` properties, when no links are given).
        """
        qpus = [{"name": q.name, "data_qubits": int(q.qubits), "comm_qubits": int(q.comm_qubits),
                 "code": q.code, "distance": q.distance, "logical_qubits": int(q.logical_qubits),
                 "block_size": int(q.block_size), "modality": q.modality,
                 "durations": q.durations()} for q in self.qpus]
        links = []
        for a, b in self.edges():
            link = self.link(a, b)
            links.append({"a": a, "b": b, "between": [self.qpus[a].name, self.qpus[b].name],
                          "rate_hz": link.rate_hz, "fidelity": link.fidelity,
                          "memory_s": link.memory_s,
                          "physical_bell_pairs_per_ebit": self._hop_bell_pairs(a, b)})
        return {"qpus": qpus, "links": links, "all_to_all": self.all_to_all,
                "bridge": self.bridge}

    # ------------------------------------------------------------------ internals

    def __getstate__(self) -> dict:
        # the graph cache holds lru_cache wrappers, which do not pickle; it is rebuilt on demand
        state = dict(self.__dict__)
        state["_graph"] = None
        return state

    def _g(self) -> "_LinkGraph":
        sig = (self.k, tuple((int(x.a), int(x.b)) for x in self.links))
        g = self._graph
        if g is None or g.sig != sig:
            names = tuple(q.name for q in self.qpus)
            g = _LinkGraph(sig, names)
            self._graph = g
        return g


# ====================================================================== graph algorithms


def _targets(root: int, targets: Iterable[int]) -> frozenset[int]:
    return frozenset(int(t) for t in targets) - {int(root)}


@functools.lru_cache(maxsize=None)
def _halves(mask: int) -> np.ndarray:
    """Proper non-empty submasks of ``mask`` that contain its lowest bit (each split once)."""
    low = mask & -mask
    rest = mask ^ low
    bits = np.array([1 << i for i in range(rest.bit_length()) if rest >> i & 1], dtype=np.int64)
    m = len(bits)
    combos = ((np.arange(1 << m, dtype=np.int64)[:, None] >> np.arange(m)) & 1) @ bits
    return low | combos[:-1]  # drop the full ``rest``, which would give ``mask`` itself


def _dreyfus_wagner(dist: np.ndarray, terms: list[int]):
    """Dreyfus-Wagner dynamic programme on a metric ``dist`` for terminals ``terms``.

    Returns ``(dp, split, via)``: ``dp[S, v]`` is the weight of a minimum Steiner tree spanning
    the terminals in bitmask ``S`` plus node ``v``; ``via[S, v]`` is the node ``u`` where that
    tree joins the shortest path to ``v``, and ``split[S, u]`` the submask at which the tree
    branches at ``u`` (for reconstruction).  Exact; time ``O(3**t k + 2**t k**2)``.
    """
    t = len(terms)
    k = dist.shape[0]
    n = 1 << t
    dp = np.zeros((n, k), dtype=np.int64)
    split = np.zeros((n, k), dtype=np.int64)
    via = np.zeros((n, k), dtype=np.int64)
    cols = np.arange(k)
    for i, x in enumerate(terms):
        dp[1 << i] = dist[x]
        via[1 << i] = x
    for s in range(3, n):
        if s & (s - 1) == 0:
            continue
        subs = _halves(s)
        merged = dp[subs] + dp[s ^ subs]                     # (subsets, u)
        best = merged.argmin(axis=0)
        join = merged[best, cols]                            # tree over S branching at u
        total = join[:, None] + dist                         # (u, v)
        u_best = total.argmin(axis=0)
        dp[s] = total[u_best, cols]
        split[s] = subs[best]
        via[s] = u_best
    return dp, split, via


class _LinkGraph:
    """Cached graph answers for one link list (``sig``); rebuilt when the links change."""

    def __init__(self, sig: tuple, names: tuple[str, ...]):
        self.sig = sig
        k, links = sig
        self.k = k
        self.names = names
        self.complete = not links
        if self.complete:
            self.edges = tuple((a, b) for a in range(k) for b in range(a + 1, k))
        else:
            self.edges = tuple(sorted({(min(a, b), max(a, b)) for a, b in links if a != b}))
        self.adj: list[list[int]] = [[] for _ in range(k)]
        for a, b in self.edges:
            self.adj[a].append(b)
            self.adj[b].append(a)
        for lst in self.adj:
            lst.sort()
        self._dist: np.ndarray | None = None
        self._table = None
        self._nx = None
        self.path = functools.lru_cache(maxsize=1 << 14)(self._path)
        self.cost = functools.lru_cache(maxsize=1 << 16)(self._cost)
        self.tree = functools.lru_cache(maxsize=1 << 14)(self._tree)
        self._dw = functools.lru_cache(maxsize=1 << 10)(self._dw_uncached)

    def dist(self) -> np.ndarray:
        if self._dist is None:
            k = self.k
            if self.complete:
                dist = (1 - np.eye(k, dtype=np.int64)).astype(np.int64)
            else:
                dist = np.full((k, k), -1, dtype=np.int64)
                for s in range(k):
                    dist[s, s] = 0
                    queue = deque([s])
                    while queue:
                        u = queue.popleft()
                        for v in self.adj[u]:
                            if dist[s, v] < 0:
                                dist[s, v] = dist[s, u] + 1
                                queue.append(v)
            if np.any(dist < 0):
                s, t = np.argwhere(dist < 0)[0]
                raise InfeasibleError(
                    f"network is disconnected: no path between QPU {self.names[s]!r} "
                    f"and QPU {self.names[t]!r}")
            dist.setflags(write=False)
            self._dist = dist
        return self._dist

    def _path(self, a: int, b: int) -> tuple[int, ...]:
        dist = self.dist()
        out = [a]
        cur = a
        while cur != b:
            want = dist[cur, b] - 1
            cur = next(v for v in self.adj[cur] if dist[v, b] == want)
            out.append(cur)
        return tuple(out)

    def table(self):
        if self._table is None:
            self._table = _dreyfus_wagner(self.dist(), list(range(self.k)))
        return self._table

    def _dw_uncached(self, terms: tuple[int, ...]):
        return _dreyfus_wagner(self.dist(), list(terms))

    def _cost(self, root: int, targets: frozenset[int]) -> int:
        if not targets:
            return 0
        if len(targets) == 1:
            return int(self.dist()[root, next(iter(targets))])
        if self.complete:
            return len(targets)
        if self.k <= TABLE_MAX_K:
            mask = sum(1 << t for t in targets)
            return int(self.table()[0][mask, root])
        if len(targets) + 1 <= EXACT_MAX_TERMINALS:
            terms = tuple(sorted(targets))
            return int(self._dw(terms)[0][-1, root])
        return len(self._tree(root, targets))

    def _tree(self, root: int, targets: frozenset[int]) -> tuple[tuple[int, int], ...]:
        if not targets:
            return ()
        if self.complete:
            return tuple(sorted((min(root, t), max(root, t)) for t in targets))
        if len(targets) == 1:
            edges = _path_edges(self.path(root, next(iter(targets))))
        elif self.k <= TABLE_MAX_K:
            mask = sum(1 << t for t in targets)
            edges = self._unfold(self.table(), list(range(self.k)), mask, root)
        elif len(targets) + 1 <= EXACT_MAX_TERMINALS:
            terms = tuple(sorted(targets))
            edges = self._unfold(self._dw(terms), list(terms), (1 << len(terms)) - 1, root)
        else:
            edges = self._approx(root, targets)
        return _prune(edges, root, targets | {root})

    def _unfold(self, dw, terms: list[int], mask: int, v: int) -> set[tuple[int, int]]:
        """Edges of the Dreyfus-Wagner tree for ``(mask, v)``, expanded to link-graph paths."""
        _, split, via = dw
        edges: set[tuple[int, int]] = set()
        stack = [(mask, v)]
        while stack:
            s, v = stack.pop()
            if s == 0:
                continue
            u = int(via[s, v])
            edges.update(_path_edges(self.path(u, v)))
            if s & (s - 1):
                a = int(split[s, u])
                stack.append((a, u))
                stack.append((s ^ a, u))
        return edges

    def _approx(self, root: int, targets: frozenset[int]) -> set[tuple[int, int]]:
        import networkx as nx
        from networkx.algorithms.approximation import steiner_tree

        if self._nx is None:
            graph = nx.Graph()
            graph.add_nodes_from(range(self.k))
            graph.add_edges_from(self.edges)
            self._nx = graph
        tree = steiner_tree(self._nx, sorted(targets | {root}), method="mehlhorn")
        return {(min(a, b), max(a, b)) for a, b in tree.edges()}


def _path_edges(path: Iterable[int]) -> list[tuple[int, int]]:
    p = list(path)
    return [(min(a, b), max(a, b)) for a, b in zip(p, p[1:])]


def _prune(edges: Iterable[tuple[int, int]], root: int,
           terminals: frozenset[int]) -> tuple[tuple[int, int], ...]:
    """A tree inside ``edges`` spanning ``terminals``: BFS tree from ``root``, then drop
    non-terminal leaves (a no-op on an exact Steiner tree; a safeguard otherwise)."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    parent = {root: -1}
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in sorted(adj.get(u, ())):
            if v not in parent:
                parent[v] = u
                queue.append(v)
    children: dict[int, int] = {}
    for v, p in parent.items():
        if p >= 0:
            children[p] = children.get(p, 0) + 1
    leaves = [v for v in parent if v not in terminals and children.get(v, 0) == 0]
    while leaves:
        v = leaves.pop()
        p = parent.pop(v)
        if p >= 0:
            children[p] -= 1
            if children[p] == 0 and p not in terminals:
                leaves.append(p)
    return tuple(sorted((min(v, p), max(v, p)) for v, p in parent.items() if p >= 0))


def _heavy_hex(n: int) -> list[tuple[int, int]]:
    """First ``n`` qubits (BFS order from qubit 0) of the smallest Qiskit heavy-hex lattice."""
    if n <= 1:
        return []
    from qiskit.transpiler import CouplingMap

    d = 3
    while (5 * d * d - 2 * d - 1) // 2 < n:
        d += 2
    cmap = CouplingMap.from_heavy_hex(d, bidirectional=False)
    adj: dict[int, set[int]] = {}
    for a, b in cmap.get_edges():
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    order = [0]
    seen = {0}
    queue = deque([0])
    while queue and len(order) < n:
        u = queue.popleft()
        for v in sorted(adj[u]):
            if v not in seen and len(order) < n:
                seen.add(v)
                order.append(v)
                queue.append(v)
    label = {q: i for i, q in enumerate(order)}
    return sorted({(min(label[a], label[b]), max(label[a], label[b]))
                   for a in order for b in adj[a] if b in label})


# ====================================================================== file checks

_TOP_KEYS = {"qpu": "table-array", "link": "table-array", "bridge": "bridge"}
_QPU_KEYS = {"name": "string", "qubits": "integer", "comm_qubits": "integer",
             "modality": "string", "code": "string", "distance": "integer",
             "coupling": "coupling", "t_1q": "number", "t_2q": "number", "t_measure": "number"}
_QPU_REQUIRED = ("name", "qubits")
_LINK_KEYS = {"between": "pair", "rate_hz": "number", "fidelity": "number", "memory_s": "number"}
_LINK_REQUIRED = ("between",)
_BRIDGE_KEYS = {"kind": "string"}
_BRIDGE_REQUIRED = ("kind",)
_REQUIRED = {"qpu": _QPU_REQUIRED, "link": _LINK_REQUIRED, "bridge": _BRIDGE_REQUIRED}

_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a finite number",
    "pair": "a list of two QPU names",
    "coupling": f"one of {', '.join(COUPLINGS)} or an edge list [[0, 1], ...]",
}


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_key_line(text: str, key: str) -> int | None:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if f'"{key}"' in line]
    return hits[1] if len(hits) > 1 else (hits[0] if hits else None)


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        text = value if len(value) <= 30 else value[:27] + "..."
        return f"string {json.dumps(text)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return _is_int(value)
    if kind == "number":
        return _is_number(value)
    if kind == "pair":
        return (isinstance(value, list) and len(value) == 2
                and all(isinstance(x, str) for x in value))
    if kind == "coupling":
        return isinstance(value, str) or (isinstance(value, list) and all(
            isinstance(e, list) and len(e) == 2 and all(_is_int(x) for x in e) for e in value))
    return True


class _Where:
    """Builds the ``file:line: table[i]: `` prefix of an error message.

    For TOML the line is found by scanning the text: the ``key = ...`` line inside the
    ``index``-th ``[[table]]`` (or ``[table]``, or the top level), else that table's header line.
    """

    _ARRAY = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\"'-]+)\s*\]\]")
    _TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"'-]+)\s*\]")

    def __init__(self, source: str, text: str | None):
        self.source = source
        self.text = text

    def __call__(self, table: str | None = None, index: int | None = None,
                 key: str | None = None) -> str:
        line = self._line(table, index, key) if self.text is not None else None
        head = f"{self.source}:{line}" if line else self.source
        ctx = table if table else ""
        if table and index is not None:
            ctx = f"{table}[{index}]"
        return f"{head}: {ctx}: " if ctx else f"{head}: "

    def _line(self, table: str | None, index: int | None, key: str | None) -> int | None:
        counts: dict[str, int] = {}
        current: tuple = (None, None)
        header_line = None
        key_re = (re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
                  if key else None)
        for no, line in enumerate(self.text.splitlines(), 1):
            m = self._ARRAY.match(line)
            if m:
                name = m.group(1).strip("\"'")
                counts[name] = counts.get(name, -1) + 1
                current = (name, counts[name])
            else:
                m = self._TABLE.match(line)
                if m:
                    current = (m.group(1).strip("\"'"), None)
            if m:
                if current == (table, index):
                    header_line = no
                continue
            if current == (table, index) and key_re is not None and key_re.match(line):
                return no
        if header_line is None and key:
            # the key may itself be written as a table header: [key] or [[key]]
            return self._line(f"{table}.{key}" if table else key, None, None) \
                or self._first_array(f"{table}.{key}" if table else key)
        return header_line

    def _first_array(self, name: str) -> int | None:
        for no, line in enumerate(self.text.splitlines(), 1):
            m = self._ARRAY.match(line)
            if m and m.group(1).strip("\"'") == name:
                return no
        return None


def _check_keys(entry: dict, allowed: dict, where: _Where, table: str | None,
                index: int | None, label: str) -> None:
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = (f"did you mean {close[0]!r}?" if close
                    else f"known: {', '.join(allowed)}")
            what = f"unknown {label} key" if label == "top-level" else "unknown key"
            raise InputError(f"{where(table, index, key)}{what} {key!r} ({hint})")


def _check_entry(entry: dict, allowed: dict, where: _Where, table: str,
                 index: int | None) -> None:
    """Unknown keys, then types, then missing required keys of one table."""
    _check_keys(entry, allowed, where, table, index, table)
    for key, value in entry.items():
        kind = allowed[key]
        if not _type_ok(value, kind):
            raise InputError(f"{where(table, index, key)}{key!r} must be {_EXPECTED[kind]} "
                             f"(got {_tname(value)})")
    for key in _REQUIRED[table]:
        if key not in entry:
            raise InputError(f"{where(table, index)}missing required key {key!r}")


def _check_qpus(qpus: list[QPU], where: _Where) -> None:
    """Value checks on QPUs (ranges, codes, coupling, durations) and unique names."""
    seen: dict[str, int] = {}
    for i, q in enumerate(qpus):
        at: Callable[[str], str] = functools.partial(where, "qpu", i)
        if not isinstance(q.name, str) or not q.name:
            raise InputError(f"{at('name')}'name' must be a non-empty string")
        if not _is_int(q.qubits) or q.qubits <= 0:
            raise InputError(f"{at('qubits')}'qubits' must be a positive integer "
                             f"(got {q.qubits!r})")
        if not _is_int(q.comm_qubits) or q.comm_qubits < 0:
            raise InputError(f"{at('comm_qubits')}'comm_qubits' must be a non-negative "
                             f"integer (got {q.comm_qubits!r})")
        if q.code is not None:
            try:
                code = qec.get_code(q.code)
            except InputError as err:
                raise InputError(f"{at('code')}{err}") from None
            if q.distance is None:
                raise InputError(f"{at(None)}missing required key 'distance' "
                                 f"(code {q.code!r} needs it)")
            why = qec.check_distance(code, q.distance)
            if why:
                raise InputError(f"{at('distance')}{why}")
            block = code.block_size(q.distance)
            if q.qubits < block:
                raise InputError(f"{at('qubits')}'qubits' = {q.qubits} is smaller than one "
                                 f"{q.code}-code block of distance {q.distance} "
                                 f"({block} physical qubits)")
        elif q.distance is not None:
            raise InputError(f"{at('distance')}'distance' is set but 'code' is not")
        if q.coupling is not None:
            if isinstance(q.coupling, str):
                if q.coupling not in COUPLINGS:
                    close = difflib.get_close_matches(q.coupling, COUPLINGS, n=1)
                    hint = (f"did you mean {close[0]!r}?" if close
                            else f"known: {', '.join(COUPLINGS)}")
                    raise InputError(f"{at('coupling')}unknown coupling {q.coupling!r} ({hint})")
            else:
                for a, b in q.coupling:
                    if not (0 <= a < q.qubits and 0 <= b < q.qubits):
                        raise InputError(f"{at('coupling')}'coupling' edge [{a}, {b}] names a "
                                         f"qubit outside 0..{q.qubits - 1}")
                    if a == b:
                        raise InputError(f"{at('coupling')}'coupling' edge [{a}, {b}] is a "
                                         f"self-loop")
        for key in ("t_1q", "t_2q", "t_measure"):
            value = getattr(q, key)
            if value is not None and (not _is_number(value) or value <= 0):
                raise InputError(f"{at(key)}{key!r} must be a positive duration in seconds "
                                 f"(got {value!r})")
        if q.name in seen:
            raise InputError(f"{at('name')}duplicate QPU name {q.name!r} "
                             f"(also qpu[{seen[q.name]}])")
        seen[q.name] = i


def _check_links(net: Network, where: _Where) -> None:
    """Self-links, duplicate links and link property ranges."""
    first: dict[tuple[int, int], int] = {}
    names = [q.name for q in net.qpus]
    for j, link in enumerate(net.links):
        at = functools.partial(where, "link", j)
        a, b = int(link.a), int(link.b)
        if a == b:
            raise InputError(f"{at('between')}self-link: QPU {names[a]!r} is linked to itself")
        pair = (min(a, b), max(a, b))
        if pair in first:
            raise InputError(f"{at('between')}duplicate link between {names[a]!r} and "
                             f"{names[b]!r} (first at link[{first[pair]}])")
        first[pair] = j
        if link.rate_hz is not None and (not _is_number(link.rate_hz) or link.rate_hz <= 0):
            raise InputError(f"{at('rate_hz')}'rate_hz' must be > 0 (got {link.rate_hz!r})")
        if link.fidelity is not None and (not _is_number(link.fidelity)
                                          or not 0 < link.fidelity <= 1):
            raise InputError(f"{at('fidelity')}'fidelity' must be in (0, 1] "
                             f"(got {link.fidelity!r})")
        if link.memory_s is not None and (not _is_number(link.memory_s) or link.memory_s <= 0):
            raise InputError(f"{at('memory_s')}'memory_s' must be > 0 (got {link.memory_s!r})")


def _check_cluster(net: Network, where: _Where, bridge_at: tuple) -> None:
    """The bridge value, code mixing, and connectivity."""
    if net.bridge is not None and net.bridge not in BRIDGES:
        close = difflib.get_close_matches(str(net.bridge), list(BRIDGES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(BRIDGES)}"
        raise InputError(f"{where(*bridge_at)}unknown bridge {net.bridge!r} ({hint})")
    kinds = [(q.code, q.distance) if q.code is not None else None for q in net.qpus]

    def label(kind) -> str:
        return "no code" if kind is None else f"code {kind[0]!r} distance {kind[1]}"

    for i, kind in enumerate(kinds):
        if kind == kinds[0]:
            continue
        key = "code" if kind is None or kinds[0] is None or kind[0] != kinds[0][0] \
            else "distance"
        if net.bridge is None:
            bridge = "injection" if None in kinds else "lattice-surgery"
            raise InputError(
                f"{where('qpu', i, key)}QPU {net.qpus[i].name!r} has {label(kind)} but "
                f"qpu[0] {net.qpus[0].name!r} has {label(kinds[0])}; declare a top-level "
                f"bridge = \"{bridge}\" to link them")
    if net.bridge == "lattice-surgery" and None in kinds and any(kinds):
        i = kinds.index(None)
        raise InputError(f"{where('qpu', i)}QPU {net.qpus[i].name!r} has no code but bridge "
                         f"'lattice-surgery' joins coded QPUs only; use bridge = \"injection\"")
    try:
        net.distances()
    except InfeasibleError as err:
        raise InfeasibleError(f"{where.source}: {err}") from None
