//! The commented study file `flinktune init` writes: every setting with its default, so a
//! new user reads what can be set where it is set.

use anyhow::{Result, bail};
use flink::catalogue;
use flink::conf::FlinkVersion;

/// The Flink version a new study starts with: the paper's, as the quick start uses it.
const DEFAULT_VERSION: FlinkVersion = FlinkVersion {
    major: 1,
    minor: 11,
};

/// The commented study file `flinktune init` writes by default (the quick start's).
pub fn template(adapter_command: Option<&str>) -> String {
    template_for(adapter_command, DEFAULT_VERSION)
        .expect("the default Flink version has a built-in catalogue")
}

/// The commented study file, with `@VERSION@`, `@CATALOGUE@` and `@ADAPTER@` (the
/// `[adapter]` table's first lines) to fill in.
const TEMPLATE: &str = include_str!("template.toml");

/// The commented study file for Flink `version`, with the built-in key-parameter catalogue
/// written for that version.
pub fn template_for(adapter_command: Option<&str>, version: FlinkVersion) -> Result<String> {
    let Some(builtin) = catalogue::key_params_for(version) else {
        let have: Vec<&str> = catalogue::BUILTIN_CATALOGUES
            .iter()
            .filter(|b| b.name.ends_with("-key-params"))
            .flat_map(|b| b.versions.iter().copied())
            .collect();
        bail!(
            "no built-in catalogue for Flink {version} (have: {})",
            have.join(", ")
        );
    };
    let catalogue = builtin.name;
    let adapter = match adapter_command {
        Some(cmd) => format!(
            "kind = \"command\"\n# Run with `sh -c` in each trial's directory; a relative program path (./my-adapter.sh)\n# is found next to this file, and {{study}} is this file's directory. See docs/adapters.md for the protocol.\ncommand = {}\n",
            toml::Value::String(cmd.to_string())
        ),
        None => "kind = \"sim\"          # the built-in simulated Flink job; or \"command\" with command = \"...\"\n".to_string(),
    };
    // The file's text is `template.toml` with three placeholders filled in.
    Ok(TEMPLATE
        .replace("@VERSION@", &version.to_string())
        .replace("@CATALOGUE@", catalogue)
        .replace("@ADAPTER@", &adapter))
}

/// Writes a new study directory `dir` with the commented study file (refusing to replace
/// an existing one unless `force`), and checks that what it wrote loads, so a user never
/// starts from a broken file. Returns the study file's path.
pub fn init(
    dir: &std::path::Path,
    adapter_command: Option<&str>,
    version: Option<FlinkVersion>,
    force: bool,
) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let path = dir.join(crate::study::STUDY_FILE);
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    let text = template_for(adapter_command, version.unwrap_or(DEFAULT_VERSION))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::fsx::write_atomic(&path, text.as_bytes())?;
    crate::study::Study::load(dir)?;
    Ok(path)
}
