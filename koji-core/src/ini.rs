//! INI files as Python's `configparser` reads them (upstream's `hub.conf`
//! and `kojid.conf`).

/// One section of an INI file: options (names lowercased, as Python's
/// configparser has them) and their value lines with line numbers.
pub type IniSection = Vec<(String, Vec<(usize, String)>)>;

/// Reads INI text as Python's `configparser.RawConfigParser` does: `KEY =
/// VALUE` or `KEY: VALUE`, values continued on lines indented deeper than
/// their key, `#`/`;` full-line comments (also inside values), blank lines
/// kept inside values and trailing ones dropped.
pub fn parse(text: &str) -> std::result::Result<Vec<(String, IniSection)>, String> {
    let mut sections: Vec<(String, IniSection)> = vec![];
    // (section index, option index) of the value being read
    let mut current: Option<(usize, usize)> = None;
    let mut in_section: Option<usize> = None;
    let mut indent_level = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        let stripped = raw.trim();
        let comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if comment { "" } else { stripped };
        if value.is_empty() {
            if !comment {
                if let Some((s, o)) = current {
                    sections[s].1[o].1.push((n, String::new()));
                }
            }
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if let Some((s, o)) = current {
            if indent > indent_level {
                sections[s].1[o].1.push((n, value.to_string()));
                continue;
            }
        }
        indent_level = indent;
        if value.starts_with('[') {
            if let Some(end) = value.rfind(']').filter(|e| *e > 1) {
                let name = value[1..end].to_string();
                if sections.iter().any(|(s, _)| *s == name) {
                    return Err(format!("line {n}: section {name:?} already exists"));
                }
                sections.push((name, vec![]));
                in_section = Some(sections.len() - 1);
                current = None;
                continue;
            }
        }
        let Some(si) = in_section else {
            return Err(format!("line {n}: file contains no section headers"));
        };
        let Some(pos) = value.find(['=', ':']) else {
            return Err(format!("line {n}: expected KEY = VALUE"));
        };
        let key = value[..pos].trim().to_lowercase();
        if key.is_empty() {
            return Err(format!("line {n}: expected KEY = VALUE"));
        }
        let options = &mut sections[si].1;
        if options.iter().any(|(k, _)| *k == key) {
            return Err(format!(
                "line {n}: option {key:?} in section {:?} already exists",
                sections[si].0
            ));
        }
        options.push((key, vec![(n, value[pos + 1..].trim().to_string())]));
        current = Some((si, options.len() - 1));
    }
    // trailing blank lines are not part of a value
    for (_, options) in &mut sections {
        for (_, lines) in options.iter_mut() {
            while lines.len() > 1 && lines.last().is_some_and(|(_, l)| l.is_empty()) {
                lines.pop();
            }
        }
    }
    Ok(sections)
}

/// configparser's `getboolean`.
pub fn boolean(v: &str) -> std::result::Result<bool, String> {
    match v.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(format!("Not a boolean: {v}")),
    }
}

/// A section's options as single strings (continuation lines joined with
/// newlines).
pub fn section_values(section: &IniSection) -> Vec<(String, String)> {
    section
        .iter()
        .map(|(k, lines)| {
            let v: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
            (k.clone(), v.join("\n"))
        })
        .collect()
}
