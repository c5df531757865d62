//! `remove-service`: exactly what `new-service` did is undone, for whole
//! services in any order and for half-made ones; nothing else is touched.

use crate::helpers::{Repo, assert_same, steps};

#[test]
fn three_services_removed_in_another_order_leave_the_same_bytes() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    repo.ok("new-service stock --kind grpc");
    repo.ok("new-service shop --kind web --calls stock --calls recommendations");
    repo.ok("new-service ledger --kind grpc --calls stock");
    // cargo brought Cargo.lock up to date with the three new crates.
    let lock = repo.read("Cargo.lock");
    for name in ["stock", "shop", "ledger"] {
        assert!(
            lock.contains(&format!("[[package]]\nname = \"{name}\"\n")),
            "no {name} in Cargo.lock"
        );
    }
    // stock has callers: it cannot go first.
    let error = repo.refused("remove-service stock", &[]);
    assert!(error.contains("calls stock"), "{error}");
    repo.ok("remove-service shop");
    repo.ok("remove-service ledger");
    repo.ok("remove-service stock");
    assert_same(
        &before,
        &repo.snapshot(),
        "after removing shop, ledger, stock",
    );
}

#[test]
fn a_run_stopped_dead_midway_is_removed_whole() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    let args = "new-service shop --kind web --calls recommendations";
    let steps = steps(&repo, args);
    // Every third step, from the first after the crate's Cargo.toml to the
    // update of Cargo.lock: its files, the other files, the shared files.
    // (Step 1 stops before anything is written.)
    let sample: Vec<usize> = (2..=steps).filter(|s| s % 3 == 2 || *s == steps).collect();
    assert!(sample.len() >= 7, "{sample:?}");
    for step in sample {
        let fault = format!("abort:{step}");
        let error = repo.refused(args, &[("XTASK_FAULT", &fault)]);
        assert!(error.contains("nothing undone"), "{fault}: {error}");
        assert!(
            repo.path("crates/shop/Cargo.toml").exists(),
            "{fault}: no crate"
        );
        // What it left cannot be made again, but can be removed.
        let again = repo.refused(args, &[]);
        assert!(again.contains("already exists"), "{fault}: {again}");
        repo.ok("remove-service shop");
        assert_same(&before, &repo.snapshot(), &fault);
    }
}

#[test]
fn a_service_missing_pieces_is_removed_whole() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    repo.ok("new-service shop --kind grpc --calls recommendations");
    // Its crate deleted by hand: the blocks in the shared files say what
    // remains is the generator's.
    std::fs::remove_dir_all(repo.path("crates/shop")).unwrap();
    std::fs::remove_file(repo.path("deploy/k8s/base/shop.yaml")).unwrap();
    repo.ok("remove-service shop");
    assert_same(&before, &repo.snapshot(), "after removing what was left");
}

#[test]
fn only_what_new_service_made_is_removed() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    let error = repo.refused("remove-service recommendations", &[]);
    assert!(
        error.contains("was not made by `cargo xtask new-service`"),
        "{error}"
    );
    let error = repo.refused("remove-service nosuch", &[]);
    assert!(error.contains("no service named nosuch"), "{error}");
    assert_same(&before, &repo.snapshot(), "after the refusals");
}
