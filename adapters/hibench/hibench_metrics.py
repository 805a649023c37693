#!/usr/bin/env python3
"""Parses the CSV that HiBench's streaming MetricsReader writes into flinktune's result.json.

HiBench's KafkaCollector appends one row per run of the reader to <outputDir>/<topic>.csv:

    time,count,throughput(msgs/s),max_latency(ms),mean_latency(ms),min_latency(ms),
    stddev_latency(ms),p50_latency(ms),p75_latency(ms),p95_latency(ms),p98_latency(ms),
    p99_latency(ms),p999_latency(ms)

`time` is a java.util.Date string, `count` the records sampled, throughput an integer
(count * 1000 / (last - first record time)), the latencies "%.3f" of a Codahale histogram.

Aggregating several rows (`aggregate=`):
  - "last" (the default): every run of the reader reads the whole metrics topic again, so the
    newest row covers everything the earlier ones covered; it alone is the measurement.
  - "weighted": the rows are independent measurements (e.g. files concatenated by hand):
    throughput = total count / total time (sum of count/throughput per row), mean latency
    weighted by count, max = max, min = min, and the percentiles the count-weighted mean of the
    rows' percentiles (an approximation: percentiles of separate windows cannot be merged
    exactly without the samples).

Standard library only; `python3 hibench_metrics.py FILE [--aggregate last|weighted]` prints the
result JSON.
"""

import csv
import io
import json
import math
import sys

COLUMNS = (
    "time", "count", "throughput(msgs/s)", "max_latency(ms)", "mean_latency(ms)",
    "min_latency(ms)", "stddev_latency(ms)", "p50_latency(ms)", "p75_latency(ms)",
    "p95_latency(ms)", "p98_latency(ms)", "p99_latency(ms)", "p999_latency(ms)",
)
NUMERIC = COLUMNS[1:]


class MetricsError(Exception):
    """The metrics file cannot be turned into a result (reported as status "fail")."""


def _number(text, column, line):
    try:
        v = float(text.strip())
    except ValueError:
        raise MetricsError(f"line {line}: column {column!r} is not a number: {text.strip()[:40]!r}")
    if math.isnan(v) or math.isinf(v) or v < 0:
        raise MetricsError(f"line {line}: column {column!r} is {text.strip()!r}, not a finite non-negative number")
    return v


def parse_rows(text):
    """The data rows of a metrics CSV as dicts of floats (plus `time` as text)."""
    rows = list(csv.reader(io.StringIO(text)))
    # Blank lines (a trailing newline, a hand-edited file) are not rows.
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise MetricsError("the metrics file is empty")
    header = [c.strip() for c in numbered[0][1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise MetricsError("the metrics file's header lacks " + ", ".join(missing)
                           + f" (header: {','.join(header)[:200]})")
    index = {c: header.index(c) for c in COLUMNS}
    out = []
    for line, r in numbered[1:]:
        if len(r) < len(header):
            raise MetricsError(f"line {line}: {len(r)} fields, the header has {len(header)}")
        row = {"time": r[index["time"]].strip()}
        for c in NUMERIC:
            row[c] = _number(r[index[c]], c, line)
        out.append(row)
    if not out:
        raise MetricsError("the metrics file has a header but no data rows "
                           "(the reader found no records in the metrics topic)")
    return out


def aggregate(rows, how="last"):
    """One row's worth of figures from several rows (see the module documentation)."""
    if how == "last":
        return dict(rows[-1])
    if how != "weighted":
        raise ValueError(f"unknown aggregation {how!r} (last | weighted)")
    total = sum(r["count"] for r in rows)
    if total <= 0:
        return dict(rows[-1])
    seconds = sum(r["count"] / r["throughput(msgs/s)"] for r in rows if r["throughput(msgs/s)"] > 0)
    agg = {"time": rows[-1]["time"], "count": total,
           "throughput(msgs/s)": total / seconds if seconds > 0 else 0.0,
           "max_latency(ms)": max(r["max_latency(ms)"] for r in rows),
           "min_latency(ms)": min(r["min_latency(ms)"] for r in rows)}
    for c in ("mean_latency(ms)", "stddev_latency(ms)", "p50_latency(ms)", "p75_latency(ms)",
              "p95_latency(ms)", "p98_latency(ms)", "p99_latency(ms)", "p999_latency(ms)"):
        agg[c] = sum(r[c] * r["count"] for r in rows) / total
    return agg


def result_from_text(text, how="last"):
    """The adapter-protocol result for a metrics CSV's text: {"status": "pass", ...} or
    {"status": "fail", "reason": ...}."""
    try:
        rows = parse_rows(text)
    except MetricsError as e:
        return {"status": "fail", "reason": f"HiBench metrics: {e}"}
    a = aggregate(rows, how)
    if a["count"] <= 0 or a["throughput(msgs/s)"] <= 0:
        return {"status": "fail", "reason": "HiBench metrics: no record was measured "
                f"(count {a['count']:.0f}, throughput {a['throughput(msgs/s)']:.0f} msgs/s)"}
    return {
        "status": "pass",
        "throughput": round(a["throughput(msgs/s)"], 3),
        "latency_p99_ms": a["p99_latency(ms)"],
        "latency_p50_ms": a["p50_latency(ms)"],
        "latency_mean_ms": round(a["mean_latency(ms)"], 3),
        "latency_max_ms": a["max_latency(ms)"],
        "latency_p999_ms": round(a["p999_latency(ms)"], 3),
        "latency_samples": int(a["count"]),
        "metrics_rows": len(rows),
        "aggregate": how,
    }


def result_from_file(path, how="last"):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return {"status": "fail", "reason": f"HiBench metrics: cannot read {path}: {e.strerror}"}
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return {"status": "fail", "reason": f"HiBench metrics: {path} is not UTF-8 text (byte {e.start})"}
    return result_from_text(text, how)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="HiBench metrics CSV -> flinktune result JSON")
    ap.add_argument("file")
    ap.add_argument("--aggregate", choices=("last", "weighted"), default="last")
    a = ap.parse_args(argv)
    r = result_from_file(a.file, a.aggregate)
    print(json.dumps(r, indent=2))
    return 0 if r["status"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
