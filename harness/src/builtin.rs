//! The built-in suite: every scenario file of `scenarios/` and golden file of `golden/`,
//! embedded in the binary at build time (`harness/build.rs`), so that `meterlab run` works
//! outside the checkout (a container, a decoder's CI) and `meterlab scenarios export DIR`
//! writes the suite out for editing.

use std::path::{Path, PathBuf};

use crate::golden;
use crate::scenario::{Scenario, ScenarioError};

include!(concat!(env!("OUT_DIR"), "/builtin_suite.rs"));

/// The scenario files, as `(path, content)` with paths like `scenarios/dsmr/dsmr-5.0-clean.yaml`.
pub fn scenario_files() -> &'static [(&'static str, &'static [u8])] {
    SCENARIOS
}

/// The golden files, as `(path, content)` with paths like `golden/dsmr-5.0-clean.snap`.
pub fn golden_files() -> &'static [(&'static str, &'static [u8])] {
    GOLDEN
}

/// The built-in scenarios, parsed; each named by its path in the suite (`scenarios/…`).
pub fn scenarios() -> Result<Vec<Scenario>, Vec<ScenarioError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (path, bytes) in SCENARIOS {
        let path = Path::new(path);
        match std::str::from_utf8(bytes) {
            Ok(text) => match Scenario::parse(path, text) {
                Ok(s) => out.push(s),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(ScenarioError::Invalid {
                path: path.to_path_buf(),
                message: format!("not UTF-8: {e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The built-in golden summary of scenario `name` (its `---` header removed).
pub fn golden(name: &str) -> Option<String> {
    let wanted = format!("golden/{name}.snap");
    GOLDEN
        .iter()
        .find(|(p, _)| *p == wanted)
        .map(|(_, bytes)| golden::strip_header(&String::from_utf8_lossy(bytes)).to_string())
}

/// Writes the suite under `dir` (`dir/scenarios/…`, `dir/golden/…`): run `meterlab run` there
/// to use the copy. A file that exists with other content is left alone and reported, unless
/// `force`. Returns the files written.
pub fn export(dir: &Path, force: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut conflicts = Vec::new();
    for (path, bytes) in SCENARIOS.iter().chain(GOLDEN) {
        let target = dir.join(path);
        if !force {
            if let Ok(existing) = std::fs::read(&target) {
                if existing != *bytes {
                    conflicts.push(target.display().to_string());
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} file(s) exist with other content (give --force to overwrite): {}",
                conflicts.len(),
                conflicts.join(", ")
            ),
        ));
    }
    let mut written = Vec::new();
    for (path, bytes) in SCENARIOS.iter().chain(GOLDEN) {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes)?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod test {
    #[test]
    fn every_scenario_has_its_golden_file() {
        let scenarios = super::scenarios().expect("the built-in scenarios parse");
        assert!(scenarios.len() >= 20, "{}", scenarios.len());
        for s in &scenarios {
            assert!(s.path.starts_with("scenarios"), "{}", s.path.display());
            assert!(
                super::golden(&s.name).is_some(),
                "{} has no golden file",
                s.name
            );
        }
    }
}
