# The Python side of embed_server (3-clause BSD): answers each line in
# upper case, on flows the C++ program accepted.
import ouroboros
from ouroboros.dev import Flow


def handle(flow: Flow) -> None:
    with flow:
        line = flow.readline()
        flow.writeline(f"{line.upper()} (from Python on the {ouroboros.backend()} backend)")
