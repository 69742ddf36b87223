//! The recipes file: which images `harness images` builds for a project's stacks, out of
//! which host binaries. The project names it (`images` in harness.toml); the harness
//! itself knows no stack's images.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ImageError;
use super::recipe::{REAPER_IMAGE, Recipe, SCRATCH, binary_with_closure};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipesFile {
    #[serde(default)]
    image: Vec<ImageEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    tag: String,
    #[serde(default)]
    dirs: Vec<DirEntry>,
    /// After `FROM scratch` and `COPY rootfs/ /`.
    #[serde(default)]
    instructions: Vec<String>,
    binaries: Vec<BinaryEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirEntry {
    path: String,
    /// Octal, as `chmod` takes it: "1777".
    mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BinaryEntry {
    /// A bare name: next to the harness binary; any other path as written.
    host: PathBuf,
    at: String,
    #[serde(default)]
    fix: Option<String>,
}

/// A `--binary NAME=PATH`: the binary whose `host` ends in NAME comes from PATH.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryOverride {
    pub name: String,
    pub path: PathBuf,
}

impl std::str::FromStr for BinaryOverride {
    type Err = String;

    fn from_str(text: &str) -> Result<BinaryOverride, String> {
        match text.split_once('=') {
            Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok(BinaryOverride {
                name: name.to_string(),
                path: PathBuf::from(path),
            }),
            _ => Err(format!(
                "`{text}` is not NAME=PATH (e.g. app=target/release/app)"
            )),
        }
    }
}

/// The recipes of the file at `path`, with `overrides` applied and every binary found.
pub fn recipes(path: &Path, overrides: &[BinaryOverride]) -> Result<Vec<Recipe>, ImageError> {
    let text = crate::user_file::read_to_string(path).map_err(|source| ImageError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: RecipesFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
        malformed(path, line, e.message())
    })?;
    if let Some(unused) = overrides.iter().find(|o| !names_any(&file, &o.name)) {
        return Err(ImageError::UnknownBinary {
            path: path.to_path_buf(),
            name: unused.name.clone(),
            known: binary_names(&file).join(", "),
        });
    }
    let here = harness_dir()?;
    file.image
        .iter()
        .map(|image| recipe(path, image, overrides, &here))
        .collect()
}

fn recipe(
    path: &Path,
    image: &ImageEntry,
    overrides: &[BinaryOverride],
    here: &Path,
) -> Result<Recipe, ImageError> {
    let field = |field: &str, problem: &str| {
        malformed(
            path,
            0,
            &format!("image `{}`, {field}: {problem}", image.tag),
        )
    };
    if image.tag == REAPER_IMAGE {
        return Err(field(
            "tag",
            "is the harness's own reaper image — tag yours another way",
        ));
    }
    if image.binaries.is_empty() {
        return Err(field("binaries", "name at least one binary to copy in"));
    }
    // The whole entry is checked before any binary is looked for on the host, so a typo
    // is named even where a binary is missing too.
    for (i, binary) in image.binaries.iter().enumerate() {
        if let Some(problem) = not_in_image(&binary.at) {
            return Err(field(&format!("binaries[{i}].at"), &problem));
        }
    }
    let mut dirs = Vec::new();
    for (i, dir) in image.dirs.iter().enumerate() {
        if let Some(problem) = not_in_image(&dir.path) {
            return Err(field(&format!("dirs[{i}].path"), &problem));
        }
        let mode = u32::from_str_radix(&dir.mode, 8)
            .ok()
            .filter(|mode| *mode <= 0o7777)
            .ok_or_else(|| {
                let problem = format!("`{}` is not an octal mode like \"1777\"", dir.mode);
                field(&format!("dirs[{i}].mode"), &problem)
            })?;
        dirs.push((dir.path.clone(), mode));
    }
    let mut files = Vec::new();
    for binary in &image.binaries {
        let host = overrides
            .iter()
            .find(|o| name_of(&binary.host) == o.name)
            .map_or_else(|| located(&binary.host, here), |o| o.path.clone());
        let fix = binary
            .fix
            .as_deref()
            .unwrap_or("install it, or pass --binary NAME=PATH");
        files.extend(binary_with_closure(&host, &binary.at, fix)?);
    }
    let dockerfile = std::iter::once(SCRATCH.to_string())
        .chain(image.instructions.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Recipe {
        tag: image.tag.clone(),
        files,
        dirs,
        dockerfile,
    })
}

/// Why `path` is not a place inside the image's root, if it is not.
fn not_in_image(path: &str) -> Option<String> {
    let outside =
        !path.starts_with('/') || Path::new(path).components().any(|c| c.as_os_str() == "..");
    outside.then(|| format!("`{path}` must be an absolute path in the image, without `..`"))
}

fn malformed(path: &Path, line: usize, problem: &str) -> ImageError {
    ImageError::Recipes {
        path: path.to_path_buf(),
        line,
        problem: problem.to_string(),
    }
}

/// A bare name is cargo's: next to the harness (test binaries live one level down, in
/// target/<profile>/deps); any other path as written.
fn located(host: &Path, here: &Path) -> PathBuf {
    if host.components().count() != 1 {
        return host.to_path_buf();
    }
    let candidates = [here.join(host), here.join("..").join(host)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .unwrap_or(&candidates[0])
        .clone()
}

fn harness_dir() -> Result<PathBuf, ImageError> {
    let me = std::env::current_exe().map_err(ImageError::OwnPath)?;
    me.parent()
        .map(Path::to_path_buf)
        .ok_or(ImageError::NoParent)
}

fn name_of(host: &Path) -> String {
    host.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn binary_names(file: &RecipesFile) -> Vec<String> {
    file.image
        .iter()
        .flat_map(|i| i.binaries.iter().map(|b| name_of(&b.host)))
        .collect()
}

fn names_any(file: &RecipesFile, name: &str) -> bool {
    binary_names(file).iter().any(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const ONE: &str = "[[image]]\ntag = \"t:1\"\ndirs = [{ path = \"/tmp\", mode = \"1777\" }]\ninstructions = [\"ENTRYPOINT [\\\"/bin/x\\\"]\"]\n[[image.binaries]]\nhost = \"/bin/true\"\nat = \"/bin/x\"\n";

    #[test]
    fn an_image_is_scratch_its_binaries_and_its_instructions() {
        let (_dir, path) = write(ONE);
        let recipes = recipes(&path, &[]).unwrap();
        assert_eq!(recipes.len(), 1);
        let r = &recipes[0];
        assert_eq!(r.tag, "t:1");
        assert_eq!(r.dirs, vec![("/tmp".to_string(), 0o1777)]);
        assert_eq!(
            r.dockerfile,
            "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/x\"]"
        );
        assert_eq!(r.files[0].0, "/bin/x");
        assert!(
            r.files.len() > 1,
            "with its shared libraries: {:?}",
            r.files
        );
    }

    #[test]
    fn a_binary_can_be_replaced_by_name_and_an_unknown_name_is_refused() {
        let (_dir, path) = write(ONE);
        let by = |name: &str, path: &str| BinaryOverride {
            name: name.into(),
            path: path.into(),
        };
        let r = recipes(&path, &[by("true", "/bin/false")]).unwrap();
        let host = &r[0].files[0].1;
        assert_eq!(host, &std::fs::canonicalize("/bin/false").unwrap());
        let err = recipes(&path, &[by("executor", "/bin/false")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("executor") && text.contains("true"), "{text}");
        assert!("executor".parse::<BinaryOverride>().is_err());
        assert_eq!("a=b".parse::<BinaryOverride>().unwrap(), by("a", "b"));
    }

    #[test]
    fn bad_input_names_the_file_the_line_or_field_and_the_fix() {
        let cases = [
            (ONE.replace("tag", "tga"), "images.toml:2"),
            (ONE.replace("\"1777\"", "\"rwx\""), "dirs[0].mode"),
            (ONE.replace("\"1777\"", "\"17777\""), "dirs[0].mode"),
            // A typo is named first even where a binary is missing too.
            (
                ONE.replace("\"1777\"", "\"rwx\"")
                    .replace("/bin/true", "/no/such/binary"),
                "dirs[0].mode",
            ),
            (
                ONE.replace("at = \"/bin/x\"", "at = \"bin/x\""),
                "binaries[0].at",
            ),
            (
                ONE.replace("at = \"/bin/x\"", "at = \"/../etc/x\""),
                "binaries[0].at",
            ),
            (
                ONE.replace("path = \"/tmp\"", "path = \"/tmp/../..\""),
                "dirs[0].path",
            ),
            (ONE.replace("t:1", REAPER_IMAGE), "reaper image"),
            (
                ONE.replace("/bin/true", "/no/such/binary"),
                "/no/such/binary",
            ),
        ];
        for (text, names) in cases {
            let (_dir, path) = write(&text);
            let err = recipes(&path, &[]).unwrap_err().to_string();
            assert!(err.contains(names), "{names}: {err}");
            if !names.starts_with('/') {
                assert!(err.contains("images.toml"), "{err}");
            }
        }
    }
}
