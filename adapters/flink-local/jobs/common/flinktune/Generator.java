package flinktune;

import java.util.Random;
import java.util.concurrent.locks.LockSupport;

/**
 * One generator subtask's schedule: an unbounded sequence evenly paced at its share of the rate,
 * every record stamped with its scheduled creation time, and the count of records emitted inside
 * the measured window [t0, t1), written to source-SUBTASK.txt once t1 has passed.
 *
 * A job that checkpoints position() and passes it back after a restore (resumeUs) replays what
 * was scheduled since then at full speed, stamped with the original times, as Kafka would hold it.
 */
final class Generator {
    private final Params p;
    private final int subtask;
    private final double perSubtaskRate;
    private final boolean words;
    private final String[] lines;
    private final long resumeUs;
    private long startUs, n, inWindow;
    private boolean written;

    /** resumeUs: the schedule position to resume from after a restore, or 0 for a fresh start. */
    Generator(Params p, int subtask, int parallelism, long resumeUs) {
        this.p = p;
        this.resumeUs = resumeUs;
        this.subtask = subtask;
        this.perSubtaskRate = p.rate / parallelism;
        this.words = p.workload.equals("wordcount");
        // HiBench-like records: ~100-byte text lines of 12 words from a 1000-word vocabulary.
        lines = new String[4096];
        Random r = new Random(subtask * 7919L + 1);
        for (int i = 0; i < lines.length; i++) {
            StringBuilder b = new StringBuilder();
            for (int w = 0; w < 12; w++) {
                if (w > 0) b.append(' ');
                b.append("word").append(r.nextInt(1000));
            }
            lines[i] = b.toString();
        }
    }

    /** The scheduled time (epoch us) of the next record, or 0 before the schedule has started. */
    long position() {
        return n > 0 ? startUs + (long) (n * 1e6 / perSubtaskRate) : resumeUs;
    }

    /** Waits for the next record's scheduled time and returns the record for sequence number seq. */
    Rec next(long seq) {
        long now = Clock.nowUs();
        if (n == 0) {
            if (resumeUs > 0) {
                // Restored: everything scheduled since the checkpoint is backlog.
                startUs = resumeUs;
            } else {
                // startAtMs() can block until the adapter writes started.txt: read the clock after it.
                long startAtUs = p.startAtMs() * 1000;
                now = Clock.nowUs();
                while (now < startAtUs) {
                    LockSupport.parkNanos((startAtUs - now) * 1000);
                    now = Clock.nowUs();
                }
                // Deployed late: anchor the schedule now rather than bursting to catch up.
                startUs = now;
            }
        }
        long scheduled = startUs + (long) (n * 1e6 / perSubtaskRate);
        while (now < scheduled) {
            LockSupport.parkNanos((scheduled - now) * 1000);
            now = Clock.nowUs();
        }
        n++;
        long t0Us = p.t0Ms() * 1000, t1Us = p.t1Ms() * 1000;
        if (now >= t0Us && now < t1Us) {
            inWindow++;
        } else if (now >= t1Us && !written) {
            written = true;
            Clock.writeAtomically(p.out, "source-" + subtask + ".txt",
                    "start_us " + startUs + "\ncount " + inWindow + "\nwindow_us " + (t1Us - t0Us) + "\n");
        }
        // The stamp is the scheduled time: a generator that falls behind shows as latency.
        return new Rec(scheduled, words ? lines[(int) (seq & 4095)] : "k" + (seq % 1000), seq);
    }
}
