"""The folders of cpp/src include only what their READMEs allow, so that
the layout keeps showing what depends on what."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

import pytest

SRC = Path(__file__).resolve().parent.parent / "cpp" / "src"

# Folder -> the other folders' headers it may include ("" is cpp/src itself).
ALLOWED: Dict[str, List[str]] = {
    "": ["embedded/embedded_backend.hpp", "system_loader/loader.hpp",
         "runtime/deadline.hpp", "runtime/names.hpp"],  # header-only, for both backends
    "embedded": ["runtime/"],
    "daemon": ["runtime/"],
    "runtime": [],
    "system": ["runtime/flow_table.hpp", "runtime/deadline.hpp", "system_loader/plugin_abi.hpp",
               "system_loader/probe.hpp",
               "o7s_system_config.h"],  # written by configure into the build tree
    "system_loader": [],
}


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_folder_includes_only_what_it_may(folder: str) -> None:
    here = SRC / folder
    files = [p for p in here.iterdir() if p.suffix in (".cpp", ".hpp", ".c", ".h")]
    assert files
    wrong = []
    for path in files:
        for inc in re.findall(r'^#include "([^"]+)"', path.read_text(), re.M):
            if (here / inc).exists() and "/" not in inc:
                continue  # the folder's own file
            if not any(inc.startswith(a) for a in ALLOWED[folder]):
                wrong.append(f"{path.relative_to(SRC)}: {inc}")
    assert wrong == []
