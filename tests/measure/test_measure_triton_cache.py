"""A packed Triton cache is validated where it enters (issue 22 item 4, issue 18): a truncated or corrupt file,
a manifest nested thousands deep, group files of the wrong type, members over the size caps and paths that
leave the cache folder are each refused with one line naming the file and the member; ``install`` never
raises; the manifest's Python version and ``libtriton.so`` hash are compared and a mismatch is named; an
explicit ``--triton-cache`` that does not exist is an error on a CPU too. No compile needed: the archives
are made here, member by member."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from gpucompare.measure import triton_cache as tc

HASH = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST"


def _manifest(**extra) -> dict:
    return {
        "format": tc.FORMAT,
        "target": "cuda:90",
        "triton_version": "3.6.0",
        "triton_hash": tc.triton_build_hash(),
        **tc.build_identity(),
        "kernels": 1,
        **extra,
    }


def _kernel(name: str = "_copy_kernel", group: object = None) -> list[tuple[str, bytes]]:
    children = (
        group if group is not None else {f"{name}.cubin": f"{name}.cubin", f"{name}.json": f"{name}.json"}
    )
    return [
        (f"kernels/{HASH}/{name}.cubin", b"\x7fELF cubin"),
        (f"kernels/{HASH}/{name}.json", json.dumps({"name": name}).encode()),
        (f"kernels/{HASH}/__grp__{name}.json", json.dumps({"child_paths": children}).encode()),
    ]


def _pack(path: Path, members, manifest: bytes | dict | None = None) -> Path:
    data = manifest if isinstance(manifest, bytes) else json.dumps(manifest or _manifest()).encode()
    with tarfile.open(path, "w:gz") as tar:
        tc._add(tar, tc.MANIFEST, data)
        for name, blob in members:
            tc._add(tar, name, blob)
    return path


def test_a_well_formed_cache_installs_with_absolute_paths_inside_the_folder(tmp_path):
    packed = _pack(tmp_path / "ok.tgz", _kernel())
    status = tc.install(packed, tmp_path / "cache", "cuda:90")
    assert status.used, status.message
    grp = next((tmp_path / "cache").rglob("__grp__*.json"))
    for path in json.loads(grp.read_text())["child_paths"].values():
        assert Path(path).parent == grp.parent and Path(path).is_file()


def test_a_truncated_cache_is_a_clean_refusal_in_check_and_install(tmp_path):
    whole = _pack(tmp_path / "whole.tgz", _kernel() + _kernel("_triad_kernel"))
    blob = whole.read_bytes()
    for cut in (len(blob) // 2, len(blob) - 30, 20):
        cut_file = tmp_path / f"cut{cut}.tgz"
        cut_file.write_bytes(blob[:cut])
        status = tc.check(cut_file, "cuda:90")  # was EOFError
        assert not status.used and str(cut_file) in status.message
        assert "not a readable packed cache" in status.message or "no manifest.json" in status.message
        assert not tc.install(cut_file, tmp_path / f"dest{cut}", "cuda:90").used
        assert tc.read_manifest(cut_file) is None


def test_a_manifest_nested_deeply_is_refused_not_a_recursion_error(tmp_path):
    packed = _pack(tmp_path / "deep.tgz", _kernel(), manifest=b"[" * 100_000)
    status = tc.check(packed, "cuda:90")
    assert not status.used and "manifest.json is not valid JSON (or nested too deep)" in status.message


@pytest.mark.parametrize(
    "group",
    [
        ["_copy_kernel.cubin"],
        "x",
        42,
        {"_copy_kernel.cubin": 3},
        {"_copy_kernel.cubin": ["a"]},
        {"_copy_kernel.cubin": "/etc/passwd"},
        {"../../etc/passwd": "../../etc/passwd"},
        {"..": ".."},
        {".hidden": ".hidden"},
        {"a/b": "a/b"},
        {},
    ],
)
def test_group_files_of_the_wrong_type_or_with_paths_out_of_the_folder_are_refused(tmp_path, group):
    packed = _pack(tmp_path / "bad.tgz", _kernel(group=group))
    status = tc.install(packed, tmp_path / "cache", "cuda:90")  # never raises (was TypeError)
    assert not status.used and "child_paths" in status.message and "__grp__" in status.message
    assert not list((tmp_path / "cache").rglob("__grp__*"))  # refused before anything was written


def test_a_group_file_that_is_not_json_is_refused(tmp_path):
    members = [*_kernel()[:2], (f"kernels/{HASH}/__grp__x.json", b"[" * 50_000)]
    status = tc.install(_pack(tmp_path / "g.tgz", members), tmp_path / "cache", "cuda:90")
    assert not status.used and "not a JSON group file" in status.message


@pytest.mark.parametrize(
    "name",
    [
        "kernels/../../etc/passwd",
        "/etc/passwd",
        "kernels/x/y",
        f"kernels/{HASH}/../z",
        f"kernels/{HASH}/a/b",
        "other",
    ],
)
def test_members_outside_kernels_hash_file_are_refused(tmp_path, name):
    status = tc.check(_pack(tmp_path / "n.tgz", [(name, b"x")]), "cuda:90")
    assert not status.used
    assert "not kernels/<hash>/<file>" in status.message or "not a plain file name" in status.message


def test_a_link_member_is_refused(tmp_path):
    packed = tmp_path / "link.tgz"
    with tarfile.open(packed, "w:gz") as tar:
        tc._add(tar, tc.MANIFEST, json.dumps(_manifest()).encode())
        info = tarfile.TarInfo(f"kernels/{HASH}/_copy_kernel.cubin")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    status = tc.install(packed, tmp_path / "cache", "cuda:90")
    assert not status.used and "not a regular file" in status.message
    assert not (tmp_path / "cache" / HASH / "_copy_kernel.cubin").exists()


def test_a_member_over_the_cap_is_refused_from_its_header_without_reading_it(tmp_path):
    """The issue's 3 MB file with a 3 GiB member: the header alone is refused (the data is not even there)."""
    raw = io.BytesIO()
    manifest = json.dumps(_manifest()).encode()
    head = tarfile.TarInfo(tc.MANIFEST)
    head.size = len(manifest)
    raw.write(head.tobuf() + manifest + b"\0" * (-len(manifest) % 512))
    big = tarfile.TarInfo(f"kernels/{HASH}/_copy_kernel.cubin")
    big.size = 3 * 2**30
    raw.write(big.tobuf() + b"\0" * 4096)
    packed = tmp_path / "big.tgz"
    packed.write_bytes(gzip.compress(raw.getvalue()))
    status = tc.check(packed, "cuda:90")
    assert not status.used and "over the 67108864 per member" in status.message


def test_the_total_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(tc, "MAX_TOTAL_BYTES", 20)
    status = tc.check(_pack(tmp_path / "t.tgz", _kernel()), "cuda:90")
    assert not status.used and "bytes in all" in status.message


def test_another_python_or_libtriton_is_named(tmp_path):
    other = _manifest(python="3.12", libtriton_sha256="f" * 64)
    status = tc.check(_pack(tmp_path / "py.tgz", _kernel(), other), "cuda:90")
    here = tc.build_identity()
    assert not status.used
    assert (
        f"built with Python 3.12 / libtriton.so ffffffffffff, this is Python {here['python']}"
        in status.message
    )
    assert tc.check(_pack(tmp_path / "same.tgz", _kernel()), "cuda:90").used


def test_an_explicit_triton_cache_that_does_not_exist_is_an_error_on_a_cpu(tmp_path, capsys):
    from gpucompare import cli

    out = tmp_path / "runs"
    code = cli.main(
        ["run", "--only", "copy", "--out", str(out), "--triton-cache", str(tmp_path / "nonexistent")]
    )
    assert code == 2
    assert f"--triton-cache {tmp_path / 'nonexistent'}: no such file" in capsys.readouterr().err
    assert not list(out.rglob("records.jsonl"))
