//! The CloudFormation stack: cfn-lint passes; the IAM and security-group
//! rules hold; the stack creates in moto's CloudFormation with one instance
//! and with two (`InstanceCount`). The checks live in
//! cloudformation/test_template.py (they read the template with cfn-lint's
//! own YAML loader); this runs them with the venv's Python.

use std::process::Command;

use crate::support::moto::Moto;
use crate::support::programs::venv;

fn run(command: &mut Command) -> String {
    let output = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
fn cfn_lint_passes() {
    let Some(lint) = venv("cfn-lint") else {
        return;
    };
    run(Command::new(lint).arg("cloudformation/xfr53.yaml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_hold_and_the_stack_creates_in_moto() {
    let Some(python) = venv("python") else {
        return;
    };
    let Some(moto) = Moto::start().await else {
        return;
    };
    let endpoint = moto.endpoint();
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(python).args(["cloudformation/test_template.py", &endpoint]))
    })
    .await
    .unwrap();
    assert!(out.contains("template rules OK"), "{out}");
    for count in [1, 2] {
        let shape = format!("stack created in moto with InstanceCount {count}");
        assert!(out.contains(&shape), "{out}");
    }
}
