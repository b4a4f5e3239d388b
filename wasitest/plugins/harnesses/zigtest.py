"""The `zigtest` harness: Zig `test` blocks built with `zig test -target wasm32-wasi --test-no-exec`.

Zig's default test runner (`lib/compiler/test_runner.zig`) takes no test filter on its
command line. Started with `--listen=-` it speaks the build system's binary protocol instead:
the client (normally `zig build`, see `lib/compiler/Maker/Step/Run.zig`) writes requests to
its stdin and reads answers from its stdout. Every message is an 8-byte little-endian header,
`tag: u32` then `bytes_len: u32`, followed by `bytes_len` bytes of body.

Since our stdin is a file given up front, a job's whole conversation is written before it
starts: discovery sends `query_test_metadata, exit`; a case sends `run_test(i), exit`. So each
case runs exactly one test in its own fresh instance. The runner answers with `zig_version`
first, then `test_metadata`, or `test_started` and `test_results`; whatever the test prints
goes to stderr, which is where the failure message is read from.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from wasitest.errors import InputError
from wasitest.model import Artifact, Case, Execution, Invocation, Outcome, Verdict
from wasitest.plugin import hookimpl
from wasitest.protocols import Execute, Harness

_HEADER = struct.Struct("<II")
_U32 = struct.Struct("<I")
_TEST_RESULTS = struct.Struct("<IQ")
#: stderr lines the runner prints on wasm32 in place of a stack trace: noise in a verdict
_NOISE = ("Cannot print stack trace", "(empty stack trace)")
_MESSAGE_LINES = 8
_MESSAGE_CHARS = 600


class ClientTag(enum.IntEnum):
    """Requests to the test runner; mirrors `Message.Tag` in `std/zig/Client.zig` (the ones it reads)."""

    EXIT = 0
    QUERY_TEST_METADATA = 4
    RUN_TEST = 5


class ServerTag(enum.IntEnum):
    """Answers from the test runner; mirrors `Message.Tag` in `std/zig/Server.zig` (the ones it sends)."""

    ZIG_VERSION = 0
    TEST_METADATA = 3
    TEST_RESULTS = 4
    TEST_STARTED = 5


class Status(enum.IntEnum):
    """Mirrors `Message.TestResults.Status` (`enum(u2) { pass, fail, skip }`) in `std/zig/Server.zig`."""

    PASS = 0
    FAIL = 1
    SKIP = 2


@dataclass(frozen=True)
class Message:
    """One framed message: the `Header` (`tag`, `bytes_len`) of `Server.zig`/`Client.zig` and its body."""

    tag: int
    body: bytes = b""


@dataclass(frozen=True)
class TestMetadata:
    """The body of `test_metadata`, decoded; see `Message.TestMetadata` in `std/zig/Server.zig`.

    `expected_panic_msgs[i]` is None for an ordinary test (the runner always sends that).
    """

    names: tuple[str, ...]
    expected_panic_msgs: tuple[str | None, ...]


@dataclass(frozen=True)
class TestResults:
    """The body of `test_results`; see `Message.TestResults` in `std/zig/Server.zig`."""

    index: int
    status: Status
    fuzz: bool = False
    log_err_count: int = 0
    leak_count: int = 0


def encode_message(tag: int, body: bytes = b"") -> bytes:
    """Frame one message, as `serveMessageHeader` + body in `std/zig/Client.zig` and `Server.zig`."""
    return _HEADER.pack(tag, len(body)) + body


def decode_messages(data: bytes) -> list[Message]:
    """Split a byte stream into messages, as `receiveMessage` in `std/zig/Client.zig` reads them.

    A trailing incomplete message (the instance died mid-write, or output was capped) is dropped.
    """
    messages: list[Message] = []
    pos = 0
    while pos + _HEADER.size <= len(data):
        tag, length = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if end > len(data):
            break
        messages.append(Message(tag, data[pos + _HEADER.size : end]))
        pos = end
    return messages


def encode_query_metadata() -> bytes:
    """Discovery's stdin: `query_test_metadata` then `exit` (both bodiless, `Client.serveBodylessMessage`)."""
    return encode_message(ClientTag.QUERY_TEST_METADATA) + encode_message(ClientTag.EXIT)


def encode_run_test(index: int) -> bytes:
    """A case's stdin: `run_test` with a u32 index (`Client.serveRunTest`) then `exit`."""
    return encode_run_tests([index])


def encode_run_tests(indexes: Sequence[int]) -> bytes:
    """A batch's stdin: one `run_test` per index, then a single `exit`: the runner stops at
    the first `exit` it reads, so none may come between the tests."""
    runs = b"".join(encode_message(ClientTag.RUN_TEST, _U32.pack(index)) for index in indexes)
    return runs + encode_message(ClientTag.EXIT)


def requested_index(stdin: bytes) -> int | None:
    """The test index a case's stdin asks for (the inverse of `encode_run_test`)."""
    for message in decode_messages(stdin):
        if message.tag == ClientTag.RUN_TEST and len(message.body) == _U32.size:
            index: int = _U32.unpack(message.body)[0]
            return index
    return None


def _string_at(string_bytes: bytes, offset: int) -> str:
    """A null-terminated string of `string_bytes`, as `CachedTestMetadata.testName` in `Run.zig`."""
    end = string_bytes.find(b"\0", offset)
    return string_bytes[offset : None if end < 0 else end].decode("utf-8", "replace")


def decode_test_metadata(body: bytes) -> TestMetadata:
    """Decode `test_metadata`: `{string_bytes_len: u32, tests_len: u32}`, then `names: [tests_len]u32`,
    `expected_panic_msgs: [tests_len]u32` (offsets into string_bytes, 0 = none), then string_bytes.

    Mirrors `Server.serveTestMetadata` in `std/zig/Server.zig` and its reader in `Maker/Step/Run.zig`.
    """
    if len(body) < 8:
        raise ValueError(f"test_metadata body is {len(body)} bytes, shorter than its 8-byte header")
    string_len, count = struct.unpack_from("<II", body)
    offsets = struct.unpack_from(f"<{2 * count}I", body, 8)
    start = 8 + 8 * count
    string_bytes = body[start : start + string_len]
    if len(string_bytes) != string_len:
        raise ValueError("test_metadata body is truncated")
    names = tuple(_string_at(string_bytes, o) for o in offsets[:count])
    panics = tuple(_string_at(string_bytes, o) if o else None for o in offsets[count:])
    return TestMetadata(names, panics)


def encode_test_metadata(metadata: TestMetadata) -> bytes:
    """The inverse of `decode_test_metadata` (`Server.serveTestMetadata`), for tests and fakes."""
    string_bytes = bytearray(b"\0")  # offset 0 means "no string", as in test_runner.zig

    def add(text: str) -> int:
        offset = len(string_bytes)
        string_bytes.extend(text.encode() + b"\0")
        return offset

    names = [add(n) for n in metadata.names]
    panics = [0 if p is None else add(p) for p in metadata.expected_panic_msgs]
    count = len(names)
    return struct.pack(f"<II{2 * count}I", len(string_bytes), count, *names, *panics) + bytes(string_bytes)


def decode_test_results(body: bytes) -> TestResults:
    """Decode `test_results`: `index: u32`, then `Flags`, a `packed struct(u64)` (LSB first):
    `status: u2, fuzz: bool, log_err_count: u30, leak_count: u31`.

    Mirrors `Message.TestResults` and `serveTestResults` in `std/zig/Server.zig`.
    """
    index, flags = _TEST_RESULTS.unpack_from(body)
    return TestResults(
        index=index,
        status=Status(flags & 0b11),
        fuzz=bool(flags >> 2 & 1),
        log_err_count=flags >> 3 & (1 << 30) - 1,
        leak_count=flags >> 33 & (1 << 31) - 1,
    )


def encode_test_results(results: TestResults) -> bytes:
    """The inverse of `decode_test_results` (`Server.serveTestResults`), for tests and fakes."""
    flags = int(results.status) | int(results.fuzz) << 2 | results.log_err_count << 3 | results.leak_count << 33
    return _TEST_RESULTS.pack(results.index, flags)


def case_names(full_names: Sequence[str], root: str) -> list[str]:
    """Shorter, still unique, case names: `sample.test.adds` becomes `test.adds`.

    Zig names a test `<file namespace>.test.<name>` (`decltest.<decl>` for `test decl`,
    `test_<n>` for an unnamed one), the namespace being the file's path from the root
    source's folder, dots for slashes. Tests of the root source (`root`, the artifact's
    name, which the zig builder takes from the source's stem) lose that prefix; tests of
    other files keep it (`sub.other.test.adds`). When no name starts with `root.`, a first
    component shared by every name is dropped instead. If that would make two names equal,
    the full names are kept.
    """
    prefix = f"{root}."
    if not any(n.startswith(prefix) for n in full_names):
        firsts = {n.split(".", 1)[0] for n in full_names}
        prefix = f"{firsts.pop()}." if len(firsts) == 1 and all("." in n for n in full_names) else ""
    short = [n[len(prefix) :] if prefix and n.startswith(prefix) else n for n in full_names]
    return short if len(set(short)) == len(short) else list(full_names)


def _tail(stderr: bytes, lines: int = _MESSAGE_LINES, chars: int = _MESSAGE_CHARS) -> str:
    """The last few meaningful lines of stderr, without the runner's no-stack-trace notes."""
    kept = [
        line.rstrip()
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.lstrip().startswith(_NOISE)
    ]
    text = "\n".join(kept[-lines:])
    return text if len(text) <= chars else "..." + text[-chars:]


def _trap_summary(execution: Execution) -> str:
    """One line for a trap: the runtime's `wasm trap:` line when it has one, else its last line
    that is not a heading (wasmtime's first line is `error while executing at wasm backtrace:`)."""
    lines = [ln.strip() for ln in execution.trap_message.splitlines() if ln.strip() and not ln.endswith(":")]
    line = next((ln for ln in lines if "trap:" in ln), lines[-1] if lines else "")
    kind = execution.trap.value if execution.trap is not None else "trap"
    return f"trapped ({kind}): {line}" if line else f"trapped ({kind})"


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class ZigTestHarness:
    """Lists a Zig test binary's tests and runs each alone through `--listen=-`."""

    name = "zigtest"

    def discover(self, artifact: Artifact, execute: Execute) -> list[Case]:
        program = artifact.path.name
        execution = execute(
            Invocation(module=artifact.path, argv=(program, "--listen=-"), stdin=encode_query_metadata())
        )
        hint = "is it a Zig test binary (`zig test --test-no-exec`) and does the runtime give it stdin?"
        if execution.error or execution.unsupported:
            raise InputError(f"{artifact.id}: cannot list its tests: {execution.error or execution.unsupported}", hint)
        bodies = [m.body for m in decode_messages(execution.stdout) if m.tag == ServerTag.TEST_METADATA]
        if not bodies:
            how = _trap_summary(execution) if execution.trap else f"exit code {execution.exit_code}"
            raise InputError(
                f"{artifact.id}: no test metadata from `--listen=-` ({how}): {_tail(execution.stderr, 3, 300)}",
                hint,
            )
        try:
            metadata = decode_test_metadata(bodies[0])
        except (ValueError, struct.error) as exc:
            raise InputError(f"{artifact.id}: malformed test metadata: {exc}", hint) from None
        # Like `requestNextTest` in Run.zig, tests that expect a panic are not run.
        indexes = [i for i, p in enumerate(metadata.expected_panic_msgs) if p is None]
        names = case_names([metadata.names[i] for i in indexes], artifact.name)
        return [
            Case(artifact=artifact, name=name, argv=(program, "--listen=-"), stdin=encode_run_test(i))
            for i, name in zip(indexes, names, strict=True)
        ]

    def batch(self, artifact: Artifact, cases: Sequence[Case]) -> Case:
        """One instance, many `run_test` messages: the runner answers each in turn."""
        indexes = [i for i in (requested_index(c.stdin) for c in cases) if i is not None]
        return Case(artifact=artifact, name="(batch)", argv=cases[0].argv, stdin=encode_run_tests(indexes))

    def split(self, cases: Sequence[Case], execution: Execution) -> Mapping[str, Verdict]:
        by_index = {requested_index(c.stdin): c.name for c in cases}
        found: dict[str, Verdict] = {}
        for message in decode_messages(execution.stdout):
            if message.tag != ServerTag.TEST_RESULTS or len(message.body) != _TEST_RESULTS.size:
                continue
            result = decode_test_results(message.body)
            name = by_index.get(result.index)
            if name is None:
                continue
            clean = not (result.leak_count or result.log_err_count)
            if result.status is Status.PASS and clean:
                found[name] = Verdict(Outcome.PASSED)
            elif result.status is Status.SKIP and clean:
                found[name] = Verdict(Outcome.SKIPPED)
            else:
                found[name] = Verdict(Outcome.FAILED, "failed in the batch run")
        return found

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        messages = decode_messages(execution.stdout)
        started = any(m.tag == ServerTag.TEST_STARTED for m in messages)
        results = [
            decode_test_results(m.body)
            for m in messages
            if m.tag == ServerTag.TEST_RESULTS and len(m.body) == _TEST_RESULTS.size
        ]
        stderr = _tail(execution.stderr)
        if execution.trap is not None:
            # A panic in a test is `unreachable` on wasm32 (`process.abort`): the message,
            # e.g. `panic: boom`, is on stderr, the trap only says where it stopped.
            when = "" if started or results else "before the test started: "
            return Verdict(Outcome.TRAPPED, _join(when + stderr, _trap_summary(execution)))
        if not results:
            if not started:
                return Verdict(
                    Outcome.ERROR,
                    _join(f"the test runner did not start the test (exit code {execution.exit_code})", stderr),
                )
            return Verdict(
                Outcome.FAILED, _join(f"exited with code {execution.exit_code} before reporting a result", stderr)
            )
        result = results[0]
        expected = requested_index(case.stdin)
        if result.index != expected:
            return Verdict(Outcome.ERROR, f"the runner reported test #{result.index}, not #{expected}")
        # Same order as Run.zig: a failure, then leaks, then logged errors, fail the test.
        if result.status is Status.FAIL:
            return Verdict(Outcome.FAILED, stderr or "failed without output")
        if result.leak_count:
            return Verdict(Outcome.FAILED, f"memory leaked ({_plural(result.leak_count, 'allocation')})")
        if result.log_err_count:
            return Verdict(Outcome.FAILED, _join(f"logged {_plural(result.log_err_count, 'error')}", stderr))
        if execution.exit_code not in (0, None):
            return Verdict(Outcome.FAILED, _join(f"exited with code {execution.exit_code} after the test", stderr))
        if result.status is Status.SKIP:
            return Verdict(Outcome.SKIPPED)
        return Verdict(Outcome.PASSED)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(ZigTestHarness())
