"""A hostile campaign over every command (issue 22: "no traceback in 10,000 hostile calls"); not a test.

    nice python tests/hostile_campaign.py [CALLS] [SEED]

Each call is ``gpucompare.cli.main(argv)`` in this process (fast), with hostile arguments and inputs: mutated
chip databases, claims files and ledgers (as data and as bytes, deeply nested, oversized), corrupted run
folders (records mutated, files cut, FIFOs, symlinks, /dev/zero), hostile names and numbers, terminal escapes.
A call counts as a *traceback* when an exception escapes ``main``, when it exits 70 (an internal error: the
CLI's one line for a bug), or when anything on stderr is not a ``gpucompare...`` line; as a *hang* when it
takes over 60 s. ``run`` is called with its real argument parsing, its measuring stubbed (checked before it
would measure). Prints the counts per command; exit status 1 when any call was a traceback or a hang.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_fuzz_inputs import sample_run, write_run  # noqa: E402

from gpucompare import cli  # noqa: E402
from gpucompare.specs import db as chipdb  # noqa: E402
from gpucompare.specs import published  # noqa: E402

ROOT = HERE.parent
HOSTILE_NUMBERS = [
    "-1",
    "0",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "9" * 400,
    "9" * 40,
    "0x10",
    "1_000",
    " ",
    "",
    "2**40",
]
HOSTILE_NAMES = [
    "",
    " ",
    "h20",
    "H100",
    "h200",
    "H20",
    "b200",
    "ascend-910c",
    "nochip",
    "h20\x1b[2J",
    "\x00",
    "é" * 50,
    "x" * 5000,
    "-h",
    "--json",
    "../../etc/passwd",
    "a,b",
    "h20:h20",
    "fp99",
    "bf16",
    "gemm",
    "all_reduce",
]
JSON_HOSTILE: list = [
    None, 10**400, -(10**30), 2**63, -1, 0, 1e308, float("nan"), float("inf"), True, "", "x" * 10000,
    "\x1b[31mred\x1b[0m", "=cmd|' /C calc'!A0", "+1", "@SUM(A1)", [], {}, [1, "a"], {"a": {"b": {}}},
    "unknown", "h100-sxm", "nochip", "fp99", 1e-320,
]  # fmt: skip
TOML_SNIPPETS = [
    "\nx = " + "[" * 3000 + "]" * 3000 + "\n",
    "\nx = 1e400\n",
    "\nx = nan\n",
    "\nx = 'a'\n",
    "\n[[chips]]\n",
    "\n[[entries]]\n",
    "\n[[claim]]\n",
    '\nvalue = "' + "9" * 1000 + '"\n',
    "\nhq = '" + "x" * 100000 + "'\n",
    "\n\x00\n",
    '\nid = "h20"\n',
    "\ndtype = 'fp99'\n",
    "\nvalue = -1\n",
    "\nvalue = 10000000000000000000000\n",
]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


# ---------------------------------------------------------------- hostile inputs


def _paths(o, p: tuple) -> list[tuple]:
    out = [p]
    if isinstance(o, dict):
        for k, v in o.items():
            out += _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            out += _paths(v, (*p, i))
    return out


def _mutate_json(obj, rng: random.Random, n: int = 2):
    obj = copy.deepcopy(obj)
    for _ in range(n):
        paths = _paths(obj, ())
        path = rng.choice(paths[1:]) if len(paths) > 1 else ()
        if not path:
            return copy.deepcopy(rng.choice(JSON_HOSTILE))
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        op = rng.choice(("replace", "replace", "replace", "delete", "wrap", "add"))
        if op == "delete":
            del parent[path[-1]]
        elif op == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif op == "add" and isinstance(parent, dict):
            parent[rng.choice(("zz", "collective", "chip_id", "size_bytes"))] = copy.deepcopy(
                rng.choice(JSON_HOSTILE)
            )
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(JSON_HOSTILE))
    return obj


def _mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(max(len(raw), 1))
    op = rng.choice(("cut", "insert", "utf8", "line", "snippet", "delete"))
    if op == "cut":
        return raw[:i]
    if op == "insert":
        return raw[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + raw[i:]
    if op == "utf8":
        return raw[:i] + rng.choice((b"\xff", b"\xc3", b"\x00", b"\x1b[2J")) + raw[i:]
    if op == "delete":
        return raw[:i] + raw[i + rng.randint(1, 60) :]
    if op == "snippet":
        return raw + rng.choice(TOML_SNIPPETS).encode()
    lines = raw.split(b"\n")
    j = rng.randrange(len(lines))
    return b"\n".join([*lines[: j + 1], lines[j], *lines[j + 1 :]])


def _toml_text(source: Path, header: str, keep: int = 4) -> str:
    text = source.read_text(encoding="utf-8")
    sep = f"\n{header}\n"
    return sep.join(text.split(sep)[: keep + 1])


def _special_file(tmp: Path, rng: random.Random, name: str) -> str | None:
    """Sometimes a FIFO, /dev/zero, a folder, a dangling symlink or a missing path instead of a file."""
    roll = rng.random()
    if roll > 0.12:
        return None
    kind = rng.choice(("fifo", "zero", "dir", "dangling", "missing"))
    path = tmp / f"{name}.{kind}.{rng.randrange(10**9)}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        return "/dev/zero"
    elif kind == "dir":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(tmp / "nowhere")
    return str(path)


class Inputs:
    def __init__(self, tmp: Path, rng: random.Random):
        self.tmp, self.rng, self.n = tmp, rng, 0
        self.toml = {
            "chips": _toml_text(chipdb.DEFAULT_PATH, "[[chips]]", 6),
            "claims": _toml_text(ROOT / "seeds" / "claims.toml", "[[claim]]", 4),
            "ledger": _toml_text(published.DEFAULT_PATH, "[[entries]]", 4),
        }

    def new(self, suffix: str) -> Path:
        self.n += 1
        return self.tmp / f"{self.n}{suffix}"

    def toml_file(self, kind: str) -> str:
        special = _special_file(self.tmp, self.rng, kind)
        if special:
            return special
        path = self.new(".toml")
        raw = self.toml[kind].encode()
        for _ in range(self.rng.randint(1, 3)):
            raw = _mutate_bytes(raw, self.rng)
        path.write_bytes(raw)
        return str(path)

    def run_folder(self) -> str:
        special = _special_file(self.tmp, self.rng, "run")
        if special:
            return special
        machine, records = sample_run()
        rng = self.rng
        if rng.random() < 0.3:  # a collective record / an unknown chip / odd pairs
            coll = dict(records[0], workload="all_reduce", family="collective", intent="communication")
            coll["collective"] = {"world_size": 8, "backend": "nccl", "size_bytes": 1 << 30, "busbw_gbps": 300.0,
                                  "algbw_gbps": 170.0, "algorithm": "Ring", "bus_factor": 1.75}  # fmt: skip
            records.append(coll)
        if rng.random() < 0.2:
            chip = rng.choice(("nochip", "ascend-910c", "h20", "rtx-4090", "\x1b[2J"))
            machine["chip_id"] = chip
            for r in records:
                r["chip_id"] = chip
        if rng.random() < 0.15:
            machine["mode"] = "cpu-fallback"
            for r in records:
                r["mode"] = "cpu-fallback"
        if rng.random() < 0.7:
            if rng.random() < 0.5:
                machine = _mutate_json(machine, rng, rng.randint(1, 2))
            else:
                i = rng.randrange(len(records))
                records[i] = _mutate_json(records[i], rng, rng.randint(1, 3))
        folder = self.new("-run")
        write_run(folder, machine, records)
        if rng.random() < 0.15:
            path = folder / rng.choice(("run.json", "records.jsonl"))
            path.write_bytes(_mutate_bytes(path.read_bytes(), rng))
        return str(folder)

    def out_dir(self) -> str:
        rng = self.rng
        roll = rng.random()
        out = self.new("-out")
        if roll < 0.1:
            return ""
        if roll < 0.2:
            out.mkdir()
            (out / "README.md").write_text("mine\n")
        elif roll < 0.3:
            out.mkdir()
            (out / "tables").symlink_to(self.tmp)
        elif roll < 0.35:
            out.write_text("a file\n")
        elif roll < 0.4:
            out.mkdir()
            (out / ".gpucompare-report-manifest.json").write_text(rng.choice(("{}", "[" * 10000, "x")))
        return str(out)


# ---------------------------------------------------------------- hostile calls per command


def _num(rng):
    return rng.choice([*HOSTILE_NUMBERS, str(rng.randint(-5, 100)), f"{rng.uniform(-1, 1e3):g}"])


VALID_CHIPS = [
    "h20",
    "h100",
    "h200",
    "b200",
    "a100",
    "ascend-910c",
    "mi300x",
    "H20",
    "NVIDIA H100 PCIe",
    "l40s",
]


def _name(rng):
    return rng.choice(VALID_CHIPS) if rng.random() < 0.6 else rng.choice(HOSTILE_NAMES)


def _maybe(rng, p, *args):
    return list(args) if rng.random() < p else []


def argv_for(command: str, inp: Inputs) -> list[str]:
    rng = inp.rng

    def runs() -> list[str]:
        return ["--runs", inp.run_folder()]

    if command == "specs":
        return ["specs", *_maybe(rng, 0.5, "--file", inp.toml_file("chips")), *_maybe(rng, 0.3, _name(rng)),
                *_maybe(rng, 0.2, "--match", _name(rng)), *_maybe(rng, 0.1, "--sm-count", _num(rng)),
                *_maybe(rng, 0.1, "--memory-gb", _num(rng)), *_maybe(rng, 0.3, "--json")]  # fmt: skip
    if command == "claims":
        return ["claims", *_maybe(rng, 0.5, "--file", inp.toml_file("claims")),
                *_maybe(rng, 0.3, "--results", inp.run_folder()), *_maybe(rng, 0.2, "--id", _name(rng)),
                *_maybe(rng, 0.3, "--json"), *_maybe(rng, 0.2, "-v")]  # fmt: skip
    if command == "published":
        return ["published", *_maybe(rng, 0.6, "--file", inp.toml_file("ledger")),
                *_maybe(rng, 0.2, "--chip", _name(rng)), *_maybe(rng, 0.2, "--workload", _name(rng)),
                *_maybe(rng, 0.1, "--group", _name(rng)), *_maybe(rng, 0.3, "--json")]  # fmt: skip
    if command == "compare":
        return ["compare", _name(rng), _name(rng), *_maybe(rng, 0.5, *runs()), *_maybe(rng, 0.3, "--json")]
    if command == "workloads":
        return ["workloads", *_maybe(rng, 0.5, "--floor", _name(rng)), *_maybe(rng, 0.3, "--dtype", _name(rng)),
                *_maybe(rng, 0.3, "--tier", rng.choice(("cpu", "gpu", "tpu"))), *_maybe(rng, 0.3, "--json")]  # fmt: skip
    if command == "validate":
        return ["validate", *_maybe(rng, 0.5, "--json")]
    if command == "predict":
        shape = rng.choice(["M=" + _num(rng), "N=" + _num(rng), "K=" + _num(rng), "x=1", "M", "=", "hq=" + _num(rng),
                            "causal=" + rng.choice(("1", "maybe", "true")), "M=4096,N=" + _num(rng)])  # fmt: skip
        return ["predict", _name(rng), rng.choice(("gemm", "attention_fwd", "decode", "copy", "all_reduce", _name(rng))),
                *_maybe(rng, 0.7, "--shape", shape), *_maybe(rng, 0.3, "--dtype", _name(rng)),
                *_maybe(rng, 0.2, "--exclude-chip", _name(rng)), *_maybe(rng, 0.3, "--json")]  # fmt: skip
    if command == "project":
        return ["project", *runs(), *_maybe(rng, 0.5, "--chips", ",".join(_name(rng) for _ in range(2))),
                *_maybe(rng, 0.5, "--include-cpu"), *_maybe(rng, 0.5, "--json")]  # fmt: skip
    if command == "report":
        pairs = f"{_name(rng)}:{_name(rng)}" if rng.random() < 0.5 else "h200:h20"
        return ["report", *_maybe(rng, 0.8, *runs()), "--out", inp.out_dir(), "--no-plots",
                *_maybe(rng, 0.3, "--include-cpu"), *_maybe(rng, 0.3, "--pairs", pairs)]  # fmt: skip
    if command == "diff":
        return ["diff", inp.run_folder(), inp.run_folder(), *_maybe(rng, 0.3, "--json")]
    if command == "run":
        return ["run", *_maybe(rng, 0.3, "--timeout", _num(rng)), *_maybe(rng, 0.3, "--nproc", _num(rng)),
                *_maybe(rng, 0.3, "--budget", _num(rng)), *_maybe(rng, 0.3, "--out", inp.out_dir()),
                *_maybe(rng, 0.3, "--only", _name(rng)), *_maybe(rng, 0.3, "--dtypes", _name(rng)),
                *_maybe(rng, 0.2, "--tier", rng.choice(("cpu", "gpu", "x")))]  # fmt: skip
    raise ValueError(command)


#: Relative weights: the slow commands (report, project, validate, claims) less often.
WEIGHTS = {"specs": 14, "claims": 6, "published": 12, "compare": 12, "workloads": 10, "validate": 2,
           "predict": 14, "project": 8, "report": 4, "diff": 10, "run": 8}  # fmt: skip


def _stub_run(monkey: list) -> None:
    """``run`` parses and checks its arguments for real; the measuring itself is replaced (minutes each)."""
    from gpucompare.commands import distributed
    from gpucompare.measure import runner

    def suite(*args, **kwargs):
        raise SystemExit(0)  # reached only with arguments that passed every check

    monkey += [(runner, "run_suite", runner.run_suite), (distributed, "spawn", distributed.spawn)]
    runner.run_suite = suite
    distributed.spawn = lambda *a, **k: 0


def one_call(argv: list[str]) -> tuple[str, int | None, str]:
    err, out = io.StringIO(), io.StringIO()
    signal.alarm(60)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                rc = cli.main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
    except Hang:
        return "hang", None, "over 60 s"
    except BaseException as exc:
        return "traceback", None, "".join(traceback.format_exception_only(type(exc), exc))[-300:]
    finally:
        signal.alarm(0)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    bad = [
        line
        for line in lines
        if not line.startswith(("gpucompare", "usage:", "note:", "  ")) and "Traceback" not in line
    ]
    if rc == 70 or any("Traceback" in line for line in lines):
        return "traceback", rc, err.getvalue()[-400:]
    if bad:
        return "stray stderr", rc, bad[0][:300]
    return f"exit {rc}", rc, ""


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 22
    rng = random.Random(seed)
    signal.signal(signal.SIGALRM, _alarm)
    monkey: list = []
    _stub_run(monkey)
    counts: dict[str, Counter] = defaultdict(Counter)
    samples: dict[str, list] = defaultdict(list)
    start = time.time()
    names, weights = zip(*WEIGHTS.items())
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        os.chdir(tmp)
        inp = Inputs(Path(tmp), rng)
        for i in range(calls):
            command = rng.choices(names, weights)[0]
            argv = argv_for(command, inp)
            outcome, _, detail = one_call(argv)
            counts[command][outcome] += 1
            if outcome in ("traceback", "hang", "stray stderr") and len(samples[command]) < 8:
                samples[command].append((argv, detail))
            if (i + 1) % 500 == 0:
                print(f"{i + 1} calls, {time.time() - start:.0f} s", file=sys.__stderr__, flush=True)
    total_bad = 0
    print(f"hostile campaign: {calls} calls, seed {seed}, {time.time() - start:.0f} s")
    for command in sorted(counts):
        c = counts[command]
        bad = c["traceback"] + c["hang"] + c["stray stderr"]
        total_bad += bad
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
        print(f"  {command:10s} {sum(c.values()):6d} calls  {bad:4d} tracebacks/hangs  ({outcomes})")
    for command, items in samples.items():
        for argv, detail in items:
            print(f"--- {command}: {json.dumps(argv)[:300]}\n    {detail.strip()[:400]}")
    return 1 if total_bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
