//! Helpers shared by the harness's integration tests.

use std::path::PathBuf;

/// An empty directory for one test: `meterlab-AREA-PID-NAME` under the system's temp dir,
/// emptied first if an earlier run left it.
pub fn temp_dir(area: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meterlab-{area}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
