"""``python -m ouroboros --version``: the versions :func:`ouroboros.version_info`
reports (pyOuroboros, the embedded runtime's protocol, the Ouroboros release
the system backend was built for and the one running here)."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ._version import version_info


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m ouroboros``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ouroboros",
        description="pyOuroboros, the Python API for the Ouroboros recursive network.")
    parser.add_argument("--version", action="store_true",
                        help="print the versions of pyOuroboros and of what it talks to")
    args = parser.parse_args(argv)
    if not args.version:
        parser.print_help()
        return 0
    print(version_info())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
