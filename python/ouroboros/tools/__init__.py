"""Command-line tools of pyOuroboros (console scripts ``o7s-*``): ``o7s-irm``
(:mod:`~ouroboros.tools.irm`) and the Ouroboros tools ``o7s-oping``,
``o7s-operf``, ``o7s-ocbr``, ``o7s-oecho`` and ``o7s-obc`` (modules
:mod:`~ouroboros.tools.oping`, :mod:`~ouroboros.tools.operf`,
:mod:`~ouroboros.tools.ocbr`, :mod:`~ouroboros.tools.oecho`,
:mod:`~ouroboros.tools.obc`), with the options, output and wire formats of
the C tools of Ouroboros 0.23, plus ``--json``. Each is also a library
function that returns its figures; :mod:`~ouroboros.tools.common` has what
they share."""
