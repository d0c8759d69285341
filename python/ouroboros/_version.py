"""Versions: pyOuroboros' own (one source, pyproject.toml, compiled into the
core) and those of what it talks to; ``python -m ouroboros --version``
prints them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import _core

#: pyOuroboros' version, e.g. ``"0.1.0"`` (pyproject.toml's).
__version__: str = _core.__version__


@dataclass(frozen=True)
class VersionInfo:
    """What :func:`version_info` reports."""

    #: pyOuroboros' version (:data:`ouroboros.__version__`).
    version: str
    #: Version of the control protocol between the library and the embedded
    #: runtime daemon (``o7s-irmd``); both sides must speak the same one.
    runtime_protocol: int
    #: The Ouroboros release the system backend was built for, e.g.
    #: ``"0.23.0"``; None when this build has no system backend (a wheel).
    system_release: Optional[str]
    #: The release whose protocol the IRMd running here speaks, e.g.
    #: ``"0.23"``; None when no IRMd answers (:attr:`irmd_problem` says why).
    irmd_release: Optional[str]
    #: Why no IRMd answers ("" when one does).
    irmd_problem: str

    def __str__(self) -> str:
        system = (f"built for Ouroboros {self.system_release}" if self.system_release
                  else "not in this build (build pyOuroboros from its sdist where "
                       "Ouroboros is installed to get it)")
        irmd = (f"answering, protocol of Ouroboros {self.irmd_release}" if self.irmd_release
                else f"none answering: {self.irmd_problem}")
        return (f"pyOuroboros {self.version}\n"
                f"embedded runtime protocol: {self.runtime_protocol}\n"
                f"system backend: {system}\n"
                f"Ouroboros IRMd: {irmd}")


def version_info() -> VersionInfo:
    """pyOuroboros' version, the embedded runtime's protocol version, and the
    Ouroboros release the system backend was built for and the one running
    here. Asks the IRMd's socket (up to 2 s) but loads nothing: it never
    selects a backend nor registers the process with an IRMd."""
    version, protocol, system, irmd, problem = _core.versions()
    return VersionInfo(version=version, runtime_protocol=protocol,
                       system_release=system or None, irmd_release=irmd or None,
                       irmd_problem=problem)
