"""The second wall around users' queries: a process that runs them cannot open a network connection.

SERVICE makes Oxigraph (and rdflib) send HTTP requests. safety.py refuses it from a parse of the
query; this wall holds should that check ever miss a spelling. On Linux, a seccomp filter
(libseccomp, through pyseccomp) makes socket() fail with EACCES for every address family but
AF_UNIX: no TCP, UDP (so no DNS either), raw or netlink socket can be made, while the pipes
between `chemoden serve` and its workers (AF_UNIX socket pairs made before the filter) go on
working. io_uring, which can make sockets without socket(), is refused too. The filter covers
every thread of the process and what it starts, and cannot be lifted.

Installed in the processes whose only remaining work is running users' queries: the query
workers of `chemoden serve` and `chemoden query` once its dataset is built. Never in the Python
API: it would cut the network of the caller's whole process.

Where seccomp is unavailable (not Linux, no libseccomp.so.2, a kernel or container that refuses
the filter), forbid_network() says so by returning False and the grammar check stands alone;
unavailable() gives the reason, for a start message or a status page.
"""

from __future__ import annotations

import errno
import socket
import sys

_up: bool | None = None  # None until forbid_network() is called in this process
_reason: str | None = None


def forbid_network() -> bool:
    """Make this process unable to open network sockets, for good; True when the wall is up.
    Called again, it answers as the first time did."""
    global _up, _reason
    if _up is None:
        _reason = _install()
        _up = _reason is None
    return _up


def unavailable() -> str | None:
    """Why the wall cannot go up here (None when nothing is known against it); once
    forbid_network() has been called, why it did not go up in this process."""
    if _up is not None:
        return _reason
    module = _pyseccomp()
    return module if isinstance(module, str) else None


def _pyseccomp():
    """The pyseccomp module, or why there is none."""
    if not sys.platform.startswith("linux"):
        return f"seccomp is Linux's; this is {sys.platform}"
    try:
        # imported here, not at the top: loading it runs ldconfig to find libseccomp, which only
        # the processes that put the wall up need
        import pyseccomp
    except (ImportError, OSError, RuntimeError) as exc:  # RuntimeError: pyseccomp's "Unable to find libseccomp"
        return f"seccomp is unavailable ({type(exc).__name__}: {exc})"
    return pyseccomp


def _install() -> str | None:
    seccomp = _pyseccomp()
    if isinstance(seccomp, str):
        return seccomp
    try:
        wall = seccomp.SyscallFilter(seccomp.ALLOW)
        wall.set_attr(seccomp.Attr.CTL_TSYNC, 1)  # every thread, not only the calling one
        refuse = seccomp.ERRNO(errno.EACCES)
        for call in ("socket", "socketpair"):
            wall.add_rule(refuse, call, seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        try:  # io_uring can make sockets without socket(): answered as a kernel without io_uring would
            wall.add_rule(seccomp.ERRNO(errno.ENOSYS), "io_uring_setup")
        except (OSError, ValueError):  # a libseccomp older than io_uring: nor does its kernel have it, most likely
            pass
        wall.load()
    except (OSError, ValueError, AttributeError) as exc:  # the kernel or the container refuses, or an old libseccomp
        return f"the seccomp filter could not be installed ({type(exc).__name__}: {exc})"
    return None
