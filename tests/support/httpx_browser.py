"""The user's browser in the CLI sign-in tests: `$BROWSER` (Python's webbrowser) runs it with the
authorize URL; it follows the redirects, as a browser does, from the OpenID provider (which approves its
test user at once) to the CLI's loopback server. Exits 0 when the last page answered 200."""

import sys

import httpx

answer = httpx.get(sys.argv[1], follow_redirects=True, timeout=30)
sys.exit(0 if answer.status_code == 200 else 1)
