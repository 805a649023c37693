package flinktune;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.util.Collector;

/** The stateless operators of the workloads; their interfaces are the same from 1.11 to 2.x. */
final class Functions {
    private Functions() {}

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

    /** Window result: the newest stamp of the window (its latency is the result's delay), summed count. */
    static final class Newest implements ReduceFunction<Rec> {
        @Override
        public Rec reduce(Rec a, Rec b) {
            return new Rec(Math.max(a.f0, b.f0), a.f1, a.f2 + b.f2);
        }
    }
}
