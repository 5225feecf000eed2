"""Run a SIPVicious tool from one source address: `python sv_bound.py svwar 127.0.0.32 [svwar args]`.

SIPVicious 0.3.8's svwar and svcrack accept `-b` but their main() never passes it to the scanner class,
so they always send from the default address. This wrapper hands the address to the class itself, so each
attacker in the lab is a distinct source.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys


def main() -> None:
    tool, address, *args = sys.argv[1:]
    module = importlib.import_module(f"sipvicious.{tool}")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and "bindingip" in inspect.signature(cls.__init__).parameters:
            original = cls.__init__

            @functools.wraps(original)
            def bound_init(self: object, *a: object, _original: object = original, **kw: object) -> None:
                kw["bindingip"] = address
                _original(self, *a, **kw)  # type: ignore[operator]

            cls.__init__ = bound_init
    sys.argv = [f"sipvicious_{tool}", "-b", address, *args]
    module.main()


if __name__ == "__main__":
    main()
