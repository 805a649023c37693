//! How failure reasons read in stage summaries and `status`: alike reasons are grouped
//! (`flink::precheck::group_reasons`) and each group shows its count and one of its reasons
//! word for word, never a masked or shortened one.

use crate::trial::adapter::STDERR_TAIL_MARK;
use flink::precheck::ReasonGroup;

/// How many groups a short summary lists.
const SHORT: usize = 5;

/// One line per group, most common first: `count × reason`. Short (`full` false): the five
/// commonest groups, each reason up to the adapter's stderr tail it quotes. Full (`status`,
/// `--verbose`): every group, each reason whole, the stderr tail one line per line.
pub fn describe(groups: &[ReasonGroup], full: bool) -> String {
    let mut out = String::new();
    let shown = if full { groups.len() } else { SHORT };
    for g in groups.iter().take(shown) {
        let (reason, tail) = match g.example.split_once(STDERR_TAIL_MARK) {
            Some((reason, tail)) => (reason, Some(tail)),
            None => (g.example.as_str(), None),
        };
        let mut lines = reason.lines();
        out.push_str(&format!(
            "  {:>6} × {}",
            g.count,
            lines.next().unwrap_or("")
        ));
        let more: Vec<&str> = lines.collect();
        if !full && (tail.is_some() || !more.is_empty()) {
            out.push_str(" (more with --verbose)");
        }
        out.push('\n');
        if full {
            for line in more {
                out.push_str(&format!("           {line}\n"));
            }
            if let Some(tail) = tail {
                out.push_str("           the adapter's stderr ended:\n");
                for line in tail.split(" | ") {
                    out.push_str(&format!("             {line}\n"));
                }
            }
        }
    }
    if groups.len() > shown {
        let rest: usize = groups[shown..].iter().map(|g| g.count).sum();
        out.push_str(&format!(
            "  {rest:>6} × {} other kinds of reason (all with --verbose)\n",
            groups.len() - shown
        ));
    }
    out
}

/// The groups on one line, for an error message: `reason (count×); …`.
pub fn one_line(groups: &[ReasonGroup]) -> String {
    groups
        .iter()
        .map(|g| format!("{} ({}×)", g.example, g.count))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flink::precheck::group_reasons;

    #[test]
    fn each_group_shows_a_real_reason_and_full_shows_the_stderr_tail() {
        let long = format!("result.json lacks \"latency_p99_ms\" {}", "x".repeat(150));
        let tailed = format!("adapter failed (exit status 3){STDERR_TAIL_MARK}Traceback | boom");
        let reasons = [long.as_str(), long.as_str(), tailed.as_str()];
        let groups = group_reasons(reasons.into_iter());
        let short = describe(&groups, false);
        assert!(short.contains(&format!("2 × {long}\n")), "{short}");
        assert!(
            short.contains("1 × adapter failed (exit status 3) (more with --verbose)"),
            "{short}"
        );
        assert!(!short.contains("Traceback"), "{short}");
        let full = describe(&groups, true);
        assert!(full.contains("             Traceback\n"), "{full}");
        assert!(full.contains("             boom\n"), "{full}");
    }

    #[test]
    fn a_short_summary_counts_the_groups_it_leaves_out() {
        let reasons: Vec<String> = (0..7).map(|i| format!("kind {}", "ab".repeat(i))).collect();
        let groups = group_reasons(reasons.iter().map(String::as_str));
        let short = describe(&groups, false);
        assert!(short.contains("2 × 2 other kinds of reason"), "{short}");
        assert_eq!(describe(&groups, true).lines().count(), 7);
    }
}
