"""Backend: per-QPU programs, the combined program and the Bell-pair schedule.

:func:`emit` is the entry point; :mod:`.teleport` holds the protocol gadgets (cat-entangler,
cat-disentangler, state teleportation), :mod:`.schedule` the program builder, its step counting
and the ``schedule.json`` content.
"""

from .emission import EXTRA_GATE_DEFS, Emission, condition_template, emit
from .schedule import STEPS_DEFINITION, Program

__all__ = ["emit", "Emission", "Program", "condition_template", "EXTRA_GATE_DEFS",
           "STEPS_DEFINITION"]
