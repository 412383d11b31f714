"""Measuring on this machine: what the device is (:mod:`.device`), the peaks it is compared with
(:mod:`.peaks`), NVML telemetry (:mod:`.telemetry`), the one timing rule (:mod:`.timing`) and the runner that
turns a (workload, shape, dtype, impl) into a record (:mod:`.runner`). Submodules are imported by name:
importing this package loads neither torch nor Triton."""
