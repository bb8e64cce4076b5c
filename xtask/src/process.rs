//! A server process on a free loopback port: started, killed and started
//! again on the same port, its output kept in a log file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl ServerProcess {
    /// A process to run as `program args`, which must listen on the port
    /// passed as the `{port}` argument or the `PORT` variable.
    pub fn new(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().to_string_lossy().into_owned();
        let fill = |text: &str| {
            text.replace("{port}", &port.to_string())
                .replace("{dir}", &data)
        };
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), fill(value)))
            .collect();
        env.push(("PORT".to_owned(), port.to_string()));
        Ok(ServerProcess {
            program: program.to_owned(),
            args: args.iter().map(|a| fill(a)).collect(),
            env,
            port,
            dir,
            child: None,
        })
    }

    /// Runs the program under `wrapper` (a command and its arguments, such
    /// as `taskset -c 0`, which then execs it in the same process); nothing
    /// when empty.
    pub fn pin(&mut self, wrapper: &[String]) {
        let Some((command, args)) = wrapper.split_first() else {
            return;
        };
        let program = std::mem::replace(&mut self.program, PathBuf::from(command));
        let mut all: Vec<String> = args.to_vec();
        all.push(program.to_string_lossy().into_owned());
        all.append(&mut self.args);
        self.args = all;
    }

    /// The running process's resident memory, in KiB, from `/proc`.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn start(&mut self) -> Result<(), String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log())
            .map_err(|e| e.to_string())?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits (at most `grace`) for the process to end on
    /// its own; killed after that. Whether it ended on its own.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let started = Instant::now();
        while sent && started.elapsed() < grace {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Waits until the process answers HTTP on its port (with any status).
    pub async fn ready(&self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/", self.port);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if http.get(&url).send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{} on port {} did not start:\n{}",
            self.program.display(),
            self.port,
            self.tail(40)
        ))
    }

    /// The CPU time (user and system) the running process has used, in
    /// seconds, from `/proc`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds_of(&self.child.as_ref()?.id().to_string())
    }

    /// The last `lines` lines of its log.
    pub fn tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.reverse();
        tail.join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat` times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// An example-app instance on `database`, with `secret` for its tokens.
/// The bearer token of the example app's `/metrics` under [`example_app`].
pub const METRICS_TOKEN: &str = "aegis bench metrics";

pub fn example_app(bin: &Path, database: &str, secret: &str) -> Result<ServerProcess, String> {
    ServerProcess::new(
        bin,
        &["--port", "{port}", "--data-dir", "{dir}"],
        &[
            ("DATABASE_URL", database),
            ("AEGIS_JWT_SECRET", secret),
            ("AEGIS_WEB_DIR", "{dir}/no-web"),
            ("AEGIS_METRICS_TOKEN", METRICS_TOKEN),
            ("RUST_LOG", "warn"),
        ],
    )
}

/// The CPU time (user and system) process `pid` (or `self`) has used, in
/// seconds, from `/proc`.
pub fn cpu_seconds_of(pid: &str) -> Option<f64> {
    let fields = stat_fields(pid)?;
    Some(ticks_at(&fields, &[11, 12])? / clock_ticks())
}

/// The CPU time (user and system) of process `pid`, of the children it
/// has reaped and of those still running, in seconds, from `/proc`: a
/// server that forks a process per connection (PostgreSQL) whole.
pub fn tree_cpu_seconds(pid: u32) -> Option<f64> {
    let pid = pid.to_string();
    // utime, stime, then the reaped children's cutime and cstime.
    let mut ticks = ticks_at(&stat_fields(&pid)?, &[11, 12, 13, 14])?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(child) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // The parent's pid is the 2nd field; a process gone since the
        // listing is skipped.
        if let Some(fields) = stat_fields(child).filter(|f| f.get(1) == Some(&pid)) {
            ticks += ticks_at(&fields, &[11, 12, 13, 14]).unwrap_or(0.0);
        }
    }
    Some(ticks / clock_ticks())
}

/// The fields of `/proc/<pid>/stat` after the command's closing
/// parenthesis: the state is the first, the parent's pid the 2nd, utime
/// the 12th, stime the 13th, cutime and cstime the 14th and 15th.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// The sum of the clock-tick fields at `at`.
fn ticks_at(fields: &[String], at: &[usize]) -> Option<f64> {
    at.iter().map(|&n| fields.get(n)?.parse::<f64>().ok()).sum()
}
