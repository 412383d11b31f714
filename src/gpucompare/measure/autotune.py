"""Which autotune config each Triton kernel ran with: recorded around an implementation's first call.

``with record_configs() as chosen: fn()`` wraps ``triton.runtime.autotuner.Autotuner.run`` for the duration of
the block and stores, per kernel (the autotuned function's name), the config the autotuner chose for that
call (``best_config``: the block sizes and the ``num_warps`` / ``num_stages`` / ... launch options). Nothing
is recorded (``{}``) when the call ran no autotuned Triton kernel or Triton was not loaded before the block
(the implementation's ``build`` imports its kernel module, and with it Triton). The runner stores
the result in the record's ``kernel_config``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


def config_dict(config: Any) -> dict[str, Any]:
    """A ``triton.Config`` as plain JSON: its kernel arguments and the launch options that are set."""
    out: dict[str, Any] = {}
    for key, value in dict(config.all_kwargs()).items():
        if value is None or callable(value):
            continue
        out[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


@contextlib.contextmanager
def record_configs() -> Iterator[dict[str, dict[str, Any]]]:
    """Yield a dict that fills, as autotuned kernels run in the block, with ``{kernel name: config}``."""
    chosen: dict[str, dict[str, Any]] = {}
    module = sys.modules.get("triton.runtime.autotuner")
    if module is None:  # Triton is not loaded (never imported here: that is hw.configure_triton's job)
        yield chosen
        return
    cls = module.Autotuner
    run = cls.run

    def recording_run(self, *args: Any, **kwargs: Any) -> Any:
        out = run(self, *args, **kwargs)
        config = getattr(self, "best_config", None)
        if config is not None:
            name = getattr(getattr(self, "base_fn", None), "__name__", None) or repr(self.fn)
            chosen[name] = config_dict(config)
        return out

    cls.run = recording_run
    try:
        yield chosen
    finally:
        cls.run = run
