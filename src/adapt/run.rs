//! `flinktune adapt`: keeping a running job's configuration matched to its input rate
//! (Demeter). Two ways to run it:
//!
//! * **replay** (`--trace FILE`, implies a dry run): the trace's rates are replayed in
//!   simulated time against the study's simulator, for one or several policies (Demeter's
//!   forecasting, model-based policy and the three baselines), and their latency, resources,
//!   reconfigurations and recoveries are compared (`crate::adapt::replay`);
//! * **live** (`--hook COMMAND`): every interval the current rate is read (the hook's `rate`
//!   action or `--rate-command`), the policy decides, and a new configuration is applied through
//!   the hook — in place (`rescale`) when only the scale-out changes (`policy::change`), else
//!   by stop with a savepoint and a restart from it (`apply`), which is also the fallback for a
//!   hook that cannot rescale — or, with `--dry-run`, only logged.
//!
//! Every decision is logged: the replay into `adapt/` (a stage folder, written atomically),
//! the live loop into `adapt-live/decisions.jsonl`, appended and synced as it goes.
//!
//! This module is the command's face (what `main` calls); the replay is
//! `crate::adapt::replay_cmd`, the live loop `crate::adapt::live`, and the policies they
//! build by name `crate::adapt::policy_kind`.

pub use crate::adapt::live::{LiveOptions, LiveRecord, live};
pub use crate::adapt::policy_kind::PolicyKind;
pub use crate::adapt::replay_cmd::{ReplaySummary, replay_options, replay_trace, table};
