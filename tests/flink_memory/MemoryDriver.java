// Runs Flink's own start-up memory derivation (BashJavaUtils, the entry point that
// taskmanager.sh and jobmanager.sh call) on many configuration directories in one JVM, so that
// comparing flinktune's model with Flink's takes seconds instead of one JVM start per directory.
//
// Usage: java -cp <bash-java-utils.jar>:<flink-dist.jar>:<this dir> MemoryDriver DIR...
// For each DIR and each process it prints "@@BEGIN TM|JM DIR", Flink's own log (whose
// "Final ... Memory configuration" lines carry every size in bytes), then either nothing or
// "@@ERROR <the message Flink's start-up scripts print>", then "@@END".
import org.apache.flink.runtime.util.bash.BashJavaUtils;

public class MemoryDriver {
    public static void main(String[] args) {
        String[][] commands = {{"TM", "GET_TM_RESOURCE_PARAMS"}, {"JM", "GET_JM_RESOURCE_PARAMS"}};
        for (String dir : args) {
            for (String[] command : commands) {
                System.out.println("@@BEGIN " + command[0] + " " + dir);
                try {
                    BashJavaUtils.main(new String[] {command[1], "--configDir", dir});
                } catch (Throwable t) {
                    // One line per message: the test compares it with flinktune's.
                    System.out.println("@@ERROR " + String.valueOf(t.getMessage()).replace("\n", "\\n"));
                }
                System.out.println("@@END");
                System.out.flush();
            }
        }
    }
}
