// The four HiBench-like streaming benchmarks of flinktune's flink-local adapter for Flink 1.11
// (the paper's version): the same jobs and measurement as ../../flinktune/Jobs.java, written
// against the legacy DataStream API that 1.11 has and 2.x removed: a RichParallelSourceFunction
// instead of fromSequence, open(Configuration) instead of open(OpenContext),
// getIndexOfThisSubtask() on the RuntimeContext, Time instead of Duration for windows, and the
// SinkFunction DiscardingSink. Compiled with ../../common/ (the API-independent parts).
// Unlike the current jobs they do not checkpoint the generator's schedule or pin operator uids:
// a restarted job starts its schedule afresh, so the flink-local hook and the recovery
// measurement refuse Flink before 1.19.
//
// Usage: Jobs --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR [--times started]
//             [--window-ms 10000] [--checkpoint-ms 10000] [--series true]
package flinktune;

import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;
import org.apache.flink.streaming.api.windowing.time.Time;
import org.apache.flink.util.Collector;

public final class Jobs {
    /**
     * Emits an unbounded sequence evenly paced at this subtask's share of the rate, stamped.
     * (1.11's generateSequence materialises its whole range on open, so it cannot be unbounded.)
     */
    static final class PacedSource extends RichParallelSourceFunction<Rec> {
        private final Params p;
        private volatile boolean running = true;

        PacedSource(Params p) {
            this.p = p;
        }

        @Override
        public void run(SourceContext<Rec> ctx) {
            int subtask = getRuntimeContext().getIndexOfThisSubtask();
            int parallelism = getRuntimeContext().getNumberOfParallelSubtasks();
            Generator gen = new Generator(p, subtask, parallelism, 0);
            // Interleaved sequence numbers, so the subtasks together cycle over all keys and lines.
            for (long seq = subtask; running; seq += parallelism) {
                Rec r = gen.next(seq); // waits outside the lock, so checkpoints are not held up
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(r);
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    /** Records now - stamp for arrivals inside [t0, t1) into a log-linear histogram. */
    static final class Measure extends RichFilterFunction<Long> {
        private final Params p;
        private transient LatencyRecorder rec;

        Measure(Params p) {
            this.p = p;
        }

        @Override
        public void open(Configuration conf) {
            rec = new LatencyRecorder(p, getRuntimeContext().getIndexOfThisSubtask());
        }

        @Override
        public boolean filter(Long stamp) {
            rec.observe(stamp);
            return false;
        }
    }

    /** Keyed running count in checkpointed state. */
    static final class RunningCount extends KeyedProcessFunction<String, Rec, Rec> {
        private transient ValueState<Long> total;

        @Override
        public void open(Configuration conf) {
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

    public static void main(String[] argv) throws Exception {
        Params p = new Params(argv);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The generator is a chain of its own, as in the current jobs (a Kafka source stand-in).
        DataStream<Rec> in = env.addSource(new PacedSource(p)).name("paced-generator")
                .map(new Functions.Pass()).name("read").startNewChain();
        DataStream<Rec> result;
        switch (p.workload) {
            case "identity":
                result = in;
                break;
            case "repartition":
                result = in.rebalance().map(new Functions.Pass()).name("repartitioned");
                break;
            case "wordcount":
                if (!env.getCheckpointConfig().isCheckpointingEnabled()) env.enableCheckpointing(p.checkpointMs);
                result = in.flatMap(new Functions.Split()).name("split").keyBy(new Functions.ByKey())
                        .process(new RunningCount()).name("count");
                break;
            default: // fixwindow (Params checked the name)
                result = in.keyBy(new Functions.ByKey())
                        .window(TumblingProcessingTimeWindows.of(Time.milliseconds(p.windowMs)))
                        .reduce(new Functions.Newest()).name("window");
                break;
        }
        result.map(new Functions.StampOf()).filter(new Measure(p)).name("measure").addSink(new DiscardingSink<>());
        env.execute("flinktune-" + p.workload);
    }
}
