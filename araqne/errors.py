"""Errors araqne raises on purpose.

Every expected failure (bad input, infeasible request) is an :class:`AraqneError` whose message is
one line naming the file, line or option at fault.  The CLI prints that line and exits with
``exit_code`` (2 for usage errors, 1 for bad input); anything else is a bug and shows a traceback
only under ``--debug``.
"""

from __future__ import annotations


class AraqneError(Exception):
    """Base of all deliberate araqne errors; ``str(err)`` is the one-line message."""

    exit_code = 1


class InputError(AraqneError):
    """The input (circuit file, network file, Qiskit object) is malformed or unsupported."""

    exit_code = 1


class InfeasibleError(AraqneError):
    """The request cannot be met: too many qubits for the cluster, a disconnected network, ..."""

    exit_code = 1


class UsageError(AraqneError):
    """An option or argument value is invalid (k < 1, capacity <= 0, ...)."""

    exit_code = 2
