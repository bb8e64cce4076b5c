//! A throwaway PostgreSQL server for the tests that run against it:
//! installed with apt-get when missing, started on a free loopback port in
//! a temporary folder, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    pub url: String,
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root
/// (initdb refuses root).
fn run_pg(program: &Path, args: &[&str]) -> Result<(), String> {
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args)
            .status()
    } else {
        Command::new(program).args(args).status()
    }
    .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed ({status})",
            program.display(),
            args.join(" ")
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Postgres {
    pub fn start() -> Result<Postgres, String> {
        let bin = match find_bin() {
            Some(bin) => bin,
            None => {
                eprintln!("xtask: PostgreSQL is not installed; installing it with apt-get");
                crate::apt_install(&["postgresql"])?;
                find_bin().ok_or("apt-get installed postgresql, but no pg_ctl was found")?
            }
        };
        let data = std::env::temp_dir().join(format!("aegis-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status()
                .map_err(|e| e.to_string())?;
        }
        let port = free_port()?;
        let data_str = data.to_string_lossy().into_owned();
        run_pg(
            &bin.join("initdb"),
            &[
                "-D",
                &data_str,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )?;
        let options = format!("-p {port} -k {data_str} -c listen_addresses=127.0.0.1 -c fsync=off");
        run_pg(
            &bin.join("pg_ctl"),
            &[
                "-D",
                &data_str,
                "-o",
                &options,
                "-l",
                &format!("{data_str}/log"),
                "-w",
                "start",
            ],
        )?;
        Ok(Postgres {
            bin,
            data,
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        })
    }

    /// The URL of database `name` on this server.
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The CPU time the server (the postmaster and every process it has
    /// forked) has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        crate::process::tree_cpu_seconds(pid.lines().next()?.trim().parse().ok()?)
    }

    /// Stops the server (closing every connection) and starts it again on
    /// the same port and data.
    pub fn restart(&self) -> Result<(), String> {
        let data = self.data.to_string_lossy().into_owned();
        run_pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &data,
                "-l",
                &format!("{data}/log"),
                "-m",
                "fast",
                "-w",
                "restart",
            ],
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = run_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "fast", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
