// The four HiBench-like streaming benchmarks of flinktune's flink-local adapter: identity,
// repartition, wordcount (keyed running count, checkpointed) and fixwindow (tumbling window),
// written against the DataStream API common to Flink 1.19/1.20 and 2.x (fromSequence,
// OpenContext, getTaskInfo, sink2 DiscardingSink). Compiled on the machine with javac.
//
// Measurement: a paced generator stamps every record with its scheduled creation time (epoch
// microseconds); the final operator computes now - stamp for every record that arrives inside the
// measured wall-clock window [t0, t1) into a log-linear histogram, and the generator counts the
// records it emits inside that window. Each subtask writes its figures to --out when it first sees
// a record after t1; the adapter merges the files.
//
// Usage: Jobs --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR
//             [--window-ms 10000] [--checkpoint-ms 10000]
package flinktune;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;
import org.apache.flink.util.Collector;

public final class Jobs {
    /** (creation stamp in epoch microseconds, key or word, count or sequence number). */
    public static final class Rec extends Tuple3<Long, String, Long> {
        public Rec() {}

        public Rec(long stamp, String key, long n) {
            super(stamp, key, n);
        }
    }

    /** Epoch microseconds from the monotonic clock (currentTimeMillis has 1 ms resolution). */
    static final class Clock {
        static final long OFFSET_US;

        static {
            Instant i = Instant.now();
            OFFSET_US = i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000 - System.nanoTime() / 1_000;
        }

        static long nowUs() {
            return OFFSET_US + System.nanoTime() / 1_000;
        }
    }

    static void writeAtomically(String dir, String name, String text) {
        try {
            File tmp = new File(dir, "." + name + ".tmp");
            try (PrintWriter w = new PrintWriter(tmp, "UTF-8")) {
                w.print(text);
            }
            Files.move(tmp.toPath(), new File(dir, name).toPath(), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new RuntimeException("cannot write " + dir + "/" + name, e);
        }
    }

    /** Paces an unbounded sequence evenly at this subtask's share of the rate and stamps it. */
    static final class Pacer extends RichMapFunction<Long, Rec> {
        private final double rate;
        private final long startAtUs, t0Us, t1Us;
        private final String out;
        private final boolean words;
        private transient double perSubtaskRate;
        private transient long startUs, n, inWindow;
        private transient boolean written;
        private transient int subtask;
        private transient String[] lines;

        Pacer(double rate, long startAtMs, long t0Ms, long t1Ms, String out, boolean words) {
            this.rate = rate;
            this.startAtUs = startAtMs * 1000;
            this.t0Us = t0Ms * 1000;
            this.t1Us = t1Ms * 1000;
            this.out = out;
            this.words = words;
        }

        @Override
        public void open(OpenContext ctx) {
            subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            perSubtaskRate = rate / getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            // HiBench-like records: ~100-byte text lines of 12 words from a 1000-word vocabulary.
            lines = new String[4096];
            java.util.Random r = new java.util.Random(subtask * 7919L + 1);
            for (int i = 0; i < lines.length; i++) {
                StringBuilder b = new StringBuilder();
                for (int w = 0; w < 12; w++) {
                    if (w > 0) b.append(' ');
                    b.append("word").append(r.nextInt(1000));
                }
                lines[i] = b.toString();
            }
        }

        @Override
        public Rec map(Long seq) {
            long now = Clock.nowUs();
            if (n == 0) {
                while (now < startAtUs) {
                    LockSupport.parkNanos((startAtUs - now) * 1000);
                    now = Clock.nowUs();
                }
                // Deployed late: anchor the schedule now rather than bursting to catch up.
                startUs = now;
            }
            long scheduled = startUs + (long) (n * 1e6 / perSubtaskRate);
            while (now < scheduled) {
                LockSupport.parkNanos((scheduled - now) * 1000);
                now = Clock.nowUs();
            }
            n++;
            if (now >= t0Us && now < t1Us) {
                inWindow++;
            } else if (now >= t1Us && !written) {
                written = true;
                writeAtomically(out, "source-" + subtask + ".txt",
                        "start_us " + startUs + "\ncount " + inWindow + "\nwindow_us " + (t1Us - t0Us) + "\n");
            }
            // The stamp is the scheduled time: a source that falls behind shows as latency.
            return new Rec(scheduled, words ? lines[(int) (seq & 4095)] : "k" + (seq % 1000), seq);
        }
    }

    /** Records now - stamp for arrivals inside [t0, t1) into a log-linear histogram. */
    static final class Measure extends RichFilterFunction<Long> {
        private final long t0Us, t1Us;
        private final String out;
        private transient long[] buckets;
        private transient long count, sum, max;
        private transient boolean written;

        Measure(long t0Ms, long t1Ms, String out) {
            this.t0Us = t0Ms * 1000;
            this.t1Us = t1Ms * 1000;
            this.out = out;
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

        @Override
        public void open(OpenContext ctx) {
            buckets = new long[1024 + 54 * 512];
        }

        @Override
        public boolean filter(Long stamp) {
            long now = Clock.nowUs();
            if (now >= t0Us && now < t1Us) {
                long lat = Math.max(0, now - stamp);
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
                int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
                writeAtomically(out, "sink-" + subtask + ".txt", b.toString());
            }
            return false;
        }
    }

    static final class StampOf implements MapFunction<Rec, Long> {
        @Override
        public Long map(Rec r) {
            return r.f0;
        }
    }

    static final class Pass implements MapFunction<Rec, Rec> {
        @Override
        public Rec map(Rec r) {
            return r;
        }
    }

    static final class ByKey implements KeySelector<Rec, String> {
        @Override
        public String getKey(Rec r) {
            return r.f1;
        }
    }

    static final class Split implements FlatMapFunction<Rec, Rec> {
        @Override
        public void flatMap(Rec r, Collector<Rec> out) {
            for (String w : r.f1.split(" ")) out.collect(new Rec(r.f0, w, 1L));
        }
    }

    /** Keyed running count in checkpointed state. */
    static final class RunningCount extends KeyedProcessFunction<String, Rec, Rec> {
        private transient ValueState<Long> total;

        @Override
        public void open(OpenContext ctx) {
            total = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }

        @Override
        public void processElement(Rec r, Context ctx, Collector<Rec> out) throws Exception {
            Long t = total.value();
            long c = (t == null ? 0 : t) + r.f2;
            total.update(c);
            out.collect(new Rec(r.f0, r.f1, c));
        }
    }

    /** Window result: the newest stamp of the window (its latency is the result's delay), summed count. */
    static final class Newest implements ReduceFunction<Rec> {
        @Override
        public Rec reduce(Rec a, Rec b) {
            return new Rec(Math.max(a.f0, b.f0), a.f1, a.f2 + b.f2);
        }
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --key value, got " + argv[i]);
            a.put(argv[i].substring(2), argv[i + 1]);
        }
        String workload = need(a, "workload");
        double rate = Double.parseDouble(need(a, "rate"));
        long startAt = Long.parseLong(need(a, "start-at-ms"));
        long t0 = Long.parseLong(need(a, "t0-ms"));
        long t1 = Long.parseLong(need(a, "t1-ms"));
        String out = need(a, "out");
        long windowMs = Long.parseLong(a.getOrDefault("window-ms", "10000"));
        long checkpointMs = Long.parseLong(a.getOrDefault("checkpoint-ms", "10000"));
        if (rate <= 0 || t1 <= t0) throw new IllegalArgumentException("need rate > 0 and t1 > t0");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        boolean words = workload.equals("wordcount");
        // The generator stands in for Kafka: its own chain, so the job proper starts with a
        // network exchange as it would after a Kafka source.
        DataStream<Rec> in = env.fromSequence(0, Long.MAX_VALUE).name("sequence")
                .map(new Pacer(rate, startAt, t0, t1, out, words)).name("paced-generator")
                .map(new Pass()).name("read").startNewChain();
        DataStream<Rec> result;
        switch (workload) {
            case "identity":
                result = in;
                break;
            case "repartition":
                result = in.rebalance().map(new Pass()).name("repartitioned");
                break;
            case "wordcount":
                // HiBench's wordcount keeps a running count per word; its state is checkpointed.
                if (!env.getCheckpointConfig().isCheckpointingEnabled()) env.enableCheckpointing(checkpointMs);
                result = in.flatMap(new Split()).name("split").keyBy(new ByKey()).process(new RunningCount()).name("count");
                break;
            case "fixwindow":
                result = in.keyBy(new ByKey()).window(TumblingProcessingTimeWindows.of(Duration.ofMillis(windowMs)))
                        .reduce(new Newest()).name("window");
                break;
            default:
                throw new IllegalArgumentException("unknown workload '" + workload + "' (identity, repartition, wordcount, fixwindow)");
        }
        result.map(new StampOf()).filter(new Measure(t0, t1, out)).name("measure").sinkTo(new DiscardingSink<>());
        env.execute("flinktune-" + workload);
    }

    private static String need(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) throw new IllegalArgumentException("missing --" + k);
        return v;
    }
}
