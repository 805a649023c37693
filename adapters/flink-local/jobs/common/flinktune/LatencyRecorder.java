package flinktune;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One measuring subtask: now - stamp of every record arriving inside [t0, t1) into a log-linear
 * histogram, written to sink-SUBTASK.txt when the first record after t1 arrives.
 *
 * With --series true it also appends one line per wall-clock second from t0 on to
 * series-SUBTASK.txt ("<second start ms> <records> <p99 us> <max us>"), after an "open <ms>" line
 * per instance, so the lines of a restarted subtask can be told apart (the adapter's recovery
 * measurement reads them).
 */
final class LatencyRecorder {
    private final Params p;
    // Read at the first record, not in open(): with --times started the window is known only
    // once the job runs, and a task blocked in open() would never be RUNNING.
    private long t0Us = -1, t1Us;
    private final String out;
    private final int subtask;
    private final long[] buckets = new long[1024 + 54 * 512];
    private final long[] secBuckets;
    private long count, sum, max, sec, secCount, secMax;
    private boolean written;

    LatencyRecorder(Params p, int subtask) {
        this.p = p;
        this.out = p.out;
        this.subtask = subtask;
        this.secBuckets = p.series ? new long[buckets.length] : null;
        if (p.series) append("open " + Clock.nowUs() / 1000 + "\n");
    }

    // Exact below 1024 us, then 512 buckets per power of two (0.2 % relative error).
    static int bucket(long v) {
        if (v < 1024) return (int) Math.max(v, 0);
        int e = 63 - Long.numberOfLeadingZeros(v);
        return 1024 + (e - 10) * 512 + (int) ((v >> (e - 9)) & 511);
    }

    static long lowerBound(int b) {
        if (b < 1024) return b;
        int e = (b - 1024) / 512 + 10;
        return (1L << e) + ((long) ((b - 1024) % 512) << (e - 9));
    }

    void observe(long stampUs) {
        if (t0Us < 0) {
            t0Us = p.t0Ms() * 1000;
            t1Us = p.t1Ms() * 1000;
        }
        long now = Clock.nowUs();
        long lat = Math.max(0, now - stampUs);
        if (secBuckets != null && now >= t0Us) {
            long s = now / 1_000_000;
            if (s != sec) {
                if (secCount > 0) flushSecond();
                sec = s;
            }
            secBuckets[bucket(lat)]++;
            secCount++;
            secMax = Math.max(secMax, lat);
        }
        if (now >= t0Us && now < t1Us) {
            buckets[bucket(lat)]++;
            count++;
            sum += lat;
            max = Math.max(max, lat);
        } else if (now >= t1Us && !written) {
            written = true;
            StringBuilder b = new StringBuilder();
            b.append("count ").append(count).append("\nsum_us ").append(sum).append("\nmax_us ").append(max).append('\n');
            for (int i = 0; i < buckets.length; i++) {
                if (buckets[i] > 0) b.append("h ").append(lowerBound(i)).append(' ').append(buckets[i]).append('\n');
            }
            Clock.writeAtomically(out, "sink-" + subtask + ".txt", b.toString());
        }
    }

    /** Appends the finished second's line; a restarted subtask appends to the same file. */
    private void flushSecond() {
        long need = (long) Math.ceil(0.99 * secCount), cum = 0, p99 = secMax;
        for (int i = 0; i < secBuckets.length && cum < need; i++) {
            cum += secBuckets[i];
            if (cum >= need) p99 = lowerBound(i);
        }
        Arrays.fill(secBuckets, 0);
        append((sec * 1000) + " " + secCount + " " + p99 + " " + secMax + "\n");
        secCount = 0;
        secMax = 0;
    }

    private void append(String line) {
        try (FileOutputStream f = new FileOutputStream(new File(out, "series-" + subtask + ".txt"), true)) {
            f.write(line.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new RuntimeException("cannot append to the latency series in " + out, e);
        }
    }
}
