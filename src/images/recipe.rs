//! What goes into each image of the reference stack.

use std::path::{Path, PathBuf};

use super::{ImageError, closure};

pub const EXECUTOR_IMAGE: &str = "harness/executor:local";
pub const REDIS_IMAGE: &str = "harness/redis:local";
/// Tagged with the wire protocol: a new harness never starts an old one's reaper image.
pub const REAPER_IMAGE: &str = "harness/reaper:v3";

/// One image: files copied from the host into an empty root, and the Dockerfile around them.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub tag: &'static str,
    /// `(path in the image, path on the host)`.
    pub files: Vec<(String, PathBuf)>,
    /// Empty directories the program needs (mode 1777 for `/tmp`).
    pub dirs: Vec<(&'static str, u32)>,
    pub dockerfile: String,
}

fn binary_with_closure(
    host: &Path,
    dest: &str,
    fix: &str,
) -> Result<Vec<(String, PathBuf)>, ImageError> {
    // Debian's redis-server is a symlink to a multi-call binary that picks its role from
    // argv[0]: copy the target under the name it must be called by.
    let real = std::fs::canonicalize(host).map_err(|_| ImageError::MissingBinary {
        path: host.to_path_buf(),
        fix: fix.to_string(),
    })?;
    let mut files = vec![(dest.to_string(), real.clone())];
    for lib in closure(&real)? {
        files.push((lib.to_string_lossy().into_owned(), lib));
    }
    Ok(files)
}

/// The reference service, built from this workspace (`docker/executor`).
pub fn executor(binary: &Path) -> Result<Recipe, ImageError> {
    let files = binary_with_closure(
        binary,
        "/usr/local/bin/executor",
        "build it with `cargo build --release -p executor` (or pass --executor PATH)",
    )?;
    Ok(Recipe {
        tag: EXECUTOR_IMAGE,
        files,
        dirs: vec![("/tmp", 0o1777)],
        dockerfile: [
            "FROM scratch",
            "COPY rootfs/ /",
            "ENV PATH=/usr/local/bin",
            // No EXPOSE: the ports are settings (API_PORT, WEBSOCKET_PORT) of each stack
            // that runs this image, published by its compose file; nothing reads an
            // image's exposed ports.
            "STOPSIGNAL SIGTERM",
            r#"HEALTHCHECK --interval=2s --timeout=3s --retries=15 CMD ["/usr/local/bin/executor", "healthcheck"]"#,
            r#"ENTRYPOINT ["/usr/local/bin/executor"]"#,
        ]
        .join("\n"),
    })
}

/// Real Redis from Debian's `redis-server` package.
pub fn redis(server: &Path, cli: &Path) -> Result<Recipe, ImageError> {
    let fix = "install Debian's redis-server package (`apt-get install redis-server`)";
    let mut files = binary_with_closure(server, "/usr/local/bin/redis-server", fix)?;
    files.extend(binary_with_closure(cli, "/usr/local/bin/redis-cli", fix)?);
    Ok(Recipe {
        tag: REDIS_IMAGE,
        files,
        dirs: vec![("/tmp", 0o1777), ("/data", 0o755)],
        dockerfile: [
            "FROM scratch",
            "COPY rootfs/ /",
            "ENV PATH=/usr/local/bin",
            // Like the official image: data in a volume, so a config without one loses it.
            "VOLUME /data",
            "WORKDIR /data",
            "EXPOSE 6379",
            r#"ENTRYPOINT ["/usr/local/bin/redis-server"]"#,
            r#"CMD ["--protected-mode", "no", "--dir", "/data"]"#,
        ]
        .join("\n"),
    })
}

/// The reaper: this very harness binary, run as `harness reaper` with the engine's socket.
pub fn reaper(harness: &Path) -> Result<Recipe, ImageError> {
    let files = binary_with_closure(
        harness,
        "/usr/local/bin/harness",
        "build the harness (`cargo build --release`)",
    )?;
    Ok(Recipe {
        tag: REAPER_IMAGE,
        files,
        dirs: vec![("/tmp", 0o1777)],
        dockerfile: [
            "FROM scratch",
            "COPY rootfs/ /",
            "ENV PATH=/usr/local/bin",
            "STOPSIGNAL SIGTERM",
            r#"ENTRYPOINT ["/usr/local/bin/harness", "reaper"]"#,
        ]
        .join("\n"),
    })
}

/// What `harness images` builds: the executor (default: the one `cargo build` put next to
/// this harness), Redis from Debian's binaries, and the reaper (this harness itself).
pub fn recipes(
    executor_binary: Option<&Path>,
    redis_server: &Path,
    redis_cli: &Path,
) -> Result<[Recipe; 3], ImageError> {
    let me = std::env::current_exe().map_err(ImageError::OwnPath)?;
    let executor_binary = match executor_binary {
        Some(path) => path.to_path_buf(),
        None => sibling_executor(&me)?,
    };
    Ok([
        executor(&executor_binary)?,
        redis(redis_server, redis_cli)?,
        reaper(&me)?,
    ])
}

/// `cargo build` puts the executor next to the harness binary.
fn sibling_executor(me: &Path) -> Result<PathBuf, ImageError> {
    let dir = me.parent().ok_or(ImageError::NoParent)?;
    // Test binaries live one level down, in target/<profile>/deps.
    let candidates = [dir.join("executor"), dir.join("../executor")];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or(ImageError::NoExecutor)
}
