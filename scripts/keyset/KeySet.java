// Writes every configuration key of a Flink distribution, as Flink itself declares them: the
// public static ConfigOption fields of the classes in its jars (lib/, opt/, plugins/*/).
// Compiled against the distribution's own lib/ by scripts/gen-keysets.sh, which documents the
// output format. Only classes whose bytecode names the ConfigOption type are loaded, so a
// scan takes seconds rather than loading every class of every jar.
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.FallbackKey;

public class KeySet {
    private static final byte[] MARK =
            "org/apache/flink/configuration/ConfigOption".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        List<File> jars = new ArrayList<>();
        for (String dir : args) {
            collectJars(new File(dir), jars);
        }
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = jars.get(i).toURI().toURL();
        }
        TreeSet<String> rows = new TreeSet<>();
        int skipped = 0;
        try (URLClassLoader loader = new URLClassLoader(urls, KeySet.class.getClassLoader())) {
            for (File jar : jars) {
                for (String name : candidateClasses(jar)) {
                    try {
                        rowsOf(Class.forName(name, true, loader), rows);
                    } catch (Throwable t) {
                        // A class whose dependencies live outside the distribution: its
                        // options cannot be read, and are not the distribution's own.
                        skipped++;
                    }
                }
            }
        }
        for (String row : rows) {
            System.out.println(row);
        }
        System.err.println("keyset: " + rows.size() + " rows, " + skipped + " classes not loadable");
    }

    private static void collectJars(File dir, List<File> out) {
        File[] files = dir.listFiles();
        if (files == null) {
            return;
        }
        java.util.Arrays.sort(files);
        for (File f : files) {
            if (f.isDirectory()) {
                collectJars(f, out);
            } else if (f.getName().endsWith(".jar")) {
                out.add(f);
            }
        }
    }

    /** Classes of a jar whose bytecode mentions ConfigOption (outside shaded copies). */
    private static List<String> candidateClasses(File jar) throws Exception {
        List<String> out = new ArrayList<>();
        try (JarFile jf = new JarFile(jar)) {
            Enumeration<JarEntry> entries = jf.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                String n = e.getName();
                if (!n.endsWith(".class") || n.contains("$") || n.startsWith("META-INF")) {
                    continue;
                }
                try (InputStream in = jf.getInputStream(e)) {
                    if (contains(readAll(in), MARK)) {
                        out.add(n.substring(0, n.length() - 6).replace('/', '.'));
                    }
                }
            }
        }
        return out;
    }

    private static byte[] readAll(InputStream in) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) > 0) {
            buf.write(chunk, 0, n);
        }
        return buf.toByteArray();
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The rows of every public static ConfigOption field of a class. */
    private static void rowsOf(Class<?> c, TreeSet<String> rows) throws Exception {
        if (!Modifier.isPublic(c.getModifiers())) {
            return;
        }
        for (Field f : c.getFields()) {
            int m = f.getModifiers();
            if (!Modifier.isStatic(m) || !ConfigOption.class.isAssignableFrom(f.getType())) {
                continue;
            }
            ConfigOption<?> o = (ConfigOption<?>) f.get(null);
            if (o == null) {
                continue;
            }
            boolean deprecated = f.isAnnotationPresent(Deprecated.class);
            String dflt = o.hasDefaultValue() ? format(o.defaultValue()) : "";
            rows.add(row(o.key(), deprecated ? "option-deprecated" : "option", "", dflt));
            for (FallbackKey k : o.fallbackKeys()) {
                rows.add(row(k.getKey(), k.isDeprecated() ? "deprecated" : "fallback", o.key(), ""));
            }
        }
    }

    private static String row(String key, String kind, String target, String dflt) {
        return key + "\t" + kind + "\t" + target + "\t" + dflt;
    }

    /** A default as it would be written in a configuration file, on one line. */
    private static String format(Object v) {
        String s;
        if (v == null) {
            s = "";
        } else if (v instanceof Duration) {
            s = ((Duration) v).toMillis() + " ms";
        } else if (v instanceof Enum) {
            s = ((Enum<?>) v).name();
        } else {
            s = v.toString();
        }
        return s.replaceAll("[\\t\\r\\n]+", " ").trim();
    }
}
