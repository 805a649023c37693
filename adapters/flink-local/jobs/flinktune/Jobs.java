// The four HiBench-like streaming benchmarks of flinktune's flink-local adapter: identity,
// repartition, wordcount (keyed running count, checkpointed) and fixwindow (tumbling window),
// written against the DataStream API common to Flink 1.19/1.20 and 2.x (FLIP-27 sources,
// OpenContext, getTaskInfo, sink2 DiscardingSink). Compiled on the machine with javac together
// with ../common/ (the API-independent parts); ../legacy/ holds the same jobs for Flink 1.11.
//
// Measurement: a paced generator stamps every record with its scheduled creation time (epoch
// microseconds); the final operator computes now - stamp for every record that arrives inside the
// measured wall-clock window [t0, t1) into a log-linear histogram, and the generator counts the
// records it emits inside that window. Each subtask writes its figures to --out when it first sees
// a record after t1; the adapter merges the files.
//
// Restarts (these jobs only; the flink-local hook and recovery measurement rely on them): the
// generator keeps its schedule position in checkpointed state, so a job restored from a
// checkpoint or savepoint first replays what was scheduled since then, which shows as latency
// until the job has caught up. Every operator has a stable uid, so state maps across a
// resubmission with another parallelism.
//
// Usage: Jobs --workload W --rate R --start-at-ms S --t0-ms T0 --t1-ms T1 --out DIR [--times started]
//             [--window-ms 10000] [--checkpoint-ms 10000] [--series true]
package flinktune;

import java.time.Duration;
import java.util.Collection;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.connector.source.lib.util.IteratorSourceEnumerator;
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
        public SplitEnumerator<NumberSequenceSplit, Collection<NumberSequenceSplit>> createEnumerator(
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
        private final Params p;
        private transient ListState<Long> position;
        private transient long resumeUs;
        private transient Generator gen;
        private transient MeterView generated;

        Pacer(Params p) {
            this.p = p;
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) throws Exception {
            // Union state: every new subtask sees all old positions, whatever the parallelism.
            position = ctx.getOperatorStateStore().getUnionListState(
                    new ListStateDescriptor<>("schedule-position-us", Long.class));
            resumeUs = 0;
            if (ctx.isRestored()) {
                for (Long at : position.get()) {
                    if (at != null && at > 0 && (resumeUs == 0 || at < resumeUs)) resumeUs = at;
                }
            }
        }

        @Override
        public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
            position.clear();
            long at = gen == null ? resumeUs : gen.position();
            if (at > 0) position.add(at);
        }

        @Override
        public void open(OpenContext ctx) {
            // The source rate `rate` of the flink-local hook reads (a 5 s meter, unlike the 60 s
            // of Flink's numRecordsOutPerSecond, which lags far behind after a restart).
            generated = getRuntimeContext().getMetricGroup().meter("generatedPerSecond", new MeterView(5));
            gen = new Generator(p, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                    getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks(), resumeUs);
        }

        @Override
        public Rec map(Long seq) {
            Rec r = gen.next(seq);
            generated.markEvent();
            return r;
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
        public void open(OpenContext ctx) {
            rec = new LatencyRecorder(p, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
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

    public static void main(String[] argv) throws Exception {
        Params p = new Params(argv);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The generator stands in for Kafka: its own chain, so the job proper starts with a
        // network exchange as it would after a Kafka source.
        DataStream<Rec> in = env.fromSource(new Sequence(), WatermarkStrategy.noWatermarks(), "sequence").uid("sequence")
                .map(new Pacer(p)).name("paced-generator").uid("paced-generator")
                .map(new Functions.Pass()).name("read").uid("read").startNewChain();
        DataStream<Rec> result;
        switch (p.workload) {
            case "identity":
                result = in;
                break;
            case "repartition":
                result = in.rebalance().map(new Functions.Pass()).name("repartitioned").uid("repartitioned");
                break;
            case "wordcount":
                // HiBench's wordcount keeps a running count per word; its state is checkpointed.
                if (!env.getCheckpointConfig().isCheckpointingEnabled()) env.enableCheckpointing(p.checkpointMs);
                result = in.flatMap(new Functions.Split()).name("split").uid("split")
                        .keyBy(new Functions.ByKey()).process(new RunningCount()).name("count").uid("count");
                break;
            default: // fixwindow (Params checked the name)
                result = in.keyBy(new Functions.ByKey())
                        .window(TumblingProcessingTimeWindows.of(Duration.ofMillis(p.windowMs)))
                        .reduce(new Functions.Newest()).name("window").uid("window");
                break;
        }
        result.map(new Functions.StampOf()).uid("stamp").filter(new Measure(p)).name("measure").uid("measure")
                .sinkTo(new DiscardingSink<>()).uid("discard");
        env.execute("flinktune-" + p.workload);
    }
}
