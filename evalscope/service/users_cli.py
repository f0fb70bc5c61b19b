"""`evalscope service users add|list|revoke`: manage the service's users in its database.

It works on the database the service uses (``--database-url``, else ``$EVALSCOPE_DATABASE_URL``,
else ``<work dir>/service.db`` with ``--work-dir`` / ``$EVALSCOPE_WORK_DIR``), so it runs beside a
running service: a new user's token works at once, a revoked one stops at once. Each change is
written to the audit trail (``<work dir>/audit.jsonl``) with the operator's login as the actor.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROLES = ("admin", "member", "viewer")


def register_users(service_parser: argparse.ArgumentParser) -> None:
    """Add the ``users`` sub-command under ``evalscope service``."""
    sub = service_parser.add_subparsers(dest="service_command", metavar="{users}")
    users = sub.add_parser(
        "users",
        help="manage users: named tokens with a role (admin, member, viewer)",
        description="Users of the service: each has a bearer token (shown once) and a role.",
    )
    actions = users.add_subparsers(dest="users_action", metavar="{add,list,revoke}", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        # Own destinations: a sub-command's defaults would overwrite the service flags of the same name.
        p.add_argument(
            "--work-dir",
            dest="users_work_dir",
            default=None,
            help="the service's --work-dir (its database and audit trail live there; default outputs)",
        )
        p.add_argument(
            "--database-url",
            dest="users_database_url",
            default=None,
            help="the service's --database-url (default: $EVALSCOPE_DATABASE_URL, else <work-dir>/service.db)",
        )
        p.set_defaults(func=run_users)

    add = actions.add_parser("add", help="add a user and print its token (once)")
    add.add_argument("name", help="user name (letters, digits, _ . @ -)")
    add.add_argument("--role", choices=ROLES, default="member", help="admin, member (default) or viewer")
    common(add)
    lst = actions.add_parser("list", help="list users (never their tokens)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    common(lst)
    rev = actions.add_parser("revoke", help="stop a user's token now")
    rev.add_argument("name")
    common(rev)


def _locate(args: argparse.Namespace) -> tuple[str, Path]:
    """The database URL and the service's folder (for the audit trail)."""
    from evalscope.service.settings import ServiceSettings

    options: dict[str, Any] = {}
    if args.users_work_dir:
        options["work_dir"] = Path(args.users_work_dir)
    if args.users_database_url:
        options["database_url"] = args.users_database_url
    settings = ServiceSettings(**options)
    return settings.db_url, settings.base_dir


def run_users(args: argparse.Namespace) -> int:
    """Run one ``users`` action; 0 on success, 1 when the user is unknown or exists, 2 on bad input."""
    import getpass

    from evalscope.jobs import JobStore
    from evalscope.jobs import users as u
    from evalscope.service.audit import AuditLog

    try:
        url, base = _locate(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    action = args.users_action
    if action != "add" and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        print(
            f"error: no service database at {url[len('sqlite:///') :]} (give --work-dir or --database-url)",
            file=sys.stderr,
        )
        return 2
    if action == "add":
        try:
            u.check_name(args.name)
        except ValueError as exc:
            print(f"error: name: {exc}", file=sys.stderr)
            return 2
    try:
        operator = f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container without passwd entry)
        operator = "cli"
    store = JobStore(url)
    try:
        if action == "add":
            try:
                user, token = u.add_user(store, args.name, args.role, created_by=operator)
            except u.UserExists as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            AuditLog(base).record(operator, "user.add", user.name, role=user.role.value)
            print(f"user {user.name} ({user.role.value}) added; its token, shown only now:", file=sys.stderr)
            print(token)
            return 0
        if action == "revoke":
            revoked = u.revoke_user(store, args.name)
            if revoked is None:
                print(f"error: no user {args.name!r}", file=sys.stderr)
                return 1
            AuditLog(base).record(operator, "user.revoke", revoked.name)
            print(f"user {revoked.name} revoked", file=sys.stderr)
            return 0
        users = u.list_users(store)
        if args.json:
            print(json.dumps([x.model_dump(mode="json") for x in users], indent=2))
        else:
            for x in users:
                state = f"revoked {x.revoked_at:%Y-%m-%d %H:%M}" if x.revoked_at else "active"
                print(
                    f"{x.name}\t{x.role.value}\t{state}\tadded {x.created_at:%Y-%m-%d %H:%M} by {x.created_by or '-'}"
                )
        return 0
    finally:
        store.close()
