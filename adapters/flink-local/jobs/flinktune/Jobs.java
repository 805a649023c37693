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
// Restarts: the generator keeps its schedule position in checkpointed state, so a job restored
// from a checkpoint or savepoint first replays what was scheduled since then (stamped with the
// original times, as Kafka would hold it), which shows as latency until the job has caught up.
// Every operator has a stable uid, so state maps across a resubmission with another parallelism.
//
// Usage: Jobs --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR
//             [--window-ms 10000] [--checkpoint-ms 10000] [--series true]
// --series true: each sink subtask also appends one line per wall-clock second from t0 on to
// series-<subtask>.txt ("<second start ms> <records> <p99 us> <max us>"), across restarts.
package flinktune;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.connector.source.lib.util.IteratorSourceEnumerator;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
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

    /**
     * An unbounded number sequence cut into a fixed 128 splits rather than one per subtask:
     * after a restore with a higher parallelism the new subtasks find unassigned splits (the
     * stock source would leave them idle with the old parallelism's splits).
     */
    static final class Sequence extends NumberSequenceSource {
        Sequence() {
            super(0, Long.MAX_VALUE);
        }

        @Override
        public SplitEnumerator<NumberSequenceSplit, java.util.Collection<NumberSequenceSplit>> createEnumerator(
                SplitEnumeratorContext<NumberSequenceSplit> ctx) {
            return new IteratorSourceEnumerator<>(ctx, splitNumberRange(getFrom(), getTo(), 128));
        }
    }

    /**
     * Paces an unbounded sequence evenly at this subtask's share of the rate and stamps it. Its
     * schedule position (the time of the next record) is checkpointed; a restored generator
     * resumes from the earliest position of the old subtasks, replaying the backlog at full speed.
     */
    static final class Pacer extends RichMapFunction<Long, Rec> implements CheckpointedFunction {
        private final double rate;
        private final long startAtUs, t0Us, t1Us;
        private final String out;
        private final boolean words;
        private transient double perSubtaskRate;
        private transient long startUs, n, inWindow;
        private transient boolean written;
        private transient int subtask;
        private transient String[] lines;
        private transient ListState<Long> position;
        private transient long resumeUs;
        private transient MeterView generated;

        Pacer(double rate, long startAtMs, long t0Ms, long t1Ms, String out, boolean words) {
            this.rate = rate;
            this.startAtUs = startAtMs * 1000;
            this.t0Us = t0Ms * 1000;
            this.t1Us = t1Ms * 1000;
            this.out = out;
            this.words = words;
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) throws Exception {
            // Union state: every new subtask sees all old positions, whatever the parallelism.
            position = ctx.getOperatorStateStore().getUnionListState(
                    new ListStateDescriptor<>("schedule-position-us", Long.class));
            resumeUs = 0;
            if (ctx.isRestored()) {
                for (Long p : position.get()) {
                    if (p != null && (resumeUs == 0 || p < resumeUs)) resumeUs = p;
                }
            }
        }

        @Override
        public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
            position.clear();
            if (n > 0) {
                position.add(startUs + (long) (n * 1e6 / perSubtaskRate));
            } else if (resumeUs > 0) {
                position.add(resumeUs);
            }
        }

        @Override
        public void open(OpenContext ctx) {
            // The source rate `rate` of the flink-local hook reads (a 5 s meter, unlike the 60 s
            // of Flink's numRecordsOutPerSecond, which lags far behind after a restart).
            generated = getRuntimeContext().getMetricGroup().meter("generatedPerSecond", new MeterView(5));
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
                if (resumeUs > 0) {
                    // Restored: everything scheduled since the checkpoint is backlog.
                    startUs = resumeUs;
                } else {
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
            generated.markEvent();
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
        private final boolean series;
        private transient long[] buckets, secBuckets;
        private transient long count, sum, max, sec, secCount, secMax;
        private transient boolean written;

        Measure(long t0Ms, long t1Ms, String out, boolean series) {
            this.t0Us = t0Ms * 1000;
            this.t1Us = t1Ms * 1000;
            this.out = out;
            this.series = series;
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
            if (series) {
                secBuckets = new long[buckets.length];
                // Marks a new instance (a restart), so the reader can tell its seconds apart.
                append("open " + Clock.nowUs() / 1000 + "\n");
            }
        }

        private void append(String line) {
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            try (FileOutputStream f = new FileOutputStream(new File(out, "series-" + subtask + ".txt"), true)) {
                f.write(line.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new RuntimeException("cannot append to the latency series in " + out, e);
            }
        }

        /** Appends the finished second's line; a restarted subtask appends to the same file. */
        private void flushSecond() {
            long need = (long) Math.ceil(0.99 * secCount), cum = 0, p99 = secMax;
            for (int i = 0; i < secBuckets.length && cum < need; i++) {
                cum += secBuckets[i];
                if (cum >= need) p99 = lowerBound(i);
            }
            java.util.Arrays.fill(secBuckets, 0);
            append((sec * 1000) + " " + secCount + " " + p99 + " " + secMax + "\n");
            secCount = 0;
            secMax = 0;
        }

        @Override
        public boolean filter(Long stamp) {
            long now = Clock.nowUs();
            if (series && now >= t0Us) {
                long s = now / 1_000_000;
                if (s != sec) {
                    if (secCount > 0) flushSecond();
                    sec = s;
                }
                long lat = Math.max(0, now - stamp);
                secBuckets[bucket(lat)]++;
                secCount++;
                secMax = Math.max(secMax, lat);
            }
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
        private transient long maxCount;

        @Override
        public void open(OpenContext ctx) {
            total = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
            // The highest running count this subtask has emitted: after a restore it continues
            // from the restored counts (tests read it to tell a restore from a fresh start).
            getRuntimeContext().getMetricGroup().gauge("maxCount", (Gauge<Long>) () -> maxCount);
        }

        @Override
        public void processElement(Rec r, Context ctx, Collector<Rec> out) throws Exception {
            Long t = total.value();
            long c = (t == null ? 0 : t) + r.f2;
            total.update(c);
            maxCount = Math.max(maxCount, c);
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
        boolean series = Boolean.parseBoolean(a.getOrDefault("series", "false"));
        if (rate <= 0 || t1 <= t0) throw new IllegalArgumentException("need rate > 0 and t1 > t0");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        boolean words = workload.equals("wordcount");
        // The generator stands in for Kafka: its own chain, so the job proper starts with a
        // network exchange as it would after a Kafka source.
        DataStream<Rec> in = env.fromSource(new Sequence(), WatermarkStrategy.noWatermarks(), "sequence").uid("sequence")
                .map(new Pacer(rate, startAt, t0, t1, out, words)).name("paced-generator").uid("paced-generator")
                .map(new Pass()).name("read").uid("read").startNewChain();
        DataStream<Rec> result;
        switch (workload) {
            case "identity":
                result = in;
                break;
            case "repartition":
                result = in.rebalance().map(new Pass()).name("repartitioned").uid("repartitioned");
                break;
            case "wordcount":
                // HiBench's wordcount keeps a running count per word; its state is checkpointed.
                if (!env.getCheckpointConfig().isCheckpointingEnabled()) env.enableCheckpointing(checkpointMs);
                result = in.flatMap(new Split()).name("split").uid("split")
                        .keyBy(new ByKey()).process(new RunningCount()).name("count").uid("count");
                break;
            case "fixwindow":
                result = in.keyBy(new ByKey()).window(TumblingProcessingTimeWindows.of(Duration.ofMillis(windowMs)))
                        .reduce(new Newest()).name("window").uid("window");
                break;
            default:
                throw new IllegalArgumentException("unknown workload '" + workload + "' (identity, repartition, wordcount, fixwindow)");
        }
        result.map(new StampOf()).uid("stamp").filter(new Measure(t0, t1, out, series)).name("measure").uid("measure")
                .sinkTo(new DiscardingSink<>()).uid("discard");
        env.execute("flinktune-" + workload);
    }

    private static String need(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) throw new IllegalArgumentException("missing --" + k);
        return v;
    }
}
