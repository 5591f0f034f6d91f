"""The ``mediabot`` command: parse arguments, build settings, configure logs, call the app."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.cli.arguments import build_parser
from bot.config.settings import Settings, load_settings
from bot.errors import ConfigError, EditRefused, MediabotError, RulesError, StoreError
from bot.logs import configure_logging

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        overrides: dict[str, object] = {}
        if getattr(args, "rules", None):
            overrides["rules_dir"] = args.rules
        if getattr(args, "roles", None):
            overrides["roles"] = args.roles
        if args.command == "demo" and "MEDIABOT_LOG_LEVEL" not in map(str.upper, os.environ):
            overrides["log_level"] = "WARNING"  # the demo's output is the alerts
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"mediabot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secrets())
    try:
        code = _dispatch(args, settings, out)
        out.flush()  # here, where a reader that went away is caught below
        return code
    except EditRefused as exc:
        for problem in exc.problems:
            print(f"mediabot: {problem.message}", file=sys.stderr)
        return EXIT_FAIL
    except RulesError as exc:
        print(f"mediabot: invalid rules in {settings.rules_dir}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAIL
    except ConfigError as exc:
        # Settings Telegram or the machine refuse (a rejected token, a database another
        # process holds): exit 2, which service managers are told not to restart on.
        print(f"mediabot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, MediabotError) as exc:
        print(f"mediabot: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``mediabot spikes … | head``): what it wanted was printed.
        # Point stdout at nothing so the interpreter's final flush does not fail again.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    # Imported here so that `mediabot --help` and argument errors stay fast.
    from bot.cli import commands

    match args.command:
        case "run":
            return asyncio.run(commands.run(settings, settings.roles))
        case "once":
            return asyncio.run(commands.once(settings, out, force=args.force))
        case "rules":
            return commands.rules_check(settings, out)
        case "match":
            return asyncio.run(
                commands.match(
                    settings,
                    args.inputs,
                    args.topic,
                    args.format,
                    out,
                    explain=args.explain,
                    stats=args.stats,
                )
            )
        case "spikes":
            from bot.cli.spikes_dry_run import spikes

            return asyncio.run(spikes(settings, args.inputs, args.spike, args.format, out))
        case "config":
            return commands.config(settings, out)
        case "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(settings, out))
        case "send-test":
            return asyncio.run(commands.send_test(settings, args.chat, args.thread, out))
        case "db" if args.db_command == "prune":
            return commands.db_prune(settings, out)
        case "db":
            return commands.db_upgrade(settings, out)
        case "feeds" if args.feeds_command == "add":
            return asyncio.run(
                commands.feeds_add(
                    settings,
                    args.url,
                    args.feed_id,
                    args.interval,
                    args.name,
                    args.tag,
                    not args.no_check,
                    out,
                )
            )
        case "feeds" if args.feeds_command == "remove":
            return commands.feeds_remove(settings, args.feed_id, out)
        case "feeds":
            return commands.feeds_list(settings, out)
    raise AssertionError(args.command)  # argparse only lets known commands through
