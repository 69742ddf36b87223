use std::path::{Path, PathBuf};

use super::ImageError;

/// The files a dynamically linked binary needs to start in an empty root: the ELF
/// interpreter and every shared library it loads, each at the path the loader looks for it.
pub fn closure(binary: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let tree = lddtree::DependencyAnalyzer::new(PathBuf::from("/"))
        .analyze(binary)
        .map_err(|e| ImageError::Closure {
            path: binary.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut files: Vec<PathBuf> = tree.interpreter.iter().map(PathBuf::from).collect();
    for (name, lib) in &tree.libraries {
        if !lib.found() {
            return Err(ImageError::LibraryNotFound {
                path: binary.to_path_buf(),
                library: name.clone(),
            });
        }
        files.push(lib.path.clone());
    }
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_binary_needs_libc_and_the_loader() {
        let files = closure(Path::new("/bin/ls")).unwrap();
        assert!(
            files
                .iter()
                .any(|f| f.to_string_lossy().contains("libc.so")),
            "{files:?}"
        );
        assert!(
            files
                .iter()
                .any(|f| f.to_string_lossy().contains("ld-linux")),
            "{files:?}"
        );
    }
}
