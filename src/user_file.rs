//! Files a user names (a compose file, a prompt, a config), read whole — with a bound, so
//! a wrong path (`/dev/zero`, a multi-gigabyte log) fails with a clear error instead of
//! taking the machine's memory.

use std::io::{self, Read};
use std::path::Path;

/// Far more than any compose file, prompt or config; far less than a machine's memory.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The file's bytes, or an error once it holds more than [`MAX_BYTES`].
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB (no compose file, prompt or config is)",
                MAX_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

/// The file as UTF-8 text, bounded as [`read`].
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_bound() {
        let err = read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("16 MiB"), "{err}");
    }

    #[test]
    fn a_file_up_to_the_bound_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'a'; MAX_BYTES as usize]).unwrap();
        assert_eq!(read_to_string(&path).unwrap().len(), MAX_BYTES as usize);
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(
            read_to_string(&path)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        assert!(read(&dir.path().join("none")).is_err());
    }
}
