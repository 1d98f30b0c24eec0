#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Turns bench/run.sh's records into OUT/latest.md and gnuplot PNG plots.

Usage: report.py OUT IMPL...   (IMPL: c first, then the peers, e.g. c go)
Reads OUT/records.tsv and OUT/header.tsv. Exits 1 when any cell of the table
has no number (the smoke test relies on that), never on timings."""
import csv
import statistics
import subprocess
import sys
from pathlib import Path

NAMES = {"c": "ours (C)", "go": "Go ttrpc 1.1.1", "rust": "Rust ttrpc 0.5.2", "raw": "raw echo"}


def catalog(impls):
    """(case id, label, unit, record column, higher is better, with raw, targets, ours only)."""
    rows = []
    for pin, label in (("lat1", "unpinned"), ("lat1pin", "pinned to one core")):
        for col in ("mean_us", "p50_us", "p99_us"):
            t = [("raw", "<=", 1.15), ("go", "<=", 0.4)] if col == "mean_us" else []
            rows.append((pin, f"one in flight, 32 B, {label}: {col[:-3]}", "us", col, False, True, t))
    for size in (32, 4096):
        for conc in (1, 16, 64, 256):
            t = [("raw", ">=", 0.5)] if (size, conc) == (32, 64) else []
            rows.append((f"thr_{size}_{conc}", f"{conc} in flight, {size} B", "calls/s", "calls_s", True, True, t))
    for size in (1024, 65536, 1048576):
        rows.append((f"size_{size}", f"one in flight, {size} B", "MB/s", "mb_s", True, True, []))
    rows.append(("mib", "4 in flight, 1 MiB", "MB/s", "mb_s", True, True, [("go", ">=", 3.0)]))
    rows.append(("conn64", "64 connections at once, 1 in flight each, 32 B", "calls/s", "calls_s", True, False, []))
    rows.append(("pair", "64 in flight, 32 B, client and server the same", "calls/s", "calls_s", True, False,
                 [("go", ">=", 10.0)]))
    for case, label in (("mem_idle", "idle"), ("mem_load", "after load"), ("mem_held", "1000 idle connections")):
        t_uss = {"mem_idle": [(None, "<=", 400.0)], "mem_load": [("go", "<=", 0.125)]}.get(case, [])
        rows.append((case, f"server USS, {label}", "KiB", "calls_s", False, False, t_uss))
        rows.append((case, f"server RSS, {label}", "KiB", "mean_us", False, False, []))
    for mode, kind in (("download", "server-streaming Download"), ("upload", "client-streaming Upload"),
                       ("chat", "bidi Chat, 64 in flight")):
        for size in (32, 4096):
            for unit, col in (("messages/s", "calls_s"), ("MB/s", "mb_s")):
                rows.append((f"stream_{mode}_{size}", f"one stream, {kind}, {size} B messages", unit, col, True,
                             False, [], True))
    return [r if len(r) == 8 else r + (False,) for r in rows]


def load(out):
    vals = {}
    with open(out / "records.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            case, impl = r["case"], r["impl"]
            if case.startswith("pair_"):  # pair_CLIENT_SERVER
                _, cl, sv = case.split("_")
                vals.setdefault(("matrix", cl, sv), []).append(float(r["calls_s"]))
                if cl != sv:
                    continue
                case = "pair"
            for col in ("calls_s", "mean_us", "p50_us", "p99_us", "mb_s"):
                try:
                    vals.setdefault((case, impl, col), []).append(float(r[col]))
                except (TypeError, ValueError):
                    pass
    return vals


SHIM_ROWS = [  # (case, label, unit, in smoke, target: (op, bound, against runc?))
    ("shim_solo_n", "1 container: shim processes", "", True, None),
    ("shim_solo_rss", "1 container: shim RSS", "KiB", True, None),
    ("shim_solo_pss", "1 container: shim PSS", "KiB", True, ("<=", 1024.0, False)),
    ("shim_solo_uss", "1 container: shim USS", "KiB", True, None),
]
for _n in (1, 11, 21):
    _what = "sandbox alone" if _n == 1 else f"sandbox + {_n - 1} grouped"
    SHIM_ROWS += [(f"shim_g{_n}_n", f"{_what}: shim processes", "", False, None)]
    SHIM_ROWS += [(f"shim_g{_n}_{k}", f"{_what}: total shim {k.upper()}", "KiB", False, None) for k in ("rss", "pss", "uss")]
SHIM_ROWS += [
    ("shim_delta_rss", "per extra grouped container: RSS", "KiB", False, None),
    ("shim_delta_pss", "per extra grouped container: PSS", "KiB", False, ("<=", 32.0, False)),
    ("shim_delta_uss", "per extra grouped container: USS", "KiB", False, None),
    ("shim_start_ms", "`start` invoked to address printed (median)", "ms", False, ("<=", 3.0, False)),
    ("shim_ctr_run_ms", "`ctr run --rm /bin/true` end to end (median)", "ms", False, ("<=", 0.75, True)),
    ("shim_seq50_ms", "50 containers started and removed in sequence (one group)", "ms", False, None),
    ("shim_seq50_rss", "after those 50: shim RSS", "KiB", False, None),
    ("shim_seq50_uss", "after those 50: shim USS", "KiB", False, None),
]


def shim_table(out, mode, missing):
    """The shim cases from OUT/shim.tsv (bench/shim-footprint.sh --records)."""
    lines = ["", f"Shim cases (bench/shim-footprint.sh, one private containerd, same runc): {mode or 'not run'}", ""]
    if mode.startswith("failed"):
        missing.append("shim")
    if mode not in ("full", "smoke"):
        return lines
    vals = {}
    for line in open(out / "shim.tsv"):
        case, label, value = line.rstrip("\n").split("\t")
        vals[(case, label)] = float(value)
    lines += ["| measurement | unit | ours (tiny) | ours with crun | runc-v2 | ours/runc-v2 | target | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    for case, label, unit, in_smoke, target in SHIM_ROWS:
        if mode == "smoke" and not in_smoke:
            continue
        ours, runc, crun = vals.get((case, "tiny")), vals.get((case, "runc")), vals.get((case, "crun"))
        for v in (ours, runc):
            if v is None:
                missing.append(case)
        if case == "shim_ctr_run_ms" and crun is None:
            missing.append(case)
        ratio = ours / runc if ours is not None and runc else None
        tdesc = verdict = "–"
        if target:
            op, bound, rel = target
            value = ratio if rel else ours
            tdesc = f"ours/runc-v2 {op} {bound:g}" if rel else f"{op} {bound:g} {unit}"
            verdict = "MISSING" if value is None else (
                "met" if (value <= bound if op == "<=" else value >= bound) else "missed")
        lines.append(f"| {label} | {unit} | {fmt(ours)} | {fmt(crun) if crun is not None else '–'} | {fmt(runc)} | "
                     f"{f'{ratio:.2f}x' if ratio is not None else '–'} | {tdesc} | {verdict} |")
    return lines


GRPC_ROWS = [  # (case, label, unit, column, ttrpc case to compare with)
    ("grpc_lat1", "one in flight, 32 B: mean", "us", "mean_us", "lat1"),
    ("grpc_lat1", "one in flight, 32 B: p50", "us", "p50_us", "lat1"),
    ("grpc_lat1", "one in flight, 32 B: p99", "us", "p99_us", "lat1"),
] + [(f"grpc_thr_{size}_{conc}", f"{conc} in flight, {size} B", "calls/s", "calls_s", f"thr_{size}_{conc}")
     for size in (32, 4096) for conc in (1, 16, 64, 256)] + [
    ("grpc_mib", "4 in flight, 1 MiB", "MB/s", "mb_s", "mib"),
]
GRPC_TARGETS = {  # (case, column): (against, op, bound); against "go": grpc-go's server, "ttrpc": ours on ttrpc
    ("grpc_thr_32_64", "calls_s"): ("go", ">=", 2.0),
    ("grpc_lat1", "mean_us"): ("ttrpc", "<=", 1.3),
}


def grpc_table(med):
    """Our gRPC server against grpc-go's (both driven by our C client over gRPC, h2c on unix
    sockets), and our gRPC against our ttrpc. Returns (lines, cells missing)."""
    lines = ["", "gRPC (unary, h2c on unix sockets; ttrpc-bench client --grpc against our server's gRPC listener "
             "and against grpc-go's, the same registration as the ttrpc rows):", "",
             "| case | unit | ours gRPC | grpc-go | ours ttrpc | ours gRPC/grpc-go | ours gRPC/ours ttrpc | target | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    missing = 0
    for case, label, unit, col, ttrpc_case in GRPC_ROWS:
        ours, go, tt = med((case, "c", col)), med((case, "go", col)), med((ttrpc_case, "c", col))
        missing += (ours is None) + (go is None) + (tt is None)
        vs_go = ours / go if ours is not None and go else None
        vs_tt = ours / tt if ours is not None and tt else None
        tdesc = verdict = "–"
        t = GRPC_TARGETS.get((case, col))
        if t:
            against, op, bound = t
            value = vs_go if against == "go" else vs_tt
            tdesc = f"ours/{'grpc-go' if against == 'go' else 'ttrpc'} {op} {bound:g}"
            verdict = "MISSING" if value is None else (
                "met" if (value <= bound if op == "<=" else value >= bound) else "missed")
            missing += value is None
        ratio = lambda r: f"{r:.2f}x" if r is not None else "–"
        lines.append(f"| {label} | {unit} | {fmt(ours)} | {fmt(go)} | {fmt(tt)} | {ratio(vs_go)} | {ratio(vs_tt)} | "
                     f"{tdesc} | {verdict} |")
    return lines, missing


def fmt(v):
    if v is None:
        return "MISSING"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}" if v >= 1 else f"{v:.3f}"


def main():
    out, impls = Path(sys.argv[1]), sys.argv[2:]
    peers = impls[1:]
    vals = load(out)
    header = [line.rstrip("\n").split("\t", 1) for line in open(out / "header.tsv")]
    missing = 0

    def med(key):
        v = vals.get(key)
        return statistics.median(v) if v else None

    lines = ["# Benchmark results (`make bench`, bench/run.sh)", ""]
    lines += [f"- {k}: {v}" for k, v in header]
    lines += ["", "Medians of the runs; client and server in separate processes; peers' servers are driven by our "
              "C client, the matrix below measures each client against each server. The raw echo is a plain "
              "unix-socket echo of the same bytes (pipelined at the same depth where more than one is in flight). "
              "Stream rows are ours against ours only: Debian's Go ttrpc 1.1.1 has no streams (ttrpc-bench client "
              "--mode download|upload|chat; MB/s counts payload bytes, both directions for Chat).",
              ""]
    cols = ["case", "unit"] + [NAMES[i] for i in impls] + ["raw echo"]
    cols += [f"ours/{NAMES[p].split()[0]}" for p in peers] + ["ours/raw", "target", "verdict"]
    cols += [f"{NAMES[i].split()[0]} min/median/max" for i in impls]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for case, label, unit, col, higher, with_raw, targets, ours_only in catalog(impls):
        m = {}
        measured = ["c"] if ours_only else impls + (["raw"] if with_raw else [])
        for i in measured:
            m[i] = med((case, i, col))
            if m[i] is None:
                missing += 1
        cells = [label, unit] + [fmt(m[i]) if i in m else "–" for i in impls] + [fmt(m["raw"]) if with_raw else "–"]
        ratio = {}
        for other in peers + ["raw"]:
            if other in m and m[other] and m["c"] is not None:
                ratio[other] = m["c"] / m[other]
        cells += [f"{ratio[p]:.2f}x" if p in ratio else "–" for p in peers]
        cells += [f"{ratio['raw']:.2f}x" if "raw" in ratio else "–"]
        tdesc, verdicts = [], []
        for other, op, bound in targets:
            value = m["c"] if other is None else ratio.get(other)
            tdesc.append(f"{op} {bound:g} {unit}" if other is None else f"ours/{other} {op} {bound:g}")
            if value is None:
                verdicts.append("MISSING")
                missing += 1
            else:
                verdicts.append("met" if (value <= bound if op == "<=" else value >= bound) else "missed")
        cells += ["; ".join(tdesc) or "–", "; ".join(verdicts) or "–"]
        for i in impls:
            v = vals.get((case, i, col))
            if i not in m:
                cells.append("–")
                continue
            cells.append(f"{fmt(min(v))} / {fmt(statistics.median(v))} / {fmt(max(v))}" if v else "MISSING")
        lines.append("| " + " | ".join(cells) + " |")

    lines += ["", "Client x server, 64 in flight, 32 B, calls/s (median):", ""]
    lines += ["| client \\ server | " + " | ".join(NAMES[s] for s in impls) + " |", "|" + "---|" * (len(impls) + 1)]
    for cl in impls:
        row = []
        for sv in impls:
            v = med(("matrix", cl, sv))
            missing += v is None
            row.append(fmt(v))
        lines.append(f"| {NAMES[cl]} | " + " | ".join(row) + " |")
    grpc_lines, grpc_missing = grpc_table(med)
    lines += grpc_lines
    missing += grpc_missing
    shim_missing = []
    lines += shim_table(out, dict(header).get("shim", ""), shim_missing)
    missing += len(shim_missing)
    lines += ["", "Plots: ![throughput](throughput.png) ![latency](latency.png) ![payload](payload.png)", ""]
    (out / "latest.md").write_text("\n".join(lines))
    plot(out, vals, impls)
    if missing:
        print(f"report.py: {missing} cell(s) of {out}/latest.md have no number", file=sys.stderr)
        sys.exit(1)
    print(f"report.py: wrote {out}/latest.md and plots", file=sys.stderr)


def plot(out, vals, impls):
    series = impls + ["raw"]
    with open(out / "concurrency.dat", "w") as f:
        for size in (32, 4096):
            f.write(f"# size {size}: concurrency " + " ".join(f"{s}_calls_s {s}_p50_us {s}_p99_us" for s in series) + "\n")
            for conc in (1, 16, 64, 256):
                row = [str(conc)]
                for s in series:
                    for col in ("calls_s", "p50_us", "p99_us"):
                        v = vals.get((f"thr_{size}_{conc}", s, col))
                        row.append(f"{statistics.median(v):g}" if v else "NaN")
                f.write(" ".join(row) + "\n")
            f.write("\n\n")
    with open(out / "payload.dat", "w") as f:
        f.write("# size " + " ".join(f"{s}_mb_s {s}_mean_us" for s in series) + "\n")
        for size, case in ((32, "thr_32_1"), (1024, "size_1024"), (4096, "thr_4096_1"), (65536, "size_65536"),
                           (1048576, "size_1048576")):
            row = [str(size)]
            for s in series:
                for col in ("mb_s", "mean_us"):
                    v = vals.get((case, s, col))
                    row.append(f"{statistics.median(v):g}" if v else "NaN")
            f.write(" ".join(row) + "\n")
    n = len(series)

    def using(base, k, idx=0):
        return ", ".join(f"'{{f}}' index {idx} using 1:{2 + j * base + k} with linespoints title '{NAMES[s]}'"
                         for j, s in enumerate(series))
    gp = f"""set terminal pngcairo size 900,560
set grid
set logscale x 2
set key left top
set output '{out}/throughput.png'
set title 'Throughput against calls in flight (one connection)'
set xlabel 'calls in flight'
set ylabel 'calls/s'
set logscale y
plot {using(3, 0, 0).format(f=f'{out}/concurrency.dat').replace("title '", "title '32 B ")}, \\
     {using(3, 0, 1).format(f=f'{out}/concurrency.dat').replace("title '", "title '4 KiB ")}
set output '{out}/latency.png'
set title 'Latency (p50) against calls in flight, 32 B'
set ylabel 'microseconds'
plot {using(3, 1, 0).format(f=f'{out}/concurrency.dat').replace("title '", "title 'p50 ")}, \\
     {using(3, 2, 0).format(f=f'{out}/concurrency.dat').replace("title '", "title 'p99 ")}
set output '{out}/payload.png'
set title 'One call in flight: MB/s (both directions) against payload size'
set xlabel 'payload bytes'
set ylabel 'MB/s'
set logscale x 10
plot {using(2, 0).format(f=f'{out}/payload.dat')}
"""
    del n
    (out / "plots.gp").write_text(gp)
    subprocess.run(["gnuplot", str(out / "plots.gp")], check=True)


if __name__ == "__main__":
    main()
