#!/usr/bin/env python
"""Write the bundled benchmark circuits as OpenQASM files.

    python benchmarks/generate_circuits.py                # regenerate circuits/ (the default)
    python benchmarks/generate_circuits.py --check        # exit 1 if circuits/ is out of date
    python benchmarks/generate_circuits.py --only qft_96 --out /tmp/big   # any SUITE entry
    python benchmarks/generate_circuits.py --list         # SUITE names, qubits, tiers

Writes the README examples (circuits/qft_16.qasm, qaoa_maxcut_12.qasm, ghz_8.qasm, random_10.qasm,
qft_8_qasm3.qasm) and every SUITE circuit of at most 64 qubits as circuits/suite/NAME.qasm
(OpenQASM 2; files over 200 kB are left out and built on demand). The output is deterministic:
re-running produces byte-identical files. All the logic lives in araqne.suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

try:
    from araqne import suite
except ImportError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT))
    from araqne import suite


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "circuits",
                        help="output directory (default: the repository's circuits/)")
    parser.add_argument("--max-qubits", type=int, default=suite.BUNDLE_MAX_QUBITS,
                        help="bundle SUITE circuits up to this many qubits (default %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any bundled file is missing, stale or extra")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="write just these SUITE entries (any size) as OUT/NAME.qasm")
    parser.add_argument("--list", action="store_true", help="list the SUITE and exit")
    args = parser.parse_args(argv)

    if args.list:
        for e in suite.SUITE:
            print(f"{e.name:28s} {e.num_qubits:4d}  {e.tier:5s}  {e.note}")
        return 0

    if args.only:
        for name in args.only:
            entry = suite.get(name)
            path = suite.write_qasm(entry.build(), args.out / f"{name}.qasm",
                                    header=[f"suite entry {name} ({entry.tier})"])
            print(path)
        return 0

    files = suite.bundle_files(args.max_qubits)
    suite_dir = args.out / "suite"
    extra = sorted(p for p in suite_dir.glob("*.qasm")
                   if f"suite/{p.name}" not in files) if suite_dir.is_dir() else []

    if args.check:
        bad = []
        for rel, text in files.items():
            path = args.out / rel
            if not path.is_file():
                bad.append(f"missing {rel}")
            elif path.read_bytes() != text.encode("utf-8"):
                bad.append(f"stale {rel}")
        bad += [f"extra suite/{p.name}" for p in extra]
        for line in bad:
            print(line, file=sys.stderr)
        if bad:
            print("run: python benchmarks/generate_circuits.py", file=sys.stderr)
            return 1
        print(f"{len(files)} files up to date")
        return 0

    for rel, text in files.items():
        _write(args.out / rel, text)
    for p in extra:  # circuits/suite/ holds only generated files
        p.unlink()
    total = sum(len(t.encode("utf-8")) for t in files.values())
    print(f"wrote {len(files)} files ({total / 1e6:.2f} MB) to {args.out}"
          + (f", removed {len(extra)} stale" if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
