//! Service binaries as real processes: separate telemetry, real signals, real
//! stdout. Each runs on loopback ports and is killed if a test drops it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Another binary of the workspace, found beside `own_binary` (a test's
/// `env!("CARGO_BIN_EXE_...")`): the workspace build puts them together.
pub fn sibling_binary(own_binary: &str, name: &str) -> PathBuf {
    let path = PathBuf::from(own_binary).with_file_name(name);
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

/// A free loopback address.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// What to start: a binary, the variable naming its service address, and
/// extra environment. The environment is otherwise cleared, so nothing from
/// the developer's shell leaks in.
#[derive(Debug, Clone)]
pub struct Spec {
    pub binary: PathBuf,
    pub addr_var: &'static str,
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub env: Vec<(String, String)>,
}

impl Spec {
    pub fn new(binary: impl AsRef<Path>, addr_var: &'static str) -> Spec {
        Spec {
            binary: binary.as_ref().to_owned(),
            addr_var,
            addr: free_addr(),
            admin_addr: free_addr(),
            env: vec![
                ("SHUTDOWN_DELAY".into(), "0s".into()),
                ("RUST_LOG".into(), "info".into()),
            ],
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Spec {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    pub fn envs(mut self, vars: &[(&str, String)]) -> Spec {
        for (name, value) in vars {
            self = self.env(name, value.clone());
        }
        self
    }

    /// Starts the process and waits until its service port accepts.
    ///
    /// A port that was free when the spec was made can be taken before the
    /// process binds it (by another test's process, or as the source port
    /// of some connection). If the process exits before it listens, it is
    /// started again on fresh ports, twice at most.
    pub async fn start(&self) -> Process {
        let (mut addr, mut admin_addr) = (self.addr, self.admin_addr);
        for _ in 0..3 {
            if let Some(process) = self.try_start(addr, admin_addr).await {
                return process;
            }
            (addr, admin_addr) = (free_addr(), free_addr());
        }
        panic!(
            "{} exited before listening, three times",
            self.binary.display()
        );
    }

    /// Starts the process on `addr` and `admin_addr`; `None` if it exits
    /// before it listens.
    async fn try_start(&self, addr: SocketAddr, admin_addr: SocketAddr) -> Option<Process> {
        let stdout = std::env::temp_dir().join(format!(
            "{}-{}-{}.log",
            self.binary.file_name().unwrap().to_string_lossy(),
            std::process::id(),
            addr.port()
        ));
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .env_clear()
            .env(self.addr_var, addr.to_string())
            .env("ADMIN_ADDR", admin_addr.to_string())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if child.try_wait().unwrap().is_some() {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "{} never listened on {addr}",
                self.binary.display(),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(Process {
            child,
            addr,
            admin_addr,
            stdout,
        })
    }
}

/// A running service process whose stdout goes to a file.
pub struct Process {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    stdout: PathBuf,
}

impl Process {
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

    /// The JSON log lines so far with this `message`.
    pub fn log_lines_with_message(&self, message: &str) -> Vec<serde_json::Value> {
        self.log_lines()
            .into_iter()
            .filter(|line| line["message"] == message)
            .collect()
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the process is running").to_string();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name} {pid} failed");
    }

    /// Waits (at most `limit`) for the exit; returns the code and how long it
    /// took.
    pub async fn wait_exit(&mut self, limit: Duration) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {limit:?}"))
            .unwrap();
        (status.code(), started.elapsed())
    }

    /// SIGTERM, then the exit code.
    pub async fn terminate(mut self) -> Option<i32> {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30)).await.0
    }
}

/// `binary --help`, asserting it succeeds and names each of `vars` as the
/// environment variable of a setting.
pub fn assert_help_names(binary: impl AsRef<Path>, vars: &[&str]) {
    let output = std::process::Command::new(binary.as_ref())
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for var in vars {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing from:\n{help}"
        );
    }
}

/// Starts `binary` with only `env` (and loopback port 0 for its addresses
/// unless `env` says otherwise) and returns what it printed to stderr,
/// asserting that it refused to start, within a few seconds, with exactly
/// one line, as bad config must.
pub fn config_error(binary: impl AsRef<Path>, addr_var: &str, env: &[(&str, &str)]) -> String {
    use std::io::Read as _;
    let mut command = std::process::Command::new(binary.as_ref());
    command
        .env_clear()
        .env(addr_var, "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let shown = format!("{env:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{shown} was accepted: the process is still running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "{shown} was accepted");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.lines().count(), 1, "{shown}: {stderr}");
    stderr
}
