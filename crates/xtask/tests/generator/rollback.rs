//! All or nothing: a failure at any step of `new-service` (or
//! `remove-service`) leaves the tree as it was.

use crate::helpers::{Repo, assert_same, steps};

#[test]
fn a_failure_at_any_step_of_new_service_leaves_the_tree_as_it_was() {
    let repo = Repo::copy();
    // A gRPC service that calls one: its own files, every shared file, and
    // the callee's allow-lists.
    let args = "new-service shop --kind grpc --calls recommendations";
    let steps = steps(&repo, args);
    assert!(steps > 20, "only {steps} steps");
    let before = repo.snapshot();
    // Step steps + 1 fails once everything is done, Cargo.lock included.
    for step in 1..=steps + 1 {
        let fault = format!("fail:{step}");
        let error = repo.refused(args, &[("XTASK_FAULT", &fault)]);
        assert!(
            error.contains("injected fault") && error.contains("nothing was changed"),
            "{fault}: {error}"
        );
        assert_same(&before, &repo.snapshot(), &fault);
    }
    repo.ok(args);
    assert!(repo.path("crates/shop/Cargo.toml").exists());
}

#[test]
fn a_real_write_failure_midway_is_rolled_back() {
    let repo = Repo::copy();
    // Where the new Prometheus config is staged before it replaces the old
    // one: a directory in its way makes that write fail, after the crate,
    // the manifests and the compose file are already written.
    std::fs::create_dir(repo.path("deploy/prometheus/.prometheus.yml.xtask-tmp")).unwrap();
    let before = repo.snapshot();
    let error = repo.refused("new-service shop --kind web --calls recommendations", &[]);
    assert!(
        error.contains("cannot change deploy/prometheus/prometheus.yml")
            && error.contains("nothing was changed"),
        "{error}"
    );
    assert_same(&before, &repo.snapshot(), "after a failed write");
}

#[test]
fn a_failure_at_any_step_of_remove_service_leaves_the_service_whole() {
    let repo = Repo::copy();
    repo.ok("new-service shop --kind grpc --calls recommendations");
    let made = repo.snapshot();
    let steps = repo
        .ok("remove-service shop --dry-run")
        .stdout
        .lines()
        .filter(|line| line.starts_with("would "))
        .count();
    for step in 1..=steps + 1 {
        let fault = format!("fail:{step}");
        repo.refused("remove-service shop", &[("XTASK_FAULT", &fault)]);
        assert_same(&made, &repo.snapshot(), &fault);
    }
}

#[test]
fn a_block_that_would_land_outside_services_is_refused() {
    let repo = Repo::copy();
    // The marker moved to the end of the file, at the top level.
    let compose = repo.read("docker-compose.yaml");
    let moved = compose.replace("  # xtask:services\n", "") + "# xtask:services\n";
    std::fs::write(repo.path("docker-compose.yaml"), moved).unwrap();
    let before = repo.snapshot();
    let error = repo.refused("new-service shop --kind grpc", &[]);
    assert!(error.contains("shop is not under `services`"), "{error}");
    assert_same(&before, &repo.snapshot(), "after the refusal");
}
