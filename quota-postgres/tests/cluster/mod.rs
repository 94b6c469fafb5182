//! A throwaway Postgres cluster of one test (initdb + pg_ctl under /tmp, a free port, default
//! durability settings), which the test may crash, restart or stall without disturbing the
//! shared server. Stopped and deleted when dropped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    dead_code,
    unreachable_pub
)]

use std::path::PathBuf;
use std::process::Command;

use crate::common;

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn pg_bin() -> Option<PathBuf> {
    let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    bins.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    bins.pop()
}

/// The parent pid of `pid` (from `/proc/<pid>/stat`), if it still runs.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn signal(sig: &str, pids: &[u32]) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(sig)
        .args(pids.iter().map(u32::to_string))
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill {sig} {pids:?} failed"))
    }
}

impl Cluster {
    /// Starts a cluster (installing the server binaries through `scripts/pg-env.sh` if they
    /// are missing). `Err` says why it could not.
    pub fn start() -> Result<Cluster, String> {
        let bin = match pg_bin() {
            Some(b) => b,
            None => {
                let script = common::repo_root().join("scripts/pg-env.sh");
                let ok = Command::new("bash")
                    .arg(&script)
                    .arg("--install")
                    .status()
                    .is_ok_and(|s| s.success());
                pg_bin()
                    .filter(|_| ok)
                    .ok_or("Postgres server binaries are not installed")?
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = PathBuf::from(format!(
            "/tmp/quota-pg-throwaway-{}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).map_err(|e| e.to_string())?;
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err("cannot chown the cluster directory to postgres".into());
            }
        }
        let cluster = Cluster { dir, bin, port };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "-N",
            ],
        )?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            cluster.dir.join("sock").display()
        );
        let log = cluster.dir.join("log").display().to_string();
        cluster.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start",
            ],
        )?;
        Ok(cluster)
    }

    /// [`Cluster::start`] on a blocking thread; `None` (the test skips) when no cluster can
    /// be had outside CI, a panic in CI.
    pub async fn start_or_skip() -> Option<Cluster> {
        quota_testkit::require(
            &quota_testkit::current_test(),
            "cannot start a throwaway Postgres cluster",
            tokio::task::spawn_blocking(Cluster::start).await.unwrap(),
        )
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(tool);
        let out = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .current_dir("/tmp")
                .output()
        } else {
            Command::new(&exe).args(args).current_dir("/tmp").output()
        }
        .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// An immediate shutdown (no checkpoint: like a crash, recovery replays the WAL), then
    /// a start.
    pub fn crash_restart(&self) -> Result<(), String> {
        // `-l` again: restart does not remember it, and a server writing to our pipes would
        // keep `output()` waiting forever.
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "restart",
            ],
        )
    }

    /// This cluster's processes: its postmaster (from the data directory's
    /// `postmaster.pid`, checked against the postmaster's command line, so no other server
    /// is ever signalled) and the postmaster's children.
    fn pids(&self) -> Result<Vec<u32>, String> {
        let pid_file = format!("{}/postmaster.pid", self.data());
        let text = std::fs::read_to_string(&pid_file).map_err(|e| format!("{pid_file}: {e}"))?;
        let postmaster: u32 = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("no pid in {pid_file}"))?;
        let cmdline = std::fs::read(format!("/proc/{postmaster}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&self.data()) {
            return Err(format!(
                "pid {postmaster} is not the postmaster of {}",
                self.data()
            ));
        }
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").map_err(|e| e.to_string())? {
            let pid = entry
                .ok()
                .and_then(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()));
            if let Some(pid) = pid
                && parent_of(pid) == Some(postmaster)
            {
                pids.push(pid);
            }
        }
        Ok(pids)
    }

    /// Stalls the server: SIGSTOP to the postmaster, then to every backend and helper
    /// process. Connections stay open and new ones are accepted by the kernel, but nothing
    /// answers, as with a frozen host. The server resumes (SIGCONT) when the guard drops.
    pub fn stall(&self) -> Result<Stalled, String> {
        let pids = self.pids()?;
        // The postmaster first: once it is stopped it forks no new child.
        signal("-STOP", &pids[..1])?;
        let pids = self.pids()?;
        let stalled = Stalled { pids };
        signal("-STOP", &stalled.pids)?;
        Ok(stalled)
    }
}

/// A stalled cluster (see [`Cluster::stall`]); resumed when dropped.
pub struct Stalled {
    pids: Vec<u32>,
}

impl Stalled {
    pub fn resume(self) {}
}

impl Drop for Stalled {
    fn drop(&mut self) {
        // Children first, so the postmaster never sees a child stopped behind its back.
        let mut pids = self.pids.clone();
        pids.reverse();
        if let Err(e) = signal("-CONT", &pids) {
            eprintln!("warning: could not resume the throwaway cluster: {e}");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A stopped server would not act on pg_ctl's signal.
        if let Ok(pids) = self.pids() {
            let _ = signal("-CONT", &pids);
        }
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
