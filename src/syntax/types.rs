//! ClickHouse column types as Tinybird checks them: known type families (some case-sensitive, some
//! not), the families that need arguments, and the types nested inside wrappers.

use std::ops::Range;

use super::commands::edit_distance;

/// Type families whose names are case-sensitive, sorted (for binary search).
const CASE_SENSITIVE: &[&str] = &[
    "AggregateFunction",
    "Array",
    "Dynamic",
    "Enum16",
    "Enum8",
    "FixedString",
    "Float32",
    "Float64",
    "IPv4",
    "IPv6",
    "Int128",
    "Int16",
    "Int256",
    "Int32",
    "Int64",
    "Int8",
    "IntervalDay",
    "IntervalHour",
    "IntervalMicrosecond",
    "IntervalMillisecond",
    "IntervalMinute",
    "IntervalMonth",
    "IntervalNanosecond",
    "IntervalQuarter",
    "IntervalSecond",
    "IntervalWeek",
    "IntervalYear",
    "LineString",
    "LowCardinality",
    "Map",
    "MultiLineString",
    "MultiPolygon",
    "Nested",
    "Nothing",
    "Nullable",
    "Object",
    "Point",
    "Polygon",
    "Ring",
    "SimpleAggregateFunction",
    "String",
    "Tuple",
    "UInt128",
    "UInt16",
    "UInt256",
    "UInt32",
    "UInt64",
    "UInt8",
    "UUID",
    "Variant",
];

/// Type families and SQL aliases matched without regard to case, upper-case here, sorted.
const CASE_INSENSITIVE: &[&str] = &[
    "BIGINT",
    "BINARY",
    "BIT",
    "BLOB",
    "BOOL",
    "BOOLEAN",
    "BYTE",
    "BYTEA",
    "CHAR",
    "CHARACTER",
    "CLOB",
    "DATE",
    "DATE32",
    "DATETIME",
    "DATETIME32",
    "DATETIME64",
    "DEC",
    "DECIMAL",
    "DECIMAL128",
    "DECIMAL256",
    "DECIMAL32",
    "DECIMAL64",
    "DOUBLE",
    "ENUM",
    "FIXED",
    "FLOAT",
    "GEOMETRY",
    "INET4",
    "INET6",
    "INT",
    "INT1",
    "INTEGER",
    "JSON",
    "LONGBLOB",
    "LONGTEXT",
    "MEDIUMBLOB",
    "MEDIUMINT",
    "MEDIUMTEXT",
    "NCHAR",
    "NUMERIC",
    "NVARCHAR",
    "NVARCHAR2",
    "REAL",
    "SET",
    "SIGNED",
    "SMALLINT",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "TINYBLOB",
    "TINYINT",
    "TINYTEXT",
    "UNSIGNED",
    "VARBINARY",
    "VARCHAR",
    "VARCHAR2",
    "YEAR",
];

/// Two-or-more-word SQL aliases, upper-case, single-spaced.
const MULTI_WORD: &[&str] = &[
    "DOUBLE PRECISION",
    "CHAR VARYING",
    "CHARACTER VARYING",
    "CHARACTER LARGE OBJECT",
    "NATIONAL CHAR",
    "NATIONAL CHARACTER",
    "NATIONAL CHAR VARYING",
    "NATIONAL CHARACTER VARYING",
    "NATIONAL CHARACTER LARGE OBJECT",
    "NCHAR VARYING",
    "NCHAR LARGE OBJECT",
    "BINARY VARYING",
    "BINARY LARGE OBJECT",
];

/// Integer aliases that take `SIGNED` or `UNSIGNED` after them.
const SIGNABLE: &[&str] = &[
    "INT",
    "INTEGER",
    "BIGINT",
    "TINYINT",
    "SMALLINT",
    "MEDIUMINT",
];

/// True when ClickHouse knows the type family (or SQL alias) `family`.
fn is_known_family(family: &str) -> bool {
    if CASE_SENSITIVE.binary_search(&family).is_ok() {
        return true;
    }
    // Upper-cased on the stack: families are short ASCII words.
    let mut buffer = [0u8; 32];
    let Some(slot) = buffer.get_mut(..family.len()) else {
        return false;
    };
    slot.copy_from_slice(family.as_bytes());
    slot.make_ascii_uppercase();
    std::str::from_utf8(slot).is_ok_and(|upper| CASE_INSENSITIVE.binary_search(&upper).is_ok())
}

/// A problem with a type, at a byte range of the type text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeProblem {
    /// A family ClickHouse does not know.
    Unknown {
        /// The family as written.
        family: String,
        range: Range<usize>,
        /// Known families that look alike.
        suggestions: Vec<&'static str>,
    },
    /// A known family used wrongly (missing arguments, unbalanced parentheses, extra text).
    Invalid {
        /// What is wrong.
        message: String,
        range: Range<usize>,
    },
}

/// Checks a column type as written (without `--` comments).
pub(crate) fn check_type(text: &str) -> Result<(), TypeProblem> {
    // A project repeats a few dozen types across thousands of columns: remember the good ones.
    thread_local! {
        static VALID: std::cell::RefCell<std::collections::HashSet<String>> =
            std::cell::RefCell::new(std::collections::HashSet::new());
    }
    const REMEMBERED: usize = 4096;
    if VALID.with(|valid| valid.borrow().contains(text)) {
        return Ok(());
    }
    check_at(text, 0, 0)?;
    VALID.with(|valid| {
        let mut valid = valid.borrow_mut();
        if valid.len() < REMEMBERED {
            valid.insert(text.to_owned());
        }
    });
    Ok(())
}

const MAX_DEPTH: usize = 64;

fn check_at(text: &str, base: usize, depth: usize) -> Result<(), TypeProblem> {
    let leading = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let start = base + leading;
    let whole = start..start + trimmed.len();
    if trimmed.is_empty() {
        return Err(TypeProblem::Invalid {
            message: "expected a type".into(),
            range: whole,
        });
    }
    if depth > MAX_DEPTH {
        return Err(TypeProblem::Invalid {
            message: "type nested too deeply".into(),
            range: whole,
        });
    }
    let family_len = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let family = &trimmed[..family_len];
    let rest = &trimmed[family_len..];
    if family.is_empty() {
        return Err(TypeProblem::Invalid {
            message: format!("expected a type name, found `{}`", first_char(trimmed)),
            range: start..start + first_char(trimmed).len(),
        });
    }
    let family_range = start..start + family_len;

    if rest
        .trim_start()
        .starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return check_multi_word(trimmed, start, family, family_range);
    }

    let known = is_known_family(family);
    if !known {
        return Err(TypeProblem::Unknown {
            family: family.to_owned(),
            range: family_range,
            suggestions: suggestions(family),
        });
    }

    let rest_start = start + family_len;
    let rest_trimmed = rest.trim_start();
    let args_start = rest_start + (rest.len() - rest_trimmed.len());
    let args = if rest_trimmed.is_empty() {
        None
    } else if rest_trimmed.starts_with('(') {
        let close = matching_paren(rest_trimmed).ok_or_else(|| TypeProblem::Invalid {
            message: "Expected closing )".into(),
            range: args_start..args_start + 1,
        })?;
        let after = &rest_trimmed[close + 1..];
        if !after.trim().is_empty() {
            let offset = args_start + close + 1 + (after.len() - after.trim_start().len());
            return Err(TypeProblem::Invalid {
                message: format!("unexpected `{}` after the type", after.trim()),
                range: offset..offset + after.trim().len(),
            });
        }
        Some((&rest_trimmed[1..close], args_start + 1))
    } else {
        return Err(TypeProblem::Invalid {
            message: format!("unexpected `{}` after the type", first_char(rest_trimmed)),
            range: args_start..args_start + first_char(rest_trimmed).len(),
        });
    };

    check_arguments(family, family_range, args, depth)
}

fn check_multi_word(
    trimmed: &str,
    start: usize,
    family: &str,
    family_range: Range<usize>,
) -> Result<(), TypeProblem> {
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let upper = words.join(" ").to_ascii_uppercase();
    let signed = words.len() == 2
        && SIGNABLE.iter().any(|w| w.eq_ignore_ascii_case(words[0]))
        && matches!(upper.rsplit(' ').next(), Some("SIGNED" | "UNSIGNED"));
    if signed || MULTI_WORD.contains(&upper.as_str()) {
        return Ok(());
    }
    let known = is_known_family(family);
    if !known {
        return Err(TypeProblem::Unknown {
            family: family.to_owned(),
            range: family_range,
            suggestions: suggestions(family),
        });
    }
    let second = trimmed[family.len()..].trim_start();
    let offset = start + (trimmed.len() - second.len());
    let word_len = second.split_whitespace().next().map_or(0, str::len);
    Err(TypeProblem::Invalid {
        message: format!("unexpected `{}` after the type", &second[..word_len]),
        range: offset..offset + word_len,
    })
}

fn check_arguments(
    family: &str,
    family_range: Range<usize>,
    args: Option<(&str, usize)>,
    depth: usize,
) -> Result<(), TypeProblem> {
    let needs = |what: &str| TypeProblem::Invalid {
        message: format!("{family} data type family must have {what}"),
        range: family_range.clone(),
    };
    let Some((inner, inner_start)) = args else {
        // Families are ASCII words of at most 23 characters; upper-case them on the stack.
        let mut buffer = [0u8; 32];
        let upper = match buffer.get_mut(..family.len()) {
            Some(slot) => {
                slot.copy_from_slice(family.as_bytes());
                slot.make_ascii_uppercase();
                std::str::from_utf8(slot).unwrap_or("")
            }
            None => "",
        };
        return match upper {
            "FIXEDSTRING" | "BINARY" => Err(needs("exactly one argument - size in bytes")),
            "DECIMAL32" | "DECIMAL64" | "DECIMAL128" | "DECIMAL256" => {
                Err(needs("exactly one argument - scale"))
            }
            "ENUM" | "ENUM8" | "ENUM16" => Err(needs("at least one value")),
            "LOWCARDINALITY" | "ARRAY" | "NULLABLE" => Err(needs("exactly one argument - a type")),
            "MAP" => Err(needs("two arguments: key and value types")),
            "NESTED" => Err(needs("at least one column")),
            "SIMPLEAGGREGATEFUNCTION" | "AGGREGATEFUNCTION" => {
                Err(needs("a function name and argument types"))
            }
            "OBJECT" => Err(needs("one argument - name of schema format")),
            _ => Ok(()),
        };
    };
    let parts = split_top_level(inner);
    let part_at = |i: usize| -> Option<(&str, usize)> {
        parts
            .get(i)
            .map(|r| (&inner[r.clone()], inner_start + r.start))
    };
    let check_types = |from: usize| -> Result<(), TypeProblem> {
        for i in from..parts.len() {
            let (text, at) = part_at(i).expect("index in range");
            check_at(text, at, depth + 1)?;
        }
        Ok(())
    };
    match family {
        "Array" | "Nullable" | "LowCardinality" => {
            if parts.len() != 1 {
                return Err(needs("exactly one argument - a type"));
            }
            check_types(0)
        }
        "Map" => {
            if parts.len() != 2 {
                return Err(needs("two arguments: key and value types"));
            }
            check_types(0)
        }
        "Variant" => check_types(0),
        "SimpleAggregateFunction" => check_types(1),
        "AggregateFunction" => {
            // An optional version number comes before the function.
            let first = part_at(0).map_or("", |(t, _)| t.trim());
            let from = if first.chars().all(|c| c.is_ascii_digit()) && !first.is_empty() {
                2
            } else {
                1
            };
            check_types(from)
        }
        "Tuple" | "Nested" => {
            for i in 0..parts.len() {
                let (text, at) = part_at(i).expect("index in range");
                check_element(text, at, family == "Nested", depth)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A `Tuple` element (`Type` or `name Type`) or a `Nested` column (`name Type`).
fn check_element(text: &str, at: usize, named: bool, depth: usize) -> Result<(), TypeProblem> {
    let trimmed = text.trim_start();
    let lead = text.len() - trimmed.len();
    if !named && check_at(text, at, depth + 1).is_ok() {
        return Ok(());
    }
    match trimmed.split_once(|c: char| c.is_whitespace()) {
        Some((name, ty)) if !name.contains('(') => {
            check_at(ty, at + lead + name.len() + 1, depth + 1)
        }
        _ => check_at(text, at, depth + 1),
    }
}

/// Ranges of the comma-separated parts of `text`, ignoring commas in parentheses and quotes.
fn split_top_level(text: &str) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"' | b'`') => quote = Some(b),
            (None, b'(') => depth += 1,
            (None, b')') => depth = depth.saturating_sub(1),
            (None, b',') if depth == 0 => {
                parts.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(start..text.len());
    parts
}

/// Index of the `)` matching the `(` at the start of `text`.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, b) in text.bytes().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"' | b'`') => quote = Some(b),
            (None, b'(') => depth += 1,
            (None, b')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn first_char(text: &str) -> &str {
    text.chars().next().map_or("", |c| &text[..c.len_utf8()])
}

/// Up to three known families close to `family`.
fn suggestions(family: &str) -> Vec<&'static str> {
    let lower = family.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = CASE_SENSITIVE
        .iter()
        .copied()
        .map(|f| (edit_distance(&lower, &f.to_ascii_lowercase()), f))
        .filter(|(d, f)| *d <= (f.len() / 3).max(1))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_tables_are_sorted_for_binary_search() {
        assert!(CASE_SENSITIVE.windows(2).all(|w| w[0] < w[1]));
        assert!(CASE_INSENSITIVE.windows(2).all(|w| w[0] < w[1]));
        assert!(
            CASE_INSENSITIVE
                .iter()
                .all(|f| *f == f.to_ascii_uppercase())
        );
    }

    #[test]
    fn accepts_what_clickhouse_accepts() {
        for ty in [
            "Int32",
            "datetime",
            "DateTime64(3, 'UTC')",
            "LowCardinality(Nullable(String))",
            "Map(String, Array(Tuple(a String, b Float64)))",
            "AggregateFunction(quantiles(0.5, 0.9), Float64)",
            "SimpleAggregateFunction(sum, UInt64)",
            "Enum8('a' = 1, 'b' = 2)",
            "Nested(a String, b UInt8)",
            "DOUBLE PRECISION",
            "INT UNSIGNED",
            "Decimal(10, 2)",
            "JSON(max_dynamic_paths=10)",
            "Array(String) ",
        ] {
            assert_eq!(check_type(ty), Ok(()), "{ty}");
        }
    }

    #[test]
    fn rejects_unknown_families_and_missing_arguments() {
        let unknown = |ty: &str| match check_type(ty) {
            Err(TypeProblem::Unknown { family, range, .. }) => (family, range),
            other => panic!("{ty}: {other:?}"),
        };
        assert_eq!(unknown("string"), ("string".into(), 0..6));
        assert_eq!(unknown("Array(Strin)"), ("Strin".into(), 6..11));
        assert_eq!(unknown("Tuple(a Foo)"), ("Foo".into(), 8..11));
        assert!(matches!(
            check_type("Array"),
            Err(TypeProblem::Invalid { .. })
        ));
        assert!(
            matches!(check_type("Array(String"), Err(TypeProblem::Invalid { range, .. }) if range == (5..6))
        );
        assert!(
            matches!(check_type("Int32 b String"), Err(TypeProblem::Invalid { range, .. }) if range == (6..7))
        );
        match check_type("Strng") {
            Err(TypeProblem::Unknown { suggestions, .. }) => assert_eq!(suggestions[0], "String"),
            other => panic!("{other:?}"),
        }
    }
}
