"""The app server `routeledger app` becomes: Streamlit, answering only requests addressed to it.

Binding to 127.0.0.1 keeps other machines out, not web pages: a page on any site can
point its own host name at 127.0.0.1 (DNS rebinding) and then talk to the server as
"same origin". The browser still sends that site's name in `Host` (and `Origin`), so the
server refuses every request whose Host is not a name it serves (403), and every
websocket whose Origin is not one of those names. The check is the outermost ASGI
middleware of Streamlit's own server, installed before Streamlit starts.

Run as `python -m pipelines.serve --address ADDRESS --port PORT SCRIPT`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def served_hosts(address: str, port: int) -> frozenset[str]:
    """The `Host` values a browser sends for this server: loopback names and the chosen address."""
    bound = f"[{address}]" if ":" in address and not address.startswith("[") else address
    names = {*LOOPBACK_NAMES, bound.lower()}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # a browser leaves the default port out
        hosts |= names
    return frozenset(hosts)


class ServedHostsOnly:
    """ASGI middleware: 403 for a Host not served, and for a websocket from a foreign Origin."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.origins = frozenset(f"{scheme}://{host}" for host in self.hosts for scheme in ("http", "https"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._allowed(scope):
            if scope["type"] == "http":
                from starlette.responses import PlainTextResponse

                response = PlainTextResponse("403: this server answers only its own host names", status_code=403)
                await response(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        hosts = [value for name, value in scope["headers"] if name.lower() == b"host"]
        origins = [value for name, value in scope["headers"] if name.lower() == b"origin"]
        if len(hosts) != 1 or hosts[0].decode("latin-1").lower() not in self.hosts:
            return False
        if scope["type"] == "websocket" and origins:
            return len(origins) == 1 and origins[0].decode("latin-1").lower() in self.origins
        return True


def is_loopback(address: str) -> bool:
    return address.strip("[]").lower() in {"127.0.0.1", "localhost", "::1"}


# What Streamlit's st.login needs in [auth] (or per provider, in [auth.<name>]): where it redirects back,
# the secret that signs its cookie, and the identity provider's client and discovery URL.
AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def secrets_files(project_root: Path) -> list[Path]:
    """Where Streamlit reads secrets from, for an app run from `project_root`: the user's, then the project's."""
    return [Path.home() / ".streamlit" / "secrets.toml", project_root / ".streamlit" / "secrets.toml"]


def auth_problem(files: Iterable[Path]) -> str | None:
    """Why OIDC login (st.login) is not configured in these secrets files, or None when it is."""
    import tomllib

    auth: dict[str, Any] = {}
    for path in files:
        if path.is_file():
            try:
                auth |= tomllib.loads(path.read_text(encoding="utf-8")).get("auth", {})
            except (tomllib.TOMLDecodeError, OSError) as exc:
                return f"{path} cannot be read: {exc}"
    if not auth:
        return "no [auth] section in .streamlit/secrets.toml"
    missing = [key for key in AUTH_KEYS if not auth.get(key)]
    providers = [value for value in auth.values() if isinstance(value, dict)] or [auth]
    if not any(all(provider.get(key) for key in PROVIDER_KEYS) for provider in providers):
        missing.append(" / ".join(PROVIDER_KEYS) + " (in [auth] or an [auth.<provider>] section)")
    if missing:
        return f"[auth] lacks {', '.join(missing)}"
    if importlib.util.find_spec("authlib") is None:
        return "Authlib is not installed (st.login needs it): pip install 'routeledger[auth]'"
    return None


def install(hosts: Iterable[str]) -> None:
    """Put ServedHostsOnly in front of the middleware Streamlit's server is built with."""
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app

    streamlit_middleware = starlette_app.create_streamlit_middleware
    guard = Middleware(ServedHostsOnly, hosts=frozenset(hosts))
    starlette_app.create_streamlit_middleware = lambda: [guard, *streamlit_middleware()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.serve")
    parser.add_argument("script")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args(argv)
    install(served_hosts(args.address, args.port))

    from streamlit.web import cli as streamlit_cli

    sys.argv = [
        "streamlit", "run", args.script,
        "--server.address", args.address,
        "--server.port", str(args.port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    streamlit_cli.main()


if __name__ == "__main__":
    main()
