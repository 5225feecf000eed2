"""Run a SIPVicious tool from one source address, optionally with another User-Agent:

    python sv_bound.py [--user-agent UA] svwar 127.0.0.32 [svwar args]

SIPVicious 0.3.8's svwar and svcrack accept `-b` but their main() never passes it to the scanner class,
so they always send from the default address. This wrapper hands the address to the class itself, so each
attacker in the lab is a distinct source.

`--user-agent` replaces `friendly-scanner` in every request the tool builds (its `makeRequest(useragent=)`),
as an attacker who patched the tool would: what the shield finds then comes from the messages' structure
and from the server's answers, not from the User-Agent (tests/shield/test_peer_detection.py).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any


def bind_to(module: Any, address: str) -> None:
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and "bindingip" in inspect.signature(cls.__init__).parameters:
            original = cls.__init__

            @functools.wraps(original)
            def bound_init(self: object, *a: object, _original: Any = original, **kw: object) -> None:
                kw["bindingip"] = address
                _original(self, *a, **kw)

            cls.__init__ = bound_init  # type: ignore[method-assign]


def use_user_agent(module: Any, user_agent: str) -> None:
    # Each tool imports makeRequest by name (`from sipvicious.libs.svhelper import makeRequest`).
    original: Callable[..., Any] = module.makeRequest

    @functools.wraps(original)
    def make_request(*a: object, **kw: object) -> Any:
        kw["useragent"] = user_agent
        return original(*a, **kw)

    module.makeRequest = make_request


def main() -> None:
    args = sys.argv[1:]
    user_agent = None
    if args[:1] == ["--user-agent"]:
        if len(args) < 2:
            sys.exit("sv_bound.py: --user-agent needs a value")
        user_agent, args = args[1], args[2:]
    if len(args) < 2:
        sys.exit("usage: sv_bound.py [--user-agent UA] TOOL ADDRESS [tool args]")
    tool, address, *rest = args
    module = importlib.import_module(f"sipvicious.{tool}")
    bind_to(module, address)
    if user_agent is not None:
        use_user_agent(module, user_agent)
    sys.argv = [f"sipvicious_{tool}", "-b", address, *rest]
    module.main()


if __name__ == "__main__":
    main()
