package example;

import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;

/**
 * A user's job for flinktune's tests, unlike its built-in ones: its own paced source
 * ({@code --rate} records/s over all subtasks, for {@code --seconds} or unbounded), a running
 * count per key in keyed state, and a discarding sink. It writes no metrics of its own, so it
 * can only be measured through Flink's (REST or Prometheus).
 */
public class KeyedCount {
    public static void main(String[] args) throws Exception {
        long rate = 1000;
        int keys = 100;
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--rate")) rate = Long.parseLong(args[i + 1]);
            else if (args[i].equals("--keys")) keys = Integer.parseInt(args[i + 1]);
            else throw new IllegalArgumentException("unknown argument " + args[i]);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.addSource(new Paced(rate, keys)).name("paced-source")
                .keyBy(t -> t.f0)
                .map(new Count()).name("count")
                .addSink(new DiscardingSink<>()).name("discard");
        env.execute("keyed-count");
    }

    /** Emits rate/parallelism records a second, evenly spaced, keyed round-robin. */
    static class Paced extends RichParallelSourceFunction<Tuple2<Integer, Long>> {
        private final long rate;
        private final int keys;
        private volatile boolean running = true;

        Paced(long rate, int keys) {
            this.rate = rate;
            this.keys = keys;
        }

        @Override
        public void run(SourceContext<Tuple2<Integer, Long>> ctx) throws Exception {
            int n = getRuntimeContext().getNumberOfParallelSubtasks();
            double perSecond = (double) rate / n;
            long start = System.nanoTime();
            long i = 0;
            while (running) {
                long due = start + (long) (i * 1e9 / perSecond);
                long wait = due - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(Tuple2.of((int) (i % keys), i));
                }
                i++;
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    /** The running count of the record's key. */
    static class Count extends RichMapFunction<Tuple2<Integer, Long>, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(Configuration parameters) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }

        @Override
        public Long map(Tuple2<Integer, Long> t) throws Exception {
            long c = (count.value() == null ? 0 : count.value()) + 1;
            count.update(c);
            return c;
        }
    }
}
