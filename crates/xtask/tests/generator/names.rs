//! Names: any valid name works, including ones made of the templates' own
//! words, and a name that cannot work is refused in one line, changing
//! nothing.

use saphyr::{LoadableYamlNode as _, Yaml};

use crate::helpers::{Repo, assert_same};

/// Every `app.kubernetes.io/name` a manifest's objects select or carry.
fn app_names(manifest: &str) -> Vec<String> {
    fn walk(node: &Yaml<'_>, found: &mut Vec<String>) {
        if let Some(mapping) = node.as_mapping() {
            for (key, value) in mapping {
                if key.as_str() == Some("app.kubernetes.io/name") {
                    found.extend(value.as_str().map(str::to_owned));
                }
                walk(value, found);
            }
        } else if let Some(items) = node.as_sequence() {
            items.iter().for_each(|item| walk(item, found));
        }
    }
    let mut found = Vec::new();
    for doc in Yaml::load_from_str(manifest).unwrap() {
        walk(&doc, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn names_made_of_the_templates_words_are_written_once() {
    let repo = Repo::copy();
    repo.ok("new-service callee-store --kind grpc");
    repo.ok("new-service callee-web --kind web --calls callee-store");

    let manifest = repo.read("deploy/k8s/base/callee-web.yaml");
    assert_eq!(
        app_names(&manifest),
        ["callee-store", "callee-web", "otel-collector", "prometheus"],
        "the NetworkPolicies select pods that do not exist"
    );
    assert!(
        manifest.contains("name: callee-web-egress-callee-store\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("name: callee-store-ingress-from-callee-web\n"),
        "{manifest}"
    );

    let pages = repo.read("crates/callee-web/tests/web/pages.rs");
    assert!(pages.contains("callee_web::run"), "{pages}");
    for file in [
        "crates/callee-web/src/lib.rs",
        "crates/callee-web/src/config.rs",
        "docker-compose.yaml",
    ] {
        let text = repo.read(file);
        for twice in [
            "callee-store-web",
            "callee_store_web",
            "callee-store-store",
            "callee_store_store",
        ] {
            assert!(!text.contains(twice), "{file} holds {twice}");
        }
    }
    // Where the name itself is meant, in Rust too: the upstream's name, its
    // flags, the binary.
    let config = repo.read("crates/callee-web/src/config.rs");
    assert!(
        config.contains("const NAME: &'static str = \"callee-store\";"),
        "{config}"
    );
    let helpers = repo.read("crates/callee-web/tests/web/helpers.rs");
    assert!(
        helpers.contains("\"--callee-store-url=http://{}\""),
        "{helpers}"
    );
    let binary = repo.read("crates/callee-web/tests/web/binary.rs");
    assert!(
        binary.contains("env!(\"CARGO_BIN_EXE_callee-web\")"),
        "{binary}"
    );
    let compose = repo.read("docker-compose.yaml");
    assert!(
        compose.contains("      CALLEE_STORE_URL: http://callee-store:50052\n"),
        "{compose}"
    );
}

#[test]
fn names_that_cannot_work_are_refused_in_one_line_changing_nothing() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    let long = "a".repeat(64);
    for (args, reason) in [
        ("Bad --kind web".to_owned(), "lower-case"),
        ("my_shop --kind web".to_owned(), "use \"my-shop\""),
        ("match --kind grpc".to_owned(), "Rust keyword"),
        ("test --kind grpc".to_owned(), "cargo reserves"),
        (format!("{long} --kind grpc"), "63 characters"),
        ("recommendations --kind grpc".to_owned(), "already exists"),
        (
            "grafana --kind grpc".to_owned(),
            "a service in docker-compose.yaml",
        ),
        (
            "tokio --kind grpc".to_owned(),
            "a crate of the workspace or one it depends on",
        ),
        (
            "legacy --kind grpc".to_owned(),
            "an item of the proto crate",
        ),
        (
            "tls-client --kind grpc".to_owned(),
            "TLS_CLIENT_CA is already a setting of the kit",
        ),
        (
            "shop --kind web --calls nosuch".to_owned(),
            "no gRPC service of that name",
        ),
        (
            "shop --kind web --calls marketplace".to_owned(),
            "no gRPC service of that name",
        ),
        (
            "shop --kind web --calls shop".to_owned(),
            "cannot call itself",
        ),
        (
            "shop --kind web --calls recommendations --calls recommendations".to_owned(),
            "given twice",
        ),
    ] {
        let error = repo.refused(&format!("new-service {args}"), &[]);
        assert!(error.contains(reason), "new-service {args}: {error}");
    }
    assert_same(&before, &repo.snapshot(), "after the refusals");
}

#[test]
fn a_dry_run_writes_nothing() {
    let repo = Repo::copy();
    let before = repo.snapshot();
    let run = repo.ok("new-service shop --kind web --calls recommendations --dry-run");
    assert!(
        run.stdout.contains("would create crates/shop/Cargo.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("would change docker-compose.mtls.yaml"),
        "{}",
        run.stdout
    );
    assert_same(&before, &repo.snapshot(), "after a dry run");
}

#[test]
fn a_compose_file_indented_otherwise_is_read_and_edited_all_the_same() {
    let repo = Repo::copy();
    // Every indentation doubled: two spaces become four, four eight.
    let compose: String = repo
        .read("docker-compose.yaml")
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start_matches(' ').len();
            format!("{}{}\n", " ".repeat(indent * 2), &line[indent..])
        })
        .collect();
    std::fs::write(repo.path("docker-compose.yaml"), compose).unwrap();
    let before = repo.snapshot();

    repo.ok("new-service shop --kind web --calls recommendations");
    let compose = repo.read("docker-compose.yaml");
    assert!(
        compose.contains("\n    shop:\n      <<: *app\n"),
        "{compose}"
    );
    assert!(
        compose.contains("        RECOMMENDATIONS_URL: http://recommendations:50051\n"),
        "{compose}"
    );
    // A compose service at eight spaces is still a compose service.
    let error = repo.refused("new-service grafana --kind web", &[]);
    assert!(
        error.contains("a service in docker-compose.yaml"),
        "{error}"
    );
    repo.ok("remove-service shop");
    assert_same(&before, &repo.snapshot(), "after removing shop");
}
