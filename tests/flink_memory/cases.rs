//! The configurations the memory model is held against Flink on: every way of sizing each
//! process, and the boundaries where versions differ or Flink refuses to start.

/// One configuration: its name and its keys.
pub struct Case {
    pub name: &'static str,
    pub keys: Vec<(&'static str, &'static str)>,
}

fn case(name: &'static str, keys: &[(&'static str, &'static str)]) -> Case {
    Case {
        name,
        keys: keys.to_vec(),
    }
}

const TM_PROCESS: &str = "taskmanager.memory.process.size";
const TM_FLINK: &str = "taskmanager.memory.flink.size";
const TM_HEAP: &str = "taskmanager.memory.task.heap.size";
const TM_MANAGED: &str = "taskmanager.memory.managed.size";
const NET_FRACTION: &str = "taskmanager.memory.network.fraction";
const NET_MIN: &str = "taskmanager.memory.network.min";
const NET_MAX: &str = "taskmanager.memory.network.max";
const JM_PROCESS: &str = "jobmanager.memory.process.size";
const JM_FLINK: &str = "jobmanager.memory.flink.size";
const JM_HEAP: &str = "jobmanager.memory.heap.size";
const JM_OFF_HEAP: &str = "jobmanager.memory.off-heap.size";

/// Cases every version reads.
fn common() -> Vec<Case> {
    let jm = (JM_PROCESS, "1600m");
    vec![
        case("flink-defaults", &[(TM_PROCESS, "1728m"), jm]),
        case(
            "big-tm-network-cap",
            &[(TM_PROCESS, "16g"), (JM_PROCESS, "4g")],
        ),
        case("huge-tm", &[(TM_PROCESS, "64g"), (JM_PROCESS, "32g")]),
        case("flink-4g-heap-1g", &[(TM_FLINK, "4g"), (TM_HEAP, "1g"), jm]),
        case(
            "managed-0.7-of-6912m",
            &[
                (TM_FLINK, "6912m"),
                ("taskmanager.memory.managed.fraction", "0.7"),
                jm,
            ],
        ),
        case(
            "network-min-eq-max",
            &[(TM_PROCESS, "4g"), (NET_MIN, "256m"), (NET_MAX, "256m"), jm],
        ),
        case(
            "network-min-above-max",
            &[(TM_PROCESS, "4g"), (NET_MIN, "512m"), (NET_MAX, "256m"), jm],
        ),
        case(
            "network-0.3",
            &[(TM_PROCESS, "3000m"), (NET_FRACTION, "0.3"), jm],
        ),
        case(
            "network-0.33",
            &[(TM_PROCESS, "5555m"), (NET_FRACTION, "0.33"), jm],
        ),
        case(
            "network-0.15-max-2g",
            &[
                (TM_PROCESS, "20g"),
                (NET_FRACTION, "0.15"),
                (NET_MAX, "2g"),
                jm,
            ],
        ),
        case(
            "network-0.123456",
            &[(TM_PROCESS, "7777m"), (NET_FRACTION, "0.123456"), jm],
        ),
        case(
            "network-0.4-overflows",
            &[(TM_PROCESS, "1728m"), (NET_FRACTION, "0.4"), jm],
        ),
        case(
            "network-fraction-1",
            &[(TM_PROCESS, "1728m"), (NET_FRACTION, "1.0"), jm],
        ),
        case(
            "network-fraction-negative",
            &[(TM_PROCESS, "1728m"), (NET_FRACTION, "-0.1"), jm],
        ),
        case(
            "network-fraction-text",
            &[(TM_PROCESS, "1728m"), (NET_FRACTION, "lots"), jm],
        ),
        case(
            "managed-0.05",
            &[
                (TM_PROCESS, "3g"),
                ("taskmanager.memory.managed.fraction", "0.05"),
                jm,
            ],
        ),
        case("too-little-tm", &[(TM_PROCESS, "256m"), jm]),
        case("too-little-tm-600m", &[(TM_PROCESS, "600m"), jm]),
        case("tiny-flink", &[(TM_FLINK, "200m"), jm]),
        case(
            "process-and-flink",
            &[(TM_PROCESS, "2000m"), (TM_FLINK, "1500m"), jm],
        ),
        case(
            "process-and-flink-overhead-min",
            &[
                (TM_PROCESS, "2000m"),
                (TM_FLINK, "1500m"),
                ("taskmanager.memory.jvm-overhead.min", "300m"),
                jm,
            ],
        ),
        case(
            "flink-above-process",
            &[(TM_PROCESS, "1728m"), (TM_FLINK, "2048m"), jm],
        ),
        case(
            "fine-grained",
            &[(TM_HEAP, "512m"), (TM_MANAGED, "512m"), jm],
        ),
        case(
            "fine-grained-with-flink",
            &[
                (TM_HEAP, "512m"),
                (TM_MANAGED, "512m"),
                (TM_FLINK, "1536m"),
                jm,
            ],
        ),
        case(
            "fine-grained-flink-too-small",
            &[
                (TM_HEAP, "512m"),
                (TM_MANAGED, "512m"),
                (TM_FLINK, "1g"),
                jm,
            ],
        ),
        case(
            "fine-grained-with-process",
            &[(TM_HEAP, "1g"), (TM_MANAGED, "1g"), (TM_PROCESS, "4g"), jm],
        ),
        case(
            "unreadable-fraction-size",
            &[(TM_PROCESS, "1.5g"), (JM_PROCESS, "lots")],
        ),
        case(
            "overhead-0.25",
            &[
                (TM_PROCESS, "8g"),
                ("taskmanager.memory.jvm-overhead.fraction", "0.25"),
                ("taskmanager.memory.jvm-overhead.max", "4g"),
                jm,
            ],
        ),
        case(
            "overhead-min-above-max",
            &[
                (TM_PROCESS, "2g"),
                ("taskmanager.memory.jvm-overhead.min", "512m"),
                ("taskmanager.memory.jvm-overhead.max", "256m"),
                jm,
            ],
        ),
        case(
            "metaspace-too-big",
            &[
                (TM_PROCESS, "1728m"),
                (JM_PROCESS, "1600m"),
                ("jobmanager.memory.jvm-metaspace.size", "2048m"),
            ],
        ),
        case(
            "off-heaps",
            &[
                (TM_PROCESS, "4g"),
                ("taskmanager.memory.task.off-heap.size", "256m"),
                ("taskmanager.memory.framework.off-heap.size", "64m"),
                (JM_FLINK, "1g"),
            ],
        ),
        case(
            "units",
            &[(TM_PROCESS, "2147483648"), (JM_PROCESS, "1638400 kb")],
        ),
        case("no-sizing", &[("parallelism.default", "1")]),
        case("jm-heap", &[(TM_PROCESS, "1728m"), (JM_HEAP, "1g")]),
        case(
            "jm-heap-and-flink",
            &[(TM_PROCESS, "1728m"), (JM_HEAP, "1g"), (JM_FLINK, "1200m")],
        ),
        case(
            "jm-heap-flink-off-heap-mismatch",
            &[
                (TM_PROCESS, "1728m"),
                (JM_HEAP, "1g"),
                (JM_FLINK, "1200m"),
                (JM_OFF_HEAP, "64m"),
            ],
        ),
        case(
            "jm-heap-above-flink",
            &[(TM_PROCESS, "1728m"), (JM_HEAP, "2g"), (JM_FLINK, "1g")],
        ),
        case(
            "jm-flink-below-off-heap",
            &[(TM_PROCESS, "1728m"), (JM_FLINK, "100m")],
        ),
        case(
            "jm-process-and-flink",
            &[
                (TM_PROCESS, "1728m"),
                (JM_PROCESS, "1600m"),
                (JM_FLINK, "1300m"),
            ],
        ),
        case(
            "jm-overhead-fraction",
            &[
                (TM_PROCESS, "1728m"),
                (JM_PROCESS, "10g"),
                ("jobmanager.memory.jvm-overhead.fraction", "0.7"),
            ],
        ),
    ]
}

/// Cases of the 1.x keys Flink 2.0 removed (which 2.x then ignores): the legacy heap sizes,
/// the deprecated network keys, the legacy buffer count.
fn legacy() -> Vec<Case> {
    let jm = (JM_PROCESS, "1600m");
    vec![
        case("legacy-tm-heap", &[("taskmanager.heap.size", "1024m"), jm]),
        case(
            "legacy-tm-heap-beside-process",
            &[
                ("taskmanager.heap.size", "1024m"),
                (TM_PROCESS, "1728m"),
                jm,
            ],
        ),
        case("legacy-tm-heap-mb", &[("taskmanager.heap.mb", "2048"), jm]),
        case(
            "legacy-jm-heap",
            &[(TM_PROCESS, "1728m"), ("jobmanager.heap.size", "1024m")],
        ),
        case(
            "legacy-jm-heap-beside-process",
            &[
                (TM_PROCESS, "1728m"),
                ("jobmanager.heap.size", "2048m"),
                (JM_PROCESS, "1600m"),
            ],
        ),
        case(
            "legacy-jm-heap-mb",
            &[(TM_PROCESS, "1728m"), ("jobmanager.heap.mb", "512")],
        ),
        case(
            "deprecated-network-keys",
            &[
                (TM_PROCESS, "4g"),
                ("taskmanager.network.memory.fraction", "0.2"),
                ("taskmanager.network.memory.max", "2g"),
                jm,
            ],
        ),
        case(
            "deprecated-managed-key",
            &[(TM_HEAP, "512m"), ("taskmanager.memory.size", "256m"), jm],
        ),
        case(
            "legacy-buffers",
            &[
                (TM_PROCESS, "4g"),
                ("taskmanager.network.numberOfBuffers", "4096"),
                jm,
            ],
        ),
        case(
            "legacy-buffers-64kb",
            &[
                (TM_PROCESS, "4g"),
                ("taskmanager.network.numberOfBuffers", "4096"),
                ("taskmanager.memory.segment-size", "64kb"),
                jm,
            ],
        ),
        case(
            "legacy-buffers-too-many",
            &[
                (TM_PROCESS, "1728m"),
                ("taskmanager.network.numberOfBuffers", "44800"),
                ("taskmanager.memory.segment-size", "1024kb"),
                jm,
            ],
        ),
        case(
            "legacy-buffers-remainder",
            &[
                (TM_FLINK, "2g"),
                (TM_HEAP, "512m"),
                ("taskmanager.network.numberOfBuffers", "2048"),
                jm,
            ],
        ),
    ]
}

/// Every case.
pub fn cases() -> Vec<Case> {
    let mut all = common();
    all.extend(legacy());
    all
}
