"""The ``mediabot`` command line: its commands, their arguments and their help."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from bot import __version__

# What ``add_subparsers`` returns: where commands are added (generic to type checkers only).
_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediabot",
        description="Media-monitoring alert bot: polls news feeds, matches topic rules "
        "(fuzzy, Chinese-aware) and sends summarised alerts to Telegram.",
        epilog="Settings come from MEDIABOT_* environment variables and .env; "
        "see .env.example. Without MEDIABOT_TELEGRAM_TOKEN alerts print to the console.",
    )
    parser.add_argument("--version", action="version", version=f"mediabot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_service, _rules, _dry_runs, _tools, _db, _feeds):
        add(sub)
    return parser


def _service(sub: _Commands) -> None:
    """run and once: the service, and one poll from cron."""
    run = sub.add_parser(
        "run",
        help="run the service: scheduler, sender, rules watcher",
        description="Run the service until SIGTERM/SIGINT: every enabled feed is polled at its "
        "interval, matches go to the outbox, the sender delivers them, and rule files are "
        "watched and reloaded when they change. With PostgreSQL the work can be split into "
        "role processes on any number of machines (deploy/README.md, Scaling out).",
    )
    run.add_argument(
        "--role",
        dest="roles",
        metavar="ROLE[,ROLE...]",
        help="the roles this process runs: poller, sender, updates or all (default: "
        "MEDIABOT_ROLES, else all); several as a comma list",
    )
    once = sub.add_parser(
        "once",
        help="poll every enabled feed once, deliver what is due, exit",
        description="One poll of every enabled feed, match, deliver what is due, exit "
        "(cron-friendly). A feed that is backing off after failures, or whose server asked "
        "for a pause, waits: each is listed on stderr with the reason and when it is due. "
        "Exit status 1 if any feed failed.",
    )
    once.add_argument(
        "--force",
        action="store_true",
        help="also poll the feeds that are backing off or asked for a pause (a feed another "
        "process is polling right now is still skipped)",
    )


def _rules(sub: _Commands) -> None:
    """rules check."""
    rules = sub.add_parser(
        "rules",
        help="work with rule files",
        description="Work with the YAML rule files (feeds, entities, topics).",
    )
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = rules_sub.add_parser(
        "check",
        help="validate the rules directory",
        description="Validate every rule file; errors name file:line. Exit 1 on any error.",
    )
    _rules_dir(check)


def _dry_runs(sub: _Commands) -> None:
    """match and spikes: the rules tried on items, nothing sent or stored."""
    match = sub.add_parser(
        "match",
        help="dry run: which topics fire on these items, and why",
        description="Dry run of the rules on items: feed URLs, feed files (RSS, Atom, JSON Feed), "
        "archived item .md files or directories of them, JSON Lines files of any size (read as "
        "a stream). Nothing is sent or stored. Unreadable inputs are reported on stderr, one "
        "line per file; the rest are processed.",
    )
    match.add_argument("inputs", nargs="+", metavar="INPUT", help="URL, file or directory")
    _rules_dir(match)
    match.add_argument(
        "--topic", action="append", default=[], metavar="ID", help="only this topic (repeatable)"
    )
    match.add_argument("--format", choices=("table", "jsonl"), default="table")
    match.add_argument(
        "--explain",
        action="store_true",
        help="also show near-misses that would have made a topic fire: a Latin term of 5 "
        "letters or more, one edit beyond what it allows, in an item the topic missed",
    )
    match.add_argument(
        "--stats",
        action="store_true",
        help="instead of the items, a report per topic and per term: items fired, share of "
        "the input, the words each term matched, sample titles, terms that never hit",
    )

    spikes = sub.add_parser(
        "spikes",
        help="dry run: when coverage of watched names would have surged",
        description="Dry run of the rules' spikes over items in time order: the same inputs as "
        "match (feed URLs and files, archived items, JSON Lines of any size), sorted by "
        "date on disk, counted as the service counts them. One report per (spike, entity, "
        "window) that fires, with its final count, the usual count per window and its "
        "items. Items without a date are reported on stderr. Nothing is sent or stored.",
    )
    spikes.add_argument("inputs", nargs="+", metavar="INPUT", help="URL, file or directory")
    _rules_dir(spikes)
    spikes.add_argument(
        "--spike", action="append", default=[], metavar="ID", help="only this spike (repeatable)"
    )
    spikes.add_argument("--format", choices=("table", "jsonl"), default="table")


def _tools(sub: _Commands) -> None:
    """demo, config and send-test."""
    sub.add_parser(
        "demo",
        help="see it work: sample feeds, offline, alerts printed as a chat shows them",
        description="The whole pipeline in a few seconds, offline: sample feeds shipped with "
        "mediabot (Chinese, English, a Traditional Chinese edition) are served on 127.0.0.1 "
        "and polled, matched against demo rules, and every alert, edit and digest is "
        "printed as a chat would show it. Uses a temporary database; sends nothing, whatever "
        "token is set.",
    )

    sub.add_parser(
        "config",
        help="print the effective settings, secrets redacted",
        description="Print the effective settings (environment, .env, defaults); secrets redacted.",
    )

    send = sub.add_parser(
        "send-test",
        help="send a test message to a chat",
        description="Send a test message to CHAT (numeric id or @channel) to check the token "
        "and the bot's right to post there.",
    )
    send.add_argument("chat", metavar="CHAT")
    send.add_argument("--thread", type=int, help="forum topic (message thread) id")


def _db(sub: _Commands) -> None:
    """db upgrade and db prune."""
    db = sub.add_parser(
        "db",
        help="database maintenance",
        description="Database maintenance: schema migrations, pruning old rows.",
    )
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "upgrade",
        help="bring the database schema to this version",
        description="Bring the database schema to this version (migrations also run at the "
        "start of run and once); refuses while a service holds the SQLite database.",
    )
    db_sub.add_parser(
        "prune",
        help="delete old seen items and finished alerts",
        description="Delete seen items and sent or failed alerts older than "
        "MEDIABOT_SEEN_RETENTION_DAYS and MEDIABOT_OUTBOX_RETENTION_DAYS (each feed keeps its "
        "most recent items). The service does this daily; run it from cron with `once`.",
    )


def _feeds(sub: _Commands) -> None:
    """feeds add, remove and list: the feeds in the rule files."""
    feeds = sub.add_parser(
        "feeds",
        help="list, add or remove feeds in the rule files",
        description="Manage the feeds listed in the rule files.",
    )
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    fa = feeds_sub.add_parser(
        "add",
        help="add a feed to the rule files",
        description="Fetch URL once to check it is a feed, then add it to the rule files "
        "(comments kept, validated, written atomically). A running service picks it up.",
    )
    fa.add_argument("url", metavar="URL")
    fa.add_argument("--id", dest="feed_id", help="feed id (default: from the URL's host)")
    fa.add_argument("--interval", help="poll interval, e.g. 10m (30s..1d)")
    fa.add_argument("--name", help="display name (default: the feed's own title)")
    fa.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    fa.add_argument("--no-check", action="store_true", help="add without fetching it first")
    _rules_dir(fa)
    fr = feeds_sub.add_parser(
        "remove",
        help="remove a feed from the rule files",
        description="Remove the feed ID from the rule file that holds it (comments kept).",
    )
    fr.add_argument("feed_id", metavar="ID")
    _rules_dir(fr)
    fl = feeds_sub.add_parser(
        "list", help="list feeds", description="List the configured feeds: id, URL, interval, tags."
    )
    _rules_dir(fl)


def _rules_dir(command: argparse.ArgumentParser) -> None:
    command.add_argument("--rules", type=Path, help="rules directory (default: MEDIABOT_RULES_DIR)")
