"""Quantum error-correcting codes, as the network model needs them.

The partitioner works in *logical* units: a QPU that runs a code holds ``floor(qubits / block)``
logical qubits, and one logical e-bit between two coded QPUs is bought with several physical Bell
pairs.  A :class:`Code` answers exactly those questions (and the cycle-time factor the timing model
will use) for a given code distance; nothing here simulates a code.

Codes are pluggable: :data:`CODES` maps the name used in network files (``code = "surface"``) to a
:class:`Code` instance, and :func:`register_code` adds new ones.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod

from .errors import InputError

__all__ = ["Code", "SurfaceCode", "UnrotatedSurfaceCode", "CODES", "register_code", "get_code"]


class Code(ABC):
    """A QEC code family parametrised by its distance.

    Subclasses implement :meth:`block_size`, :meth:`bell_pairs_per_logical_ebit` and
    :meth:`cycle_time_factor`; :meth:`check_distance` and :meth:`round_time` have defaults suited
    to surface-code-like codes and may be overridden.

    Attributes
    ----------
    name : str
        Name used in messages (the registry key may differ).
    """

    name: str = "code"

    @abstractmethod
    def block_size(self, distance: int) -> int:
        """Physical qubits (data and ancilla) that hold one logical qubit at ``distance``."""

    @abstractmethod
    def bell_pairs_per_logical_ebit(self, distance: int) -> int:
        """Physical Bell pairs consumed to make one logical e-bit between two QPUs."""

    @abstractmethod
    def cycle_time_factor(self, distance: int) -> float:
        """Syndrome-extraction rounds one logical time step takes (a merge, a measurement).

        The timing model multiplies this by :meth:`round_time` to get the duration of one logical
        operation.
        """

    def check_distance(self, distance: int) -> str | None:
        """Return why ``distance`` is invalid for this code, or ``None`` when it is valid.

        The default accepts odd integers >= 3: even distances correct no more errors than the odd
        distance below them, and distance 1 detects nothing.
        """
        if isinstance(distance, bool) or not isinstance(distance, int):
            return f"distance must be an integer (got {distance!r})"
        if distance < 3 or distance % 2 == 0:
            return f"distance must be an odd integer >= 3 (got {distance})"
        return None

    def logical_qubits(self, physical_qubits: int, distance: int) -> int:
        """Logical qubits that fit in ``physical_qubits``: ``floor(physical / block_size)``."""
        return physical_qubits // self.block_size(distance)

    def round_time(self, t_1q: float, t_2q: float, t_measure: float) -> float:
        """Duration (seconds) of one syndrome-extraction round from physical gate durations.

        The default is the standard surface-code round: Hadamard layers before and after, four
        layers of two-qubit gates, then ancilla measurement (Fowler et al. 2012, Fig. 2).
        """
        return 2 * t_1q + 4 * t_2q + t_measure

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SurfaceCode(Code):
    """The rotated surface code of distance ``d``.

    A patch holds ``d**2`` data qubits and ``d**2 - 1`` measure (ancilla) qubits, so a logical
    qubit costs ``2 d**2 - 1`` physical qubits (Horsman, Fowler, Devitt, Van Meter, "Surface code
    quantum computing by lattice surgery", New J. Phys. 14, 123011 (2012); Fowler, Mariantoni,
    Martinis, Cleland, "Surface codes: Towards practical large-scale quantum computation",
    PRA 86, 032324 (2012)).

    A logical e-bit between two QPUs is made by lattice surgery across a seam where the two
    patches meet: the seam's boundary stabilisers straddle the link, so every syndrome round
    consumes one physical Bell pair per seam stabiliser, about ``d`` of them (one per boundary
    data qubit), and the merge needs ``d`` rounds to be fault-tolerant against measurement errors.
    Total: ``d * d = d**2`` physical Bell pairs per logical e-bit (Ramette, Sinclair, Breuckmann,
    Vuletic, "Fault-tolerant connection of error-corrected qubits with noisy links",
    npj Quantum Inf. 10, 58 (2024), arXiv:2302.01296, which also shows the seam tolerates link
    errors around 10%).  The count is the leading-order resource, not a protocol-exact figure:
    protocols that halve the module-crossing gates exist (Haug et al., arXiv:2510.13541).
    """

    name = "surface"

    def block_size(self, distance: int) -> int:
        """``2 d**2 - 1``: ``d**2`` data and ``d**2 - 1`` measure qubits."""
        return 2 * distance * distance - 1

    def bell_pairs_per_logical_ebit(self, distance: int) -> int:
        """``d**2``: ``d`` seam Bell pairs per round for ``d`` rounds."""
        return distance * distance

    def cycle_time_factor(self, distance: int) -> float:
        """``d`` syndrome rounds per lattice-surgery step."""
        return float(distance)


class UnrotatedSurfaceCode(SurfaceCode):
    """The unrotated (planar) surface code of distance ``d``.

    A planar patch has ``d**2 + (d-1)**2`` data and ``2 d (d-1)`` measure qubits, i.e.
    ``(2d - 1)**2`` physical qubits per logical qubit (Fowler et al., PRA 86, 032324 (2012)).
    Its boundary also has ``d`` data qubits, so the lattice-surgery seam costs the same ``d**2``
    physical Bell pairs per logical e-bit as :class:`SurfaceCode`.
    """

    name = "unrotated-surface"

    def block_size(self, distance: int) -> int:
        """``(2d - 1)**2``."""
        return (2 * distance - 1) ** 2


CODES: dict[str, Code] = {
    "surface": SurfaceCode(),
    "unrotated-surface": UnrotatedSurfaceCode(),
}
"""Registry of codes by the name used in network files (``code = "surface"``)."""

_REQUIRED = ("block_size", "bell_pairs_per_logical_ebit", "cycle_time_factor")


def register_code(name: str, code: Code, *, replace: bool = False) -> None:
    """Add ``code`` to :data:`CODES` under ``name`` so network files may use it.

    Parameters
    ----------
    name : str
        Key used in network files.
    code : Code
        A :class:`Code` instance, or any object with ``block_size``,
        ``bell_pairs_per_logical_ebit`` and ``cycle_time_factor`` methods (a missing
        ``check_distance`` then accepts odd distances >= 3).
    replace : bool
        Allow overwriting an existing entry; otherwise re-registering a name is an error, so two
        plug-ins cannot silently shadow each other.

    Raises
    ------
    TypeError
        When ``code`` lacks one of the required methods.
    ValueError
        When ``name`` is empty or already registered and ``replace`` is false.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("code name must be a non-empty string")
    missing = [m for m in _REQUIRED if not callable(getattr(code, m, None))]
    if missing:
        raise TypeError(f"code {name!r} lacks {', '.join(missing)}")
    if name in CODES and not replace:
        raise ValueError(f"code {name!r} is already registered (pass replace=True to overwrite)")
    CODES[name] = code


def get_code(name: str) -> Code:
    """The registered code called ``name``.

    Raises
    ------
    InputError
        When no code of that name is registered; the message lists the known codes and, where
        one is close, suggests it.
    """
    try:
        return CODES[name]
    except (KeyError, TypeError):
        pass
    known = sorted(CODES)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    raise InputError(f"unknown code {name!r} ({hint})")


def check_distance(code: Code, distance: int) -> str | None:
    """Why ``distance`` is invalid for ``code`` (``None`` when valid), for duck-typed codes too."""
    check = getattr(code, "check_distance", None)
    if callable(check):
        return check(distance)
    return Code.check_distance(code, distance)  # type: ignore[arg-type]
