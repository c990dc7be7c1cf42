"""araqne: distribute one quantum circuit over a cluster of networked QPUs with the fewest e-bits.

The public API (imported on first use, so ``import araqne`` and the CLI start fast):

- :class:`Network`: the cluster, ``Network.uniform(k, capacity)`` or ``Network.from_file(path)``.
- :func:`partition` and :func:`distribute` (:mod:`araqne.api`), returning a
  :class:`PartitionResult`.
- :func:`verify`: partition, emit and check the programs by simulation.
- :func:`cost`: the reference objective (:func:`araqne.objective.cost`).
- :mod:`araqne.qiskit`: transpiler passes and the ``init`` stage plugin ``"araqne"``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Network": "araqne.network",
    "partition": "araqne.api",
    "distribute": "araqne.api",
    "verify": "araqne.api",
    "PartitionResult": "araqne.api",
    "cost": "araqne.objective",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from .api import PartitionResult, distribute, partition, verify
    from .network import Network
    from .objective import cost


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
