package flinktune;

/**
 * One measuring subtask: now - stamp of every record arriving inside [t0, t1) into a log-linear
 * histogram, written to sink-SUBTASK.txt when the first record after t1 arrives.
 */
final class LatencyRecorder {
    private final long t0Us, t1Us;
    private final String out;
    private final int subtask;
    private final long[] buckets = new long[1024 + 54 * 512];
    private long count, sum, max;
    private boolean written;

    LatencyRecorder(Params p, int subtask) {
        this.t0Us = p.t0Ms * 1000;
        this.t1Us = p.t1Ms * 1000;
        this.out = p.out;
        this.subtask = subtask;
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
        long now = Clock.nowUs();
        if (now >= t0Us && now < t1Us) {
            long lat = Math.max(0, now - stampUs);
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
}
