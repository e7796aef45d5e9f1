"""Hostile and careless input, end to end: exit code, time, peak memory, and the input left intact.

Builds each hostile file in a temporary folder (compression bombs that inflate
to gigabytes, a 50 MB cell, a million-field line, outputs aimed at the input,
a destructive SQL query, ...), runs ``anomalyzer`` on it as a user would (a
subprocess, under an address-space limit so a failure cannot take the machine
down), and prints one row per case: exit code, wall seconds, peak resident
memory (MiB), whether every input file is byte-identical afterwards, and the
first line the command printed on standard error. Targets: exit 0 or 2 (never
1), peak under 1 GiB for the bombs, under 60 s for the hang cases.

    python benchmarks/hostile.py            # every case, table saved to benchmarks/results/hostile.txt
    python benchmarks/hostile.py --only bomb
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import resource
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "hostile.txt"
# Address space of each run: generous for Python with numpy and scikit-learn, small
# enough that a runaway read fails inside the run instead of starving the machine.
ADDRESS_LIMIT = 6 << 30
TIMEOUT = 300
TARGET_MIB = 1024
TARGET_SECONDS = 60
GIB = 1 << 30


@dataclass
class Case:
    name: str
    kind: str  # "bomb", "hang", "loss" or "dirt": what the case threatens
    args: list[str]
    inputs: list[Path]
    stdin: Path | None = None
    expect: tuple[int, ...] = (0, 2)
    notes: list[str] = field(default_factory=list)


# -- building hostile files ------------------------------------------------------------


def _deflate_repeated(chunk: bytes, times: int) -> tuple[bytes, int, int]:
    """Raw deflate data of ``chunk`` repeated ``times`` times, built without compressing
    it all: after a full flush a compressor forgets its history, so every repetition
    compresses to the same bytes. Returns (data, crc32, inflated size)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush(zlib.Z_FINISH)
    assert first == again, "the compressor did not repeat itself"
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return first * times + tail, crc, len(chunk) * times


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip archive from (name, data, method, crc, size) entries, data already compressed."""
    out = io.BytesIO()
    central = []
    for name, data, method, crc, size in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21,
                              crc, len(data), size, len(encoded), 0))  # fmt: skip
        out.write(encoded)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0,
                                   0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0,
                                   offset) + encoded)  # fmt: skip
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size,
                          start, 0))  # fmt: skip
    return out.getvalue()


def _table(path: Path, n: int = 500, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "k": rng.choice(["x", "y", "z"], n)})  # fmt: skip
    df.loc[7, "a"] = 25.0
    df.to_csv(path, index=False)
    return path


def _model(tmp: Path, data: Path) -> Path:
    path = tmp / "model.azm"
    subprocess.run([sys.executable, "-m", "anomalyzer.cli", "detect", str(data), "-d", "mad",
                    "--top", "0", "--save", str(path)], check=True, capture_output=True)  # fmt: skip
    return path


def _forge(model: Path, target: Path, payload: bytes) -> Path:
    """``model`` with its payload replaced and the digests recomputed (a forger's file)."""
    from anomalyzer import persist

    with zipfile.ZipFile(model) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["payload"]["sha256"] = hashlib.sha256(payload).hexdigest()
    manifest["digest"] = persist._digest(manifest, payload)
    body = json.dumps(manifest).encode()
    target.write_bytes(_raw_zip([
        ("manifest.json", body, 0, zlib.crc32(body), len(body)),
        ("detector.skops", payload, 0, zlib.crc32(payload), len(payload)),
    ]))  # fmt: skip
    return target


def _bomb_entry(size: int, chunk: bytes = bytes(16 << 20)) -> tuple[bytes, int, int, int]:
    data, crc, inflated = _deflate_repeated(chunk, size // len(chunk))
    return data, 8, crc, inflated


def build_cases(tmp: Path, only: str | None) -> list[Case]:
    data = _table(tmp / "data.csv")
    model = _model(tmp, data)
    cases: list[Case] = []

    def add(name: str, kind: str, make: Callable[[], tuple[list[str], list[Path]]], **kw) -> None:
        if only and only not in name and only != kind:
            return
        args, inputs = make()
        cases.append(Case(name, kind, args, inputs, **kw))

    # -- bombs --
    def gz_bomb() -> tuple[list[str], list[Path]]:
        path = tmp / "bomb.csv.gz"
        member = gzip.compress(b"1,2\n" * (16 << 20), compresslevel=9)  # 64 MiB each
        with path.open("wb") as fh:
            fh.write(gzip.compress(b"a,b\n"))
            for _ in range(48):  # 3 GiB once inflated
                fh.write(member)
        return ["detect", str(path), "--top", "0"], [path]

    add("csv.gz inflating to 3 GiB", "bomb", gz_bomb)

    def manifest_bomb() -> tuple[list[str], list[Path]]:
        path = tmp / "manifest_bomb.azm"
        deflated, method, crc, size = _bomb_entry(3 * GIB + GIB // 2, b" " * (16 << 20))
        with zipfile.ZipFile(model) as zf:
            payload = zf.read("detector.skops")
        path.write_bytes(_raw_zip([
            ("manifest.json", deflated, method, crc, size),
            ("detector.skops", payload, 0, zlib.crc32(payload), len(payload)),
        ]))  # fmt: skip
        return ["score", str(path), str(data), "--top", "0"], [path, data]

    add("model manifest inflating to 3.5 GiB (declared)", "bomb", manifest_bomb)

    def payload_bomb() -> tuple[list[str], list[Path]]:
        with zipfile.ZipFile(model) as zf, zipfile.ZipFile(io.BytesIO(zf.read("detector.skops"))) as inner:  # fmt: skip
            infos = inner.infolist()
            biggest = max(
                (i for i in infos if i.filename.endswith(".npy")), key=lambda i: i.file_size
            )
            entries = []
            for info in infos:
                if info is biggest:
                    entries.append((info.filename, *_bomb_entry(3 * GIB)))
                else:
                    raw = inner.read(info)
                    entries.append((info.filename, raw, 0, zlib.crc32(raw), len(raw)))
        path = _forge(model, tmp / "payload_bomb.azm", _raw_zip(entries))
        return ["score", str(path), str(data), "--top", "0"], [path, data]

    add("model payload array inflating to 3 GiB", "bomb", payload_bomb)

    # -- hangs --
    def big_cell() -> tuple[list[str], list[Path]]:
        path = tmp / "cell.csv"
        with path.open("w") as fh:
            fh.write("a,b,note\n")
            for i in range(200):
                fh.write(f"{i},{i % 7},short\n")
            fh.write("1,2," + "x" * (50 << 20) + "\n")
        return ["detect", str(path), "--top", "3"], [path]

    add("one 50 MB cell", "hang", big_cell)

    def long_cell() -> tuple[list[str], list[Path]]:
        path = tmp / "long_cell.csv"
        rows = [f"{i},{i % 7},{'ab'[i % 2]}" for i in range(300)] + ["1,2," + "y" * 900_000]
        path.write_text("a,b,note\n" + "\n".join(rows) + "\n")
        return ["detect", str(path), "--top", "3"], [path]

    add("one 900 kB cell (below the limit)", "hang", long_cell)

    def wide_header() -> tuple[list[str], list[Path]]:
        path = tmp / "wide.csv"
        path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n1,2\n")
        return ["detect", str(path)], [path]

    add("header of 1,000,000 fields", "hang", wide_header)

    def wide_line() -> tuple[list[str], list[Path]]:
        path = tmp / "wide_line.csv"
        rows = "\n".join(f"{i},{i % 5}" for i in range(100))
        path.write_text("a,b\n" + rows + "\n" + ",".join(["7"] * 1_000_000) + "\n")
        return ["detect", str(path)], [path]

    add("data line of 1,000,000 fields", "hang", wide_line)

    def wide_json() -> tuple[list[str], list[Path]]:
        path = tmp / "wide.jsonl"
        path.write_text(json.dumps({f"k{i}": i for i in range(1_000_000)}) + "\n")
        return ["detect", str(path)], [path]

    add("JSON record of 1,000,000 fields", "hang", wide_json)

    # -- data loss --
    add("--save onto the input", "loss",
        lambda: (["detect", str(data), "--top", "0", "--save", str(data)], [data]))  # fmt: skip

    def out_link() -> tuple[list[str], list[Path]]:
        link = tmp / "link.csv"
        link.unlink(missing_ok=True)
        link.symlink_to(data)
        return ["detect", str(data), "--top", "0", "--out", str(link)], [data]

    add("--out through a symlink to the input", "loss", out_link)
    add("--out and --save on one path", "loss",
        lambda: (["detect", str(data), "--top", "0", "--out", str(tmp / "o.csv"), "--save",
                  str(tmp / "o.csv")], [data]))  # fmt: skip
    add("score --out onto the data", "loss",
        lambda: (["score", str(model), str(data), "--top", "0", "--out", str(data)],
                 [data, model]))  # fmt: skip

    def sql(query: str) -> Callable[[], tuple[list[str], list[Path]]]:
        def make() -> tuple[list[str], list[Path]]:
            db = tmp / "t.db"
            if not db.exists():
                with sqlite3.connect(db) as conn:
                    conn.execute("create table t (a real, b real)")
                    conn.executemany("insert into t values (?, ?)", [(i, i % 3) for i in range(50)])
            return ["detect", f"sqlite:///{db}", "--query", query, "--top", "0"], [db]

        return make

    add("SQL query DROP TABLE", "loss", sql("DROP TABLE t"))
    add("SQL query ATTACH a new file", "loss", sql(f"ATTACH '{tmp / 'created.db'}' AS x"))
    add("SQL query WITH ... DELETE", "loss", sql("WITH x AS (SELECT 1) DELETE FROM t"))

    # -- dirt and markup --
    def junk() -> tuple[list[str], list[Path]]:
        path = tmp / "junk.csv"
        rng = np.random.default_rng(1)
        values = [f"{v:.2f}" for v in rng.normal(10, 1, 300)]
        values[3], values[50], values[70] = "abc", "--", "abc"
        pd.DataFrame({"x": values, "y": rng.normal(size=300)}).to_csv(path, index=False)
        return ["detect", str(path), "--top", "3"], [path]

    add("numbers with junk cells", "dirt", junk)

    def dates_only() -> tuple[list[str], list[Path]]:
        path = tmp / "dates.csv"
        pd.DataFrame({"t": pd.date_range("2024-01-01", periods=300, freq="h")}).to_csv(
            path, index=False
        )
        return ["detect", str(path), "--top", "3"], [path]

    add("a table of dates only", "dirt", dates_only)

    def markup() -> tuple[list[str], list[Path]]:
        path = tmp / "[x]odd[bold].csv"
        pd.DataFrame({"[/]": np.arange(60.0) % 7, "b[x]": np.arange(60) % 3}).to_csv(
            path, index=False
        )
        return ["detect", str(path), "--top", "3"], [path]

    add("[ and [/] in file and column names", "dirt", markup)
    add("[/] in a missing file's name", "dirt",
        lambda: (["detect", str(tmp / "[/]missing.csv")], []))  # fmt: skip

    def mixed_times() -> tuple[list[str], list[Path]]:
        path = tmp / "mixed_times.csv"
        stamps = pd.date_range("2024-01-01", periods=400, freq="D")
        text = [d.strftime("%Y-%m-%d") if i % 2 else d.strftime("%d/%m/%Y")
                for i, d in enumerate(stamps)]  # fmt: skip
        rng = np.random.default_rng(2)
        pd.DataFrame({"t": text, "v": rng.normal(size=400)}).to_csv(path, index=False)
        return ["detect", str(path), "--time", "t", "--top", "0"], [path]

    add("ISO and day/month timestamps mixed", "dirt", mixed_times)

    def duplicates() -> tuple[list[str], list[Path]]:
        path = tmp / "dup.csv"
        path.write_text("a,a,b\n1,2,3\n4,5,6\n7,8,9\n")
        return ["detect", str(path)], [path]

    add("duplicate column names", "dirt", duplicates)

    def utf16() -> tuple[list[str], list[Path]]:
        path = tmp / "utf16.csv"
        path.write_bytes(data.read_text().encode("utf-16-le"))
        return ["detect", str(path), "--top", "0"], [path]

    add("UTF-16 without a byte-order mark", "dirt", utf16)
    add("standard input (-)", "dirt", lambda: (["detect", "-", "--top", "0"], [data]), stdin=data)

    def missing_at_score() -> tuple[list[str], list[Path]]:
        path = tmp / "later.csv"
        df = pd.read_csv(data)
        df["a"] = np.nan
        df.to_csv(path, index=False)
        return ["score", str(model), str(path), "--top", "0"], [path, model]

    add("score: a column 100% missing", "dirt", missing_at_score)

    def random_model() -> tuple[list[str], list[Path]]:
        path = tmp / "random.azm"
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 100_000, np.uint8).tobytes())
        return ["score", str(path), str(data)], [path, data]

    add("random bytes as a model file", "dirt", random_model)
    return cases


# -- running -----------------------------------------------------------------------------


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


def run_case(case: Case, tmp: Path) -> dict[str, object]:
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in case.inputs if p.exists()}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = case.stdin.open("rb") if case.stdin else subprocess.DEVNULL
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "anomalyzer.cli", *case.args], cwd=tmp,
                                stdin=stdin, stdout=out, stderr=err, env=env,
                                preexec_fn=_limit)  # fmt: skip
        code, usage = None, None
        while code is None:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
            elif time.perf_counter() - start > TIMEOUT:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                code = -9
            else:
                time.sleep(0.05)
        proc.returncode = code
        seconds = time.perf_counter() - start
        if case.stdin:
            stdin.close()
        err.seek(0)
        lines = [x for x in err.read().decode(errors="replace").splitlines() if x.strip()]
    intact = all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in before.items())
    intact &= not (tmp / "created.db").exists()
    said = next((x for x in lines if x.startswith(("Error", "Unexpected", "Warning"))), "")
    said = said.replace(str(tmp), "TMP")
    if any("Traceback" in x for x in lines):
        said = "TRACEBACK " + lines[-1]
    return {
        "case": case.name,
        "kind": case.kind,
        "exit": code,
        "seconds": seconds,
        "peak_mib": usage.ru_maxrss / 1024 if usage else float("nan"),
        "intact": intact,
        "said": said,
    }


def render(rows: list[dict[str, object]]) -> str:
    head = f"{'case':<48} {'kind':<5} {'exit':>4} {'seconds':>8} {'peak MiB':>9} {'intact':>6}  first line on stderr"
    lines = [head, "-" * len(head)]
    for r in rows:
        said = str(r["said"])
        said = said if len(said) <= 110 else said[:109] + "…"
        lines.append(f"{r['case']:<48} {r['kind']:<5} {r['exit']:>4} {r['seconds']:>8.1f} "
                     f"{r['peak_mib']:>9.0f} {'yes' if r['intact'] else 'NO':>6}  {said}")  # fmt: skip
    bombs = [r for r in rows if r["kind"] == "bomb"]
    hangs = [r for r in rows if r["kind"] == "hang"]
    ok = all(r["exit"] in (0, 2) and r["intact"] for r in rows)
    ok &= all(float(r["peak_mib"]) < TARGET_MIB for r in bombs)
    ok &= all(float(r["seconds"]) < TARGET_SECONDS for r in hangs)
    lines.append("")
    lines.append(f"targets (exit 0 or 2, inputs intact, bombs < {TARGET_MIB} MiB, hangs < "
                 f"{TARGET_SECONDS} s): {'all met' if ok else 'NOT all met'}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the cases whose name contains this (or of this kind)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        t0 = time.perf_counter()
        cases = build_cases(tmp, args.only)
        print(f"built {len(cases)} cases in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows = []
        for case in cases:
            rows.append(run_case(case, tmp))
            print(f"  {case.name}: exit {rows[-1]['exit']}, {rows[-1]['seconds']:.1f} s",
                  file=sys.stderr)  # fmt: skip
    text = render(rows)
    print(text)
    if not args.only:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            f"python benchmarks/hostile.py ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
            "shared machine)\n\n" + text + "\n"
        )


if __name__ == "__main__":
    main()
