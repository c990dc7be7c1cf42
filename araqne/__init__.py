"""araqne: distribute one quantum circuit over a cluster of networked QPUs with the fewest e-bits."""

__version__ = "0.1.0"
