"""Run the `chemoden` command line under an audit hook (PEP 578) that stops the process at the
first network use or the first file opened outside the allowed places, so a test can prove
that a bad input made Chemoden fetch nothing and read nothing but itself and Chemoden's own
files. Allowed: Python and its packages, the project, the closure cache, and the paths in
CHEMODEN_GUARD_ALLOW (the input).

    CHEMODEN_GUARD_ALLOW=/tmp/x python tests/guard.py code /tmp/x/session.json
"""

import os
import sys

NETWORK = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.bind", "urllib.Request",
           "http.client.connect")
# read by the standard library itself (locale, MIME types, time zone), never chosen by an input
SYSTEM = ("/etc/mime.types", "/etc/localtime", "/usr/share/zoneinfo", "/etc/apache2/mime.types",
          "/etc/httpd/mime.types", "/etc/httpd/conf/mime.types", "/usr/local/etc/mime.types",
          "/usr/local/lib/netscape/mime.types", "/usr/local/etc/httpd/conf/mime.types", "/dev/null", "/dev/urandom")


def _allowed_roots() -> list[str]:
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, here}
    roots.update(p for p in sys.path if p)
    cache = os.environ.get("CHEMODEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "chemoden")
    roots.add(cache)
    roots.update(p for p in os.environ.get("CHEMODEN_GUARD_ALLOW", "").split(os.pathsep) if p)
    return sorted({os.path.realpath(r) for r in roots})


def main() -> int:
    roots = _allowed_roots()

    def stop(code: int, what: str) -> None:
        os.write(2, f"GUARD: {what}\n".encode("utf-8", "replace"))
        os._exit(code)

    def hook(event, args):
        if event in NETWORK:
            stop(99, f"network use: {event} {args!r}")
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            real = os.path.realpath(os.fsdecode(args[0]))
            if real in SYSTEM or any(real.startswith(s + os.sep) for s in SYSTEM):
                return
            if not any(real == r or real.startswith(r + os.sep) for r in roots):
                stop(98, f"read outside the input and the project: {real}")

    sys.addaudithook(hook)
    from reasoner.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
