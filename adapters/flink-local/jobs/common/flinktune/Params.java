package flinktune;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;

/**
 * The job's arguments:
 * --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR [--window-ms 10000] [--checkpoint-ms 10000]
 * [--series true] (the per-second latency series, see LatencyRecorder)
 */
final class Params implements Serializable {
    static final String WORKLOADS = "identity, repartition, wordcount, fixwindow";
    final String workload, out;
    final double rate;
    final long startAtMs, t0Ms, t1Ms, windowMs, checkpointMs;
    final boolean series;

    Params(String[] argv) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --key value, got " + argv[i]);
            a.put(argv[i].substring(2), argv[i + 1]);
        }
        workload = need(a, "workload");
        rate = Double.parseDouble(need(a, "rate"));
        startAtMs = Long.parseLong(need(a, "start-at-ms"));
        t0Ms = Long.parseLong(need(a, "t0-ms"));
        t1Ms = Long.parseLong(need(a, "t1-ms"));
        out = need(a, "out");
        windowMs = Long.parseLong(a.getOrDefault("window-ms", "10000"));
        checkpointMs = Long.parseLong(a.getOrDefault("checkpoint-ms", "10000"));
        series = Boolean.parseBoolean(a.getOrDefault("series", "false"));
        if (rate <= 0 || t1Ms <= t0Ms) throw new IllegalArgumentException("need rate > 0 and t1 > t0");
        if (!(", " + WORKLOADS + ",").contains(", " + workload + ",")) {
            throw new IllegalArgumentException("unknown workload '" + workload + "' (" + WORKLOADS + ")");
        }
    }

    private static String need(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) throw new IllegalArgumentException("missing --" + k);
        return v;
    }
}
