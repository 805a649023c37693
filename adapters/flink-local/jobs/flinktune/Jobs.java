// The four HiBench-like streaming benchmarks of flinktune's flink-local adapter: identity,
// repartition, wordcount (keyed running count, checkpointed) and fixwindow (tumbling window),
// written against the DataStream API common to Flink 1.19/1.20 and 2.x (fromSequence,
// OpenContext, getTaskInfo, sink2 DiscardingSink). Compiled on the machine with javac together
// with ../common/ (the API-independent parts); ../legacy/ holds the same jobs for Flink 1.11.
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

import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;
import org.apache.flink.util.Collector;

public final class Jobs {
    /** Paces an unbounded sequence evenly at this subtask's share of the rate and stamps it. */
    static final class Pacer extends RichMapFunction<Long, Rec> {
        private final Params p;
        private transient Generator gen;

        Pacer(Params p) {
            this.p = p;
        }

        @Override
        public void open(OpenContext ctx) {
            gen = new Generator(p, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                    getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks());
        }

        @Override
        public Rec map(Long seq) {
            return gen.next(seq);
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

    public static void main(String[] argv) throws Exception {
        Params p = new Params(argv);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The generator stands in for Kafka: its own chain, so the job proper starts with a
        // network exchange as it would after a Kafka source.
        DataStream<Rec> in = env.fromSequence(0, Long.MAX_VALUE).name("sequence")
                .map(new Pacer(p)).name("paced-generator")
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
                // HiBench's wordcount keeps a running count per word; its state is checkpointed.
                if (!env.getCheckpointConfig().isCheckpointingEnabled()) env.enableCheckpointing(p.checkpointMs);
                result = in.flatMap(new Functions.Split()).name("split").keyBy(new Functions.ByKey())
                        .process(new RunningCount()).name("count");
                break;
            default: // fixwindow (Params checked the name)
                result = in.keyBy(new Functions.ByKey())
                        .window(TumblingProcessingTimeWindows.of(Duration.ofMillis(p.windowMs)))
                        .reduce(new Functions.Newest()).name("window");
                break;
        }
        result.map(new Functions.StampOf()).filter(new Measure(p)).name("measure").sinkTo(new DiscardingSink<>());
        env.execute("flinktune-" + p.workload);
    }
}
