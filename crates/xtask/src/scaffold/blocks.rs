//! The generator's edits to files every service shares (compose and its mTLS
//! overlay, the Prometheus config, the kustomizations): a block per service,
//! above a marker line, between `xtask:begin NAME` and `xtask:end NAME`
//! comment lines, so that removing the service takes out exactly what it put
//! in.
//!
//! A block is written flush left in its template and takes the indentation
//! of the marker line it goes above, whatever that is: the file's layout is
//! read from the file, never assumed.

/// Inserts `block` (whole lines, flush left) for `name` above the line that
/// reads `# MARKER` in `text`, each line indented like the marker.
pub(crate) fn insert(
    file: &str,
    text: &str,
    marker: &str,
    name: &str,
    block: &str,
) -> Result<String, String> {
    let wanted = format!("# {marker}");
    let mut out = String::with_capacity(text.len() + block.len());
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if line.trim() == wanted {
            if found {
                return Err(format!(
                    "{file}: the marker line `{wanted}` is there twice; keep one"
                ));
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!("{indent}# xtask:begin {name}\n"));
            for block_line in block.split_inclusive('\n') {
                if !block_line.trim().is_empty() {
                    out.push_str(indent);
                }
                out.push_str(block_line);
            }
            if !block.is_empty() && !block.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{indent}# xtask:end {name}\n"));
            found = true;
        }
        out.push_str(line);
    }
    if found {
        Ok(out)
    } else {
        Err(format!(
            "{file}: the marker line `{wanted}` is missing; put it back where new services go"
        ))
    }
}

/// Whether `text` holds a block for `name`.
pub(crate) fn contains(text: &str, name: &str) -> bool {
    let begin = format!("# xtask:begin {name}");
    text.lines().any(|line| line.trim() == begin)
}

/// Removes every block of `name` from `text`.
pub(crate) fn remove(file: &str, text: &str, name: &str) -> Result<String, String> {
    let (begin, end) = (
        format!("# xtask:begin {name}"),
        format!("# xtask:end {name}"),
    );
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !inside && trimmed == begin {
            inside = true;
        } else if inside && trimmed == end {
            inside = false;
        } else if !inside {
            out.push_str(line);
        }
    }
    if inside {
        return Err(format!("{file}: `{begin}` has no `{end}`"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "services:\n  a:\n    x: 1\n  # xtask:services\n  b:\n";

    #[test]
    fn insert_then_remove_gives_back_the_same_bytes() {
        let inserted = insert(
            "f",
            TEXT,
            "xtask:services",
            "shop",
            "shop:\n  y: 2\n\n  z: 3\n",
        )
        .unwrap();
        assert_eq!(
            inserted,
            "services:\n  a:\n    x: 1\n  # xtask:begin shop\n  shop:\n    y: 2\n\n    z: 3\n  # xtask:end shop\n  # xtask:services\n  b:\n"
        );
        assert!(contains(&inserted, "shop") && !contains(&inserted, "sho"));
        assert_eq!(remove("f", &inserted, "shop").unwrap(), TEXT);
    }

    #[test]
    fn a_block_takes_the_indentation_of_its_marker() {
        let four = "services:\n    a:\n        x: 1\n    # xtask:services\n";
        assert_eq!(
            insert("f", four, "xtask:services", "shop", "shop:\n  y: 2\n").unwrap(),
            "services:\n    a:\n        x: 1\n    # xtask:begin shop\n    shop:\n      y: 2\n    # xtask:end shop\n    # xtask:services\n"
        );
        let flush = "resources:\n- a.yaml\n# xtask:resources\n";
        assert_eq!(
            insert("f", flush, "xtask:resources", "shop", "- shop.yaml\n").unwrap(),
            "resources:\n- a.yaml\n# xtask:begin shop\n- shop.yaml\n# xtask:end shop\n# xtask:resources\n"
        );
    }

    #[test]
    fn a_missing_doubled_or_unclosed_marker_is_an_error() {
        assert!(insert("f", "a: 1\n", "xtask:services", "shop", "x\n").is_err());
        assert!(insert("f", "# xtask:s\n# xtask:s\n", "xtask:s", "shop", "x\n").is_err());
        assert!(remove("f", "# xtask:begin shop\nx\n", "shop").is_err());
    }
}
