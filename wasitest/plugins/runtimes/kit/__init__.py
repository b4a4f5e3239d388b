"""The runtime kit: the shared parts every runtime adapter is built on.

- `adapter.RuntimeAdapter`: the base class (cached `info()`, option check, `open_session`);
- `traps.TrapTable`: a runtime's trap text -> `TrapKind`;
- `output`: the one output capper (`CappedStream`) and what captures through it;
- `modules.ModuleCache`: what a module becomes before it runs (memory-capped, compiled),
  once per session;
- `process.run_process`: one process per job, killed with its group at the deadline;
- `helper`: the helper-process protocol (one status vocabulary, `Execution`'s field names)
  and `HelperSession`, for runtimes served by a Python helper process;
- `js`: the session around the one JS runner (`js_runner.mjs`), whose per-engine workers
  are Node, Bun, browser_wasi_shim and @wasmer/sdk.

An adapter module holds only what is particular to its runtime. Third-party runtimes use
the kit the same way (see the README's "Writing a runtime plugin").
"""

from wasitest.plugins.runtimes.kit.adapter import FULL_SANDBOX, RuntimeAdapter
from wasitest.plugins.runtimes.kit.traps import TrapTable

__all__ = ["FULL_SANDBOX", "RuntimeAdapter", "TrapTable"]
