//! What goes into an image: files copied from the host into an empty root, and the
//! Dockerfile around them. The stacks' images come from a recipes file (`file.rs`); the
//! reaper's, this very harness, is the one the harness knows itself.

use std::path::{Path, PathBuf};

use super::{ImageError, closure};

/// Tagged with the wire protocol: a new harness never starts an old one's reaper image.
pub const REAPER_IMAGE: &str = "harness/reaper:v3";

/// What every image starts with: nothing but the files copied in.
pub(super) const SCRATCH: &str = "FROM scratch\nCOPY rootfs/ /";

/// One image: files copied from the host into an empty root, and the Dockerfile around them.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub tag: String,
    /// `(path in the image, path on the host)`.
    pub files: Vec<(String, PathBuf)>,
    /// Empty directories the program needs (mode 1777 for `/tmp`).
    pub dirs: Vec<(String, u32)>,
    pub dockerfile: String,
}

/// `host` copied to `dest`, with the shared libraries it needs at their own paths.
pub(super) fn binary_with_closure(
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

/// The reaper: this very harness binary, run as `harness reaper` with the engine's socket.
pub fn reaper(harness: &Path) -> Result<Recipe, ImageError> {
    let files = binary_with_closure(
        harness,
        "/usr/local/bin/harness",
        "build the harness (`cargo build --release`)",
    )?;
    Ok(Recipe {
        tag: REAPER_IMAGE.to_string(),
        files,
        dirs: vec![("/tmp".to_string(), 0o1777)],
        dockerfile: [
            SCRATCH,
            "ENV PATH=/usr/local/bin",
            "STOPSIGNAL SIGTERM",
            r#"ENTRYPOINT ["/usr/local/bin/harness", "reaper"]"#,
        ]
        .join("\n"),
    })
}
