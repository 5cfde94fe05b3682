"""`prosync login --api URL`: sign the CLI in to a deployed ProSync through the browser (authorization
code + PKCE, loopback redirect on 127.0.0.1, as `aws sso login` does); `prosync logout --api URL`
forgets (and revokes) it. `prosync submit --api URL` then needs no --token: it uses the stored sign-in
and refreshes its access token. Where to sign in comes from the deployment's auth-config.json
(`{origin of URL}/auth-config.json`), or --authority and --client-id. See devstack/signin.py."""

from __future__ import annotations

import os
import sys
import webbrowser

from rich.console import Console


def register(sub) -> None:
    parser = sub.add_parser(
        "login", help="sign the CLI in to a deployed API (browser, loopback redirect)", description=__doc__
    )
    _api_argument(parser)
    parser.add_argument("--authority", default=None, help="OpenID issuer URL (default: auth-config.json's)")
    parser.add_argument("--client-id", default=None, help="public client id (default: auth-config.json's)")
    parser.add_argument("--scope", default=None, help="default: the config's, else 'openid email profile'")
    parser.add_argument("--port", type=int, default=None, help="loopback port of the redirect "
                        "http://localhost:PORT/callback (default: the first free of auth-config.json's "
                        "cliRedirectUris, else of 8765-8767)")
    parser.add_argument("--no-browser", action="store_true", help="print the sign-in URL, open no browser")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the browser")
    parser.set_defaults(func=run_login)

    out = sub.add_parser("logout", help="forget the CLI's sign-in to a deployed API (revoking it)")
    _api_argument(out)
    out.set_defaults(func=run_logout)


def _api_argument(parser) -> None:
    parser.add_argument("--api", default=os.environ.get("PROSYNC_API_URL"), required=not os.environ.get(
        "PROSYNC_API_URL"), help="the deployed API's base URL (…/api/v1), default $PROSYNC_API_URL")


def run_login(args) -> int:
    from devstack import signin  # noqa: PLC0415 (Authlib only for the commands that sign in)

    console = Console(stderr=True)

    def open_browser(url: str) -> None:
        console.print("Sign in in your browser; if it did not open, go to:")
        console.print(url, soft_wrap=True, highlight=False)
        if not args.no_browser:
            webbrowser.open(url)

    try:
        entry = signin.login(args.api, open_browser, authority=args.authority, client_id=args.client_id,
                             scope=args.scope, port=args.port, timeout=args.timeout)
    except (signin.SignInError, OSError) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    console.print(f"[green]signed in[/] to {signin.api_base(args.api)} at {entry['authority']}; "
                  f"kept in {signin.CredentialStore().path}")
    return 0


def run_logout(args) -> int:
    from devstack import signin  # noqa: PLC0415

    forgotten = signin.logout(args.api)
    print(f"signed out of {signin.api_base(args.api)}" if forgotten else "was not signed in", file=sys.stderr)
    return 0
