//! Cron expressions for `COPY_SCHEDULE` and `EXPORT_SCHEDULE`, checked as leniently as the
//! `croniter` library Tinybird uses: five fields (an optional sixth for seconds), `@hourly`-style
//! aliases, lists, ranges, steps, month and weekday names, and `L`, `W`, `#` modifiers.

/// The fields of a cron expression: name, minimum, maximum, accepted names.
const FIELDS: [(&str, u32, u32, &[&str]); 6] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    ),
    ("second", 0, 59, &[]),
];

const ALIASES: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Checks `expression`; the error says which field is wrong.
pub(crate) fn check(expression: &str) -> Result<(), String> {
    let expression = expression.trim();
    if ALIASES.contains(&expression.to_ascii_lowercase().as_str()) {
        return Ok(());
    }
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    }
    for (field, (name, min, max, names)) in fields.iter().zip(FIELDS) {
        for item in field.split(',') {
            if !item_is_valid(item, min, max, names) {
                return Err(format!("invalid {name} field `{field}`"));
            }
        }
    }
    Ok(())
}

fn item_is_valid(item: &str, min: u32, max: u32, names: &[&str]) -> bool {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step
        && !step.parse::<u32>().is_ok_and(|s| s > 0)
    {
        return false;
    }
    if range == "*" || range == "?" {
        return true;
    }
    let value = |v: &str| -> bool {
        // `L`, `5L`, `15W`, `MON#2`: modifiers croniter accepts on days.
        let v = v.trim_end_matches(['L', 'l', 'W', 'w']);
        let v = v.split('#').next().unwrap_or(v);
        if v.is_empty() {
            return true;
        }
        v.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n))
            || names.iter().any(|n| n.eq_ignore_ascii_case(v))
    };
    match range.split_once('-') {
        Some((a, b)) => value(a) && value(b),
        None => !range.is_empty() && value(range),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn cron_expressions() {
        for ok in [
            "0 * * * *",
            "*/15 2-4 * JAN-MAR mon,fri",
            "@daily",
            "0 0 L * *",
            "0 0 * * 1#2",
            "0 0 1 1 0 30",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "61 * * * *",
            "* * * * * * *",
            "*/0 * * * *",
            "every hour",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
