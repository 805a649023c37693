package flinktune;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.locks.LockSupport;
import java.util.HashMap;
import java.util.Map;

/**
 * The job's arguments:
 * --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR [--window-ms 10000] [--checkpoint-ms 10000]
 * [--series true] (the per-second latency series, see LatencyRecorder)
 * [--times started] (S, T0 and T1 are offsets from the epoch ms that the adapter writes to
 * DIR/started.txt once the job runs: a job that takes long to submit and deploy, as on a loaded
 * machine, then eats no part of the warm-up or the measured window)
 */
final class Params implements Serializable {
    static final String WORKLOADS = "identity, repartition, wordcount, fixwindow";
    final String workload, out;
    final double rate;
    private final long startAtMs, t0Ms, t1Ms;
    final long windowMs, checkpointMs;
    final boolean series;
    private final boolean fromStart;
    /** The epoch ms the offsets count from, once read (per JVM: not serialised, so null again
     *  after deserialisation). */
    private transient Long origin;

    Params(String[] argv) {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --key value, got " + argv[i]);
            a.put(argv[i].substring(2), argv[i + 1]);
        }
        workload = need(a, "workload");
        rate = Double.parseDouble(need(a, "rate"));
        String times = a.getOrDefault("times", "absolute");
        if (!times.equals("absolute") && !times.equals("started")) {
            throw new IllegalArgumentException("--times is absolute or started, not '" + times + "'");
        }
        fromStart = times.equals("started");
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

    long startAtMs() {
        return origin() + startAtMs;
    }

    long t0Ms() {
        return origin() + t0Ms;
    }

    long t1Ms() {
        return origin() + t1Ms;
    }

    /** 0 for absolute times; else waits until the adapter has written DIR/started.txt. */
    private long origin() {
        if (origin != null) return origin;
        if (!fromStart) return origin = 0L;
        Path file = Paths.get(out, "started.txt");
        while (true) {
            try {
                return origin = Long.parseLong(new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim());
            } catch (IOException | NumberFormatException e) {
                LockSupport.parkNanos(20_000_000L);
            }
        }
    }

    private static String need(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) throw new IllegalArgumentException("missing --" + k);
        return v;
    }
}
