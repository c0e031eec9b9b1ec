//! The paths an SDK config's `include` entry names: a file, a folder, or a glob pattern with
//! `*`, `?`, `[...]` and `**`, as Python's `glob(pattern, recursive=True)` (which tb uses to
//! classify a JSON config) and the SDKs' include resolvers expand them.

use std::path::{Component, Path, PathBuf};

/// Folders no include pattern descends into, as in both SDKs' include resolvers.
const SKIPPED_DIRS: &[&str] = &[".git", "node_modules"];

/// True when `entry` is a pattern rather than a path.
pub(crate) fn is_pattern(entry: &str) -> bool {
    entry.contains(['*', '?', '[', ']'])
}

/// The existing paths (files and folders) an include entry names, relative entries resolved
/// against `base`, sorted. A plain path is returned as it is when it exists.
pub(crate) fn expand(base: &Path, entry: &str) -> Vec<PathBuf> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Vec::new();
    }
    let full = base.join(entry);
    if !is_pattern(entry) {
        return if full.exists() {
            vec![full]
        } else {
            Vec::new()
        };
    }
    // The folder the pattern is anchored in: its components up to the first with a wildcard.
    let mut root = PathBuf::new();
    let mut segments: Vec<String> = Vec::new();
    for component in full.components() {
        match component {
            Component::Normal(part)
                if segments.is_empty() && !is_pattern(&part.to_string_lossy()) =>
            {
                root.push(part)
            }
            Component::Normal(part) => segments.push(part.to_string_lossy().into_owned()),
            Component::ParentDir if segments.is_empty() => {
                root.pop();
            }
            Component::ParentDir => segments.push("..".into()),
            Component::CurDir => {}
            other => root.push(other.as_os_str()),
        }
    }
    if !root.is_dir() {
        return Vec::new();
    }
    let recursive = segments.iter().any(|s| s == "**");
    let mut walker = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .sort_by_file_name();
    if !recursive {
        walker = walker.max_depth(segments.len());
    }
    let mut found = Vec::new();
    let entries = walker.into_iter().filter_entry(|e| {
        !(e.file_type().is_dir() && SKIPPED_DIRS.contains(&&*e.file_name().to_string_lossy()))
    });
    for entry in entries.flatten() {
        let Ok(relative) = entry.path().strip_prefix(&root) else {
            continue;
        };
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches_segments(&segments, &parts) {
            found.push(entry.into_path());
        }
    }
    found
}

/// Whether path components match pattern segments; `**` matches any number of components.
fn matches_segments(pattern: &[String], parts: &[String]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=parts.len()).any(|skip| {
                // Like Python's glob, `**` does not descend into hidden folders.
                parts[..skip].iter().all(|p| !p.starts_with('.'))
                    && matches_segments(rest, &parts[skip..])
            })
        }
        Some((first, rest)) => parts.split_first().is_some_and(|(part, others)| {
            matches_name(first, part) && matches_segments(rest, others)
        }),
    }
}

/// Whether one file name matches one pattern segment. As in Python's glob, a wildcard does
/// not match a leading `.`.
pub(crate) fn matches_name(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') && is_pattern(pattern) {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_chars(&pattern, &name)
}

fn match_chars(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| match_chars(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && match_chars(rest, &name[1..]),
        Some(('[', rest)) => match class(rest) {
            Some((set, negated, after)) => name.split_first().is_some_and(|(c, others)| {
                set_contains(&set, *c) != negated && match_chars(after, others)
            }),
            // An unclosed `[` is a literal character.
            None => name.first() == Some(&'[') && match_chars(rest, &name[1..]),
        },
        Some((c, rest)) => name.first() == Some(c) && match_chars(rest, &name[1..]),
    }
}

/// A `[...]` class after its `[`: its characters, whether it is negated (`[!...]`), and the
/// pattern after its `]`.
fn class(pattern: &[char]) -> Option<(Vec<char>, bool, &[char])> {
    let (negated, body) = match pattern.first() {
        Some('!') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    // A `]` right after the opening is a member, not the end.
    let end = body.iter().skip(1).position(|c| *c == ']')? + 1;
    Some((body[..end].to_vec(), negated, &body[end + 1..]))
}

fn set_contains(set: &[char], c: char) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == '-' {
            if set[i] <= c && c <= set[i + 2] {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(matches_name("*.ts", "a.ts"));
        assert!(!matches_name("*.ts", "a.tsx"));
        assert!(matches_name("a?.py", "ab.py"));
        assert!(matches_name("[ab]*.py", "b1.py"));
        assert!(!matches_name("[!ab]*.py", "b1.py"));
        assert!(matches_name("[a-c].py", "b.py"));
        assert!(matches_name("x[.py", "x[.py"));
        assert!(!matches_name("*", ".hidden"));
        assert!(matches_name(".*", ".hidden"));
    }

    #[test]
    fn expands_files_folders_and_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "src/a.ts",
            "src/deep/b.ts",
            "src/deep/c.py",
            "src/node_modules/d.ts",
            "src/.hidden/e.ts",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), "").unwrap();
        }
        let names = |entry: &str| -> Vec<String> {
            expand(root, entry)
                .iter()
                .map(|p| {
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/")
                })
                .collect()
        };
        assert_eq!(names("src/*.ts"), vec!["src/a.ts"]);
        assert_eq!(names("src/**/*.ts"), vec!["src/a.ts", "src/deep/b.ts"]);
        assert_eq!(names("src/*"), vec!["src/a.ts", "src/deep"]);
        assert_eq!(names("./src/deep/*.py"), vec!["src/deep/c.py"]);
        assert_eq!(names("src/deep"), vec!["src/deep"]);
        assert_eq!(names("src/missing.ts"), Vec::<String>::new());
        assert_eq!(names("nowhere/*.ts"), Vec::<String>::new());
        assert_eq!(names("  "), Vec::<String>::new());
    }
}
