"""Tests of the HiBench metrics parser on CSV files in the MetricsReader's format.
Run: python3 -m unittest discover -s adapters/hibench -p 'test_*.py'"""

import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hibench_metrics as hm  # noqa: E402

HEADER = ("time,count,throughput(msgs/s),max_latency(ms),mean_latency(ms),min_latency(ms),"
          "stddev_latency(ms),p50_latency(ms),p75_latency(ms),p95_latency(ms),p98_latency(ms),"
          "p99_latency(ms),p999_latency(ms)\n")
# Rows as KafkaCollector writes them: Date.toString, Long count and throughput, "%.3f".
ROW1 = "Mon Nov 23 10:15:02 UTC 2026,1000000,20000,812.000,35.250,2.000,40.125,21.000,38.000,110.000,160.000,240.500,601.000\n"
ROW2 = "Mon Nov 23 10:20:02 UTC 2026,3000000,30000,950.000,45.000,1.000,50.000,30.000,50.000,120.000,170.000,260.000,700.000\n"


def write(data, mode="w"):
    f = tempfile.NamedTemporaryFile(mode, suffix=".csv", delete=False)
    f.write(data)
    f.close()
    return f.name


class Parser(unittest.TestCase):
    def result(self, text, how="last"):
        path = write(text)
        try:
            return hm.result_from_file(path, how)
        finally:
            os.unlink(path)

    def test_one_row(self):
        r = self.result(HEADER + ROW1)
        self.assertEqual(r["status"], "pass")
        self.assertEqual(r["throughput"], 20000)
        self.assertEqual(r["latency_p99_ms"], 240.5)
        self.assertEqual(r["latency_p50_ms"], 21.0)
        self.assertEqual(r["latency_mean_ms"], 35.25)
        self.assertEqual(r["latency_max_ms"], 812.0)
        self.assertEqual(r["latency_samples"], 1000000)

    def test_multiple_rows_last_is_the_measurement(self):
        r = self.result(HEADER + ROW1 + ROW2)
        self.assertEqual(r["status"], "pass")
        self.assertEqual((r["throughput"], r["latency_p99_ms"], r["metrics_rows"]), (30000, 260.0, 2))

    def test_multiple_rows_weighted(self):
        r = self.result(HEADER + ROW1 + ROW2, "weighted")
        # 4e6 records over 1e6/20000 + 3e6/30000 = 150 s
        self.assertAlmostEqual(r["throughput"], 4e6 / 150, places=3)
        self.assertAlmostEqual(r["latency_p99_ms"], (240.5 * 1 + 260.0 * 3) / 4)
        self.assertAlmostEqual(r["latency_mean_ms"], (35.25 + 45.0 * 3) / 4, places=2)
        self.assertEqual(r["latency_max_ms"], 950.0)

    def test_crlf_bom_blank_lines_and_extra_columns(self):
        header = HEADER.rstrip("\n") + ",gc_ms\n"
        text = "\ufeff" + (header + ROW1.rstrip("\n") + ",12\n\n").replace("\n", "\r\n")
        r = self.result(text)
        self.assertEqual(r["status"], "pass", r)
        self.assertEqual(r["latency_p99_ms"], 240.5)

    def test_columns_in_another_order(self):
        cols = HEADER.strip().split(",")
        vals = ROW1.strip().split(",")
        order = list(reversed(range(len(cols))))
        text = ",".join(cols[i] for i in order) + "\n" + ",".join(vals[i] for i in order) + "\n"
        r = self.result(text)
        self.assertEqual((r["status"], r["latency_p99_ms"], r["throughput"]), ("pass", 240.5, 20000))

    def assert_fail(self, r, *words):
        self.assertEqual(r["status"], "fail", r)
        for w in words:
            self.assertIn(w, r["reason"])

    def test_empty_file(self):
        self.assert_fail(self.result(""), "empty")

    def test_header_only(self):
        self.assert_fail(self.result(HEADER), "no data rows")

    def test_missing_column(self):
        text = HEADER.replace(",p99_latency(ms)", "") + ROW1.replace(",240.500", "")
        self.assert_fail(self.result(text), "p99_latency(ms)")

    def test_not_a_number(self):
        self.assert_fail(self.result(HEADER + ROW1.replace("240.500", "NaN")), "p99_latency(ms)", "line 2")
        self.assert_fail(self.result(HEADER + ROW1.replace("240.500", "abc")), "not a number")
        self.assert_fail(self.result(HEADER + ROW1.replace("240.500", "-1")), "p99_latency(ms)")

    def test_short_row(self):
        self.assert_fail(self.result(HEADER + "Mon Nov 23 10:15:02 UTC 2026,1000,20\n"), "fields")

    def test_no_records(self):
        self.assert_fail(self.result(HEADER + ROW1.replace(",1000000,20000,", ",0,0,")), "no record")

    def test_not_utf8(self):
        path = write(HEADER.encode() + b"\xff\xfe\x00garbage\n", "wb")
        try:
            self.assert_fail(hm.result_from_file(path), "not UTF-8")
        finally:
            os.unlink(path)

    def test_missing_file(self):
        self.assert_fail(hm.result_from_file("/nonexistent/metrics.csv"), "cannot read")

    def test_cli_exit_codes(self):
        good, bad = write(HEADER + ROW1), write(HEADER)
        try:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                self.assertEqual(hm.main([good]), 0)
                self.assertEqual(hm.main([bad]), 1)
            self.assertIn('"status": "pass"', out.getvalue())
        finally:
            os.unlink(good)
            os.unlink(bad)


if __name__ == "__main__":
    unittest.main()
