"""Loading the rules in a worker process with a time limit and a memory limit.

The running service reloads the rules whenever a file changes, and a rule file is input
like any other: one that takes minutes or gigabytes to read must not take the service
with it. ``load_rules_bounded`` reads, validates and compiles the rules in a worker
process of its own (started with ``spawn``, as the feed parsers are) whose address space
is capped with ``RLIMIT_AS`` and whose CPU time is capped with ``RLIMIT_CPU``; the service
waits for its answer at most ``time_limit`` seconds, then kills it. The worker sends the
``LoadedRules`` back (plain frozen data, pickled), so the service never reads the files
itself and a file changed in between cannot slip past the limits.

Every way it can fail is a ``RulesError``, reported like any other invalid rule set, and
the caller keeps its last good rules:

- the rules are invalid: the worker's problems, with file and line;
- the worker runs out of time or memory: one problem naming the rules directory and the
  limit (``MEDIABOT_RULES_RELOAD_TIMEOUT``, ``MEDIABOT_RULES_RELOAD_MAX_MB``);
- the worker dies without answering (a crash in a C library, the system's OOM killer).

Cancelling the call (the service stopping) kills the worker at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.errors import Problem, RulesError
from bot.rules.load import LoadedRules, load_rules
from bot.rules.match import compile_matcher

__all__ = ["load_and_compile", "load_rules_bounded"]

log = logging.getLogger(__name__)

MB = 1 << 20
_REAP_SECONDS = 5.0  # a killed worker is gone in milliseconds; this only bounds a wait


def load_and_compile(rules_dir: Path) -> LoadedRules:
    """Read and validate the rules and compile their matcher (which is then dropped): what
    the worker proves can be done within the limits."""
    loaded = load_rules(rules_dir)
    compile_matcher(loaded.rules).build()
    return loaded


async def load_rules_bounded(
    rules_dir: Path,
    *,
    time_limit: float,
    max_memory: int,
    work: Callable[[Path], LoadedRules] = load_and_compile,
) -> LoadedRules:
    """``load_rules`` in a worker process limited to ``time_limit`` seconds and ``max_memory``
    bytes of address space; ``RulesError`` when the rules are invalid or a limit is hit.

    ``work`` is what the worker runs (a module-level function, so that the worker can
    import it by name).
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_work,
        args=(work, rules_dir, max_memory, time_limit, sender),
        name="mediabot-rules-loader",
        daemon=True,
    )
    try:
        try:
            worker.start()
        except OSError as exc:  # no processes here (a sandbox): load as before, unbounded
            log.warning("rules_worker_unavailable", extra={"error": str(exc)})
            return await asyncio.to_thread(work, rules_dir)
        finally:
            sender.close()  # the worker holds the only writing end: its death is EOF here
        answer = await _answer(receiver, time_limit)
    finally:
        receiver.close()
        _stop(worker)
    if answer is _TIMED_OUT:
        raise _limit_hit(rules_dir, f"took more than {time_limit:g} s")
    return _outcome(answer, rules_dir, max_memory=max_memory, exitcode=worker.exitcode)


_TIMED_OUT = object()


async def _answer(receiver: Connection, time_limit: float) -> Any:
    """The worker's one message; None when it died without one; ``_TIMED_OUT``."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not readable.done():
            readable.set_result(None)

    fd = receiver.fileno()
    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(readable, time_limit)
    except TimeoutError:
        return _TIMED_OUT
    finally:
        loop.remove_reader(fd)
    try:
        return receiver.recv()
    except (EOFError, OSError):
        return None


def _stop(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.pid is None:  # never started
        return
    if worker.is_alive():
        worker.kill()
    worker.join(_REAP_SECONDS)


def _outcome(answer: Any, rules_dir: Path, *, max_memory: int, exitcode: int | None) -> LoadedRules:
    if isinstance(answer, tuple) and len(answer) == 2:
        kind, value = answer
        if kind == "ok" and isinstance(value, LoadedRules):
            return value
        if kind == "invalid":
            raise RulesError(list(value))
        if kind == "memory":
            raise _limit_hit(rules_dir, f"needed more than {max_memory // MB} MB of memory")
        if kind == "crashed":
            raise _limit_hit(rules_dir, f"failed: {value}")
    if exitcode is not None and exitcode < 0:  # a signal: the system's OOM killer, say
        raise _limit_hit(
            rules_dir,
            f"stopped by signal {-exitcode} without an answer; it may have run out of "
            f"memory (limit {max_memory // MB} MB)",
        )
    raise _limit_hit(
        rules_dir, f"stopped without an answer (exit code {exitcode}; see its error output)"
    )


def _limit_hit(rules_dir: Path, what: str) -> RulesError:
    return RulesError([Problem(str(rules_dir), None, f"loading the rules {what}")])


def _work(
    work: Callable[[Path], LoadedRules],
    rules_dir: Path,
    max_memory: int,
    time_limit: float,
    sender: Connection,
) -> None:
    """In the worker: set the limits, do the work, send one answer."""
    # Ctrl-C and the service's stop signal reach the whole process group: the service
    # decides when this worker stops, and kills it itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _set_limit(resource.RLIMIT_AS, max_memory, max_memory)
    # Past its time the service kills the worker; the CPU limit ends it even if the
    # service itself was killed first and cannot.
    cpu = math.ceil(time_limit) + 1
    _set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    answer: tuple[str, Any]
    try:
        answer = ("ok", work(rules_dir))
    except RulesError as exc:
        answer = ("invalid", exc.problems)
    except MemoryError:
        answer = ("memory", None)  # sent below, once the failed attempt is freed
    except Exception as exc:  # reported to the service, which keeps its rules
        answer = ("crashed", f"{type(exc).__name__}: {exc}"[:500])
    with contextlib.suppress(OSError, ValueError):
        sender.send(answer)
    sender.close()


def _set_limit(which: int, soft: int, hard: int) -> None:
    """Lower a limit to ``soft`` / ``hard`` (never above the limit already in force)."""
    _, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(which, (soft, hard))
