//! A private PostgreSQL cluster in a folder of ours: what `serve` uses when
//! `DATABASE_URL` is unset, and what the tests run against.
//!
//! PostgreSQL refuses to run as root, so when we are root the cluster belongs to
//! the `postgres` system user and its programs run as that user.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sqlx::postgres::PgConnectOptions;

/// The longest path a Unix socket may have, less the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
const SOCKET_FILE: &str = ".s.PGSQL.5432";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl) were not found on PATH, through `pg_config --bindir`, \
         or under /usr/lib/postgresql/*/bin. Install them (Debian: `apt-get install postgresql`) \
         or set DATABASE_URL to use an existing server."
    )]
    BinariesNotFound,
    #[error("running as root, but there is no `postgres` system user to own the cluster")]
    NoPostgresUser,
    #[error(
        "the socket path {0} is longer than {MAX_SOCKET_PATH} bytes; choose a shorter SAMLENG_DATA_DIR"
    )]
    SocketPathTooLong(String),
    #[error("{program} failed ({status}); see {log}")]
    CommandFailed {
        program: String,
        status: String,
        log: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running cluster that listens only on a Unix socket inside its data folder.
#[derive(Debug)]
pub struct Cluster {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    owner: Option<Owner>,
    started_here: bool,
}

/// The system user the server runs as when we are root.
#[derive(Debug, Clone, Copy)]
struct Owner {
    uid: u32,
    gid: u32,
}

impl Cluster {
    /// Starts the cluster in `data_dir`, creating it first when the folder holds
    /// none, or reuses the server that already runs there.
    pub fn start(data_dir: &Path) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir().ok_or(ClusterError::BinariesNotFound)?;
        let owner = if running_as_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        std::fs::create_dir_all(data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        let socket = data_dir.join(SOCKET_FILE);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(ClusterError::SocketPathTooLong(
                socket.display().to_string(),
            ));
        }
        let mut cluster = Cluster {
            data_dir,
            bin_dir,
            owner,
            started_here: false,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if !cluster.is_running() {
            cluster.run_pg_ctl(&["start", "-w", "-t", "60", "-o", &cluster.server_options()])?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// The cluster's folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Connection options for one database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.data_dir)
            .username("postgres")
            .database(database)
    }

    /// A `DATABASE_URL` for this cluster, for tools such as psql and the sqlx macros.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}",
            self.data_dir.display()
        )
    }

    /// Stops the server if this process started it; a server that was already
    /// running belongs to whoever started it.
    pub fn stop(&self) -> Result<(), ClusterError> {
        if self.started_here {
            self.run_pg_ctl(&["stop", "-w", "-m", "fast"])?;
        }
        Ok(())
    }

    /// Ties the cluster's life to this process: when the process ends, however it
    /// ends, a watchdog sees its pipe close, stops the server and deletes the folder.
    /// Tests use this so that a killed test run leaves nothing behind.
    pub fn remove_when_process_exits(&self) -> Result<Child, ClusterError> {
        let script = r#"cat >/dev/null
pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -rf "$1""#;
        let mut watchdog = Command::new("/bin/sh")
            .args(["-c", script, "samleng-watchdog"])
            .arg(&self.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        // Keep the write end open for as long as we live; nothing is ever written.
        if let Some(stdin) = watchdog.stdin.as_mut() {
            stdin.flush()?;
        }
        Ok(watchdog)
    }

    fn init(&self) -> Result<(), ClusterError> {
        std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))?;
        if let Some(owner) = self.owner {
            std::os::unix::fs::chown(&self.data_dir, Some(owner.uid), Some(owner.gid))?;
        }
        let status = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(ClusterError::CommandFailed {
                program: "initdb".into(),
                status: status.to_string(),
                log: self.data_dir.display().to_string(),
            });
        }
        Ok(())
    }

    fn server_options(&self) -> String {
        // pg_ctl hands this string to a shell, hence the quoting.
        format!(
            "-c listen_addresses='' -k '{}' -c unix_socket_permissions=0700",
            self.data_dir.display()
        )
    }

    fn is_running(&self) -> bool {
        self.data_dir.join(SOCKET_FILE).exists()
            && self
                .command("pg_ctl")
                .arg("status")
                .arg("-D")
                .arg(&self.data_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
    }

    fn run_pg_ctl(&self, args: &[&str]) -> Result<(), ClusterError> {
        let log = self.data_dir.join("server.log");
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(ClusterError::CommandFailed {
                program: format!("pg_ctl {}", args.first().copied().unwrap_or_default()),
                status: status.to_string(),
                log: log.display().to_string(),
            });
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        command.current_dir("/").env_remove("PGDATA");
        if let Some(owner) = self.owner {
            command.uid(owner.uid).gid(owner.gid);
        }
        command
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    find_programs(&["initdb", "pg_ctl"])
}

/// The folder holding these PostgreSQL programs: on `PATH`, where `pg_config`
/// says, or the newest under `/usr/lib/postgresql` (Debian keeps them there).
pub fn find_programs(programs: &[&str]) -> Option<PathBuf> {
    let has_all = |dir: &Path| programs.iter().all(|program| dir.join(program).is_file());
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| has_all(dir));
    on_path
        .or_else(|| {
            let output = Command::new("pg_config").arg("--bindir").output().ok()?;
            let dir = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
            has_all(&dir).then_some(dir)
        })
        .or_else(|| {
            let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(|entry| {
                    let entry = entry.ok()?;
                    let version = entry.file_name().to_str()?.parse().ok()?;
                    let bin = entry.path().join("bin");
                    has_all(&bin).then_some((version, bin))
                })
                .collect();
            versions.sort();
            versions.pop().map(|(_, dir)| dir)
        })
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn postgres_user() -> Result<Owner, ClusterError> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some(Owner {
                    uid: uid.parse().ok()?,
                    gid: gid.parse().ok()?,
                }),
                _ => None,
            }
        })
        .ok_or(ClusterError::NoPostgresUser)
}
