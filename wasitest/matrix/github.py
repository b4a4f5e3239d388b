"""`wasitest matrix --github`: the JSON for a workflow's `strategy.matrix`.

One job per runner OS and shard; with `split_runtimes`, also per runtime, for runtimes
that are installed separately or are slow enough to deserve their own machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_OS = ("ubuntu-latest",)


def github_matrix(os_names: Sequence[str], shards: int, runtimes: Sequence[str] = ()) -> dict[str, Any]:
    include: list[dict[str, str]] = []
    for os_name in os_names or DEFAULT_OS:
        for runtime in runtimes or [""]:
            for index in range(1, shards + 1):
                entry = {"os": os_name, "shard": f"{index}/{shards}"}
                if runtime:
                    entry["runtimes"] = runtime
                include.append(entry)
    return {"include": include}
