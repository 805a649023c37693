package flinktune;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/** Epoch microseconds from the monotonic clock, and the atomic metrics files the adapter reads. */
final class Clock {
    // currentTimeMillis has 1 ms resolution: anchor nanoTime to the epoch once per JVM.
    private static final long OFFSET_US;

    static {
        Instant i = Instant.now();
        OFFSET_US = i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000 - System.nanoTime() / 1_000;
    }

    private Clock() {}

    static long nowUs() {
        return OFFSET_US + System.nanoTime() / 1_000;
    }

    /** Write-then-rename, so the adapter never reads a half-written file. */
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
}
