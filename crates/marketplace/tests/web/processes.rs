//! The real binaries as processes, for tests that need separate processes:
//! two services with their own telemetry, real signals, real stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The marketplace binary, built by cargo for this test target.
pub const MARKETPLACE_BIN: &str = env!("CARGO_BIN_EXE_marketplace");

/// The recommendations binary: built into the same directory by the same
/// workspace build (`cargo nextest run --workspace`, or `cargo build --bins`).
pub fn recommendations_bin() -> PathBuf {
    let path = PathBuf::from(MARKETPLACE_BIN).with_file_name("recommendations");
    assert!(
        path.exists(),
        "{} missing: build the workspace's binaries first",
        path.display()
    );
    path
}

/// A port that was free a moment ago. The kernel rarely reuses it at once.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running service process whose stdout goes to a file.
pub struct Process {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    stdout: PathBuf,
}

impl Process {
    /// Starts `binary` with `env`, on free loopback ports for its service
    /// (`addr_var`) and admin addresses, and waits until it accepts.
    pub async fn start(
        binary: &std::path::Path,
        addr_var: &str,
        env: &[(&str, String)],
    ) -> Process {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stdout = std::env::temp_dir().join(format!(
            "{}-{}-{}.log",
            binary.file_name().unwrap().to_string_lossy(),
            std::process::id(),
            addr.port()
        ));
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env(addr_var, addr.to_string())
            .env("ADMIN_ADDR", admin_addr.to_string())
            .env("SHUTDOWN_DELAY", "0s")
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "{} never listened on {addr}",
                binary.display()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Process {
            child,
            addr,
            admin_addr,
            stdout,
        }
    }

    /// The JSON log lines written so far. Every line must be JSON.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect()
    }

    /// Sends SIGTERM and returns the exit code.
    pub async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        status.code()
    }
}

/// Starts recommendations and the marketplace pointed at it, with `env` for
/// both.
pub async fn start_both(env: &[(&str, String)]) -> (Process, Process) {
    let recommendations = Process::start(&recommendations_bin(), "GRPC_ADDR", env).await;
    let mut marketplace_env = env.to_vec();
    marketplace_env.push((
        "RECOMMENDATIONS_URL",
        format!("http://{}", recommendations.addr),
    ));
    let marketplace = Process::start(
        std::path::Path::new(MARKETPLACE_BIN),
        "HTTP_ADDR",
        &marketplace_env,
    )
    .await;
    (recommendations, marketplace)
}
