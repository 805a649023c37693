// Shared by both job sources (see Jobs.java): nothing here depends on an API that changed
// between Flink 1.11 and 2.x.
package flinktune;

import org.apache.flink.api.java.tuple.Tuple3;

/** A benchmark record: (creation stamp in epoch microseconds, key or text line, count or sequence number). */
public class Rec extends Tuple3<Long, String, Long> {
    public Rec() {}

    public Rec(long stamp, String key, long n) {
        super(stamp, key, n);
    }
}
