//! `promtool`, Prometheus's own checker, run on what the gateway exposes and on the example
//! alert rules in `deploy/prometheus/`. `tests/services.sh` installs it (Debian's `prometheus`
//! package); a missing promtool fails the test, never skips it.

use crate::deploy_example::find_binary;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn binary() -> PathBuf {
    find_binary("promtool", [PathBuf::from("/usr/bin/promtool")]).unwrap_or_else(|| {
        panic!(
            "promtool is not installed: run tests/services.sh as root, or install Debian's \
             'prometheus' package (apt-get install -y prometheus)"
        )
    })
}

/// Runs promtool with `args` in the workspace root, feeding it `stdin`.
fn run(args: &[&str], stdin: &str) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(stdin.as_bytes())
        .expect("promtool reads its input");
    child.wait_with_output().expect("promtool finishes")
}

/// Fails the test unless promtool accepted, showing what it said.
fn assert_accepted(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "promtool refused {what} ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `promtool check metrics`: the exposition parses and passes Prometheus's naming lint.
pub fn assert_metrics_pass(exposition: &str) {
    assert_accepted("the exposition", &run(&["check", "metrics"], exposition));
}

/// `promtool check rules` on a rules file (relative to the workspace root).
pub fn assert_rules_pass(rules: &str) {
    assert_accepted(rules, &run(&["check", "rules", rules], ""));
}

/// `promtool test rules` on a rule unit-test file (relative to the workspace root).
pub fn assert_rule_tests_pass(tests: &str) {
    assert_accepted(tests, &run(&["test", "rules", tests], ""));
}
