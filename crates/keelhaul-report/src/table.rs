//! The human-readable report.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};
use keelhaul_core::{Ecosystem, Severity, Vulnerability};

use crate::{RenderOptions, Report};

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn header_cell(text: &str, color: bool) -> Cell {
    let cell = Cell::new(text);
    if color {
        cell.add_attribute(Attribute::Bold)
    } else {
        cell
    }
}

pub(crate) fn write(
    reports: &[Report],
    options: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write_one(r, options, out)?;
    }
    Ok(())
}

fn write_one(r: &Report, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| {
        if options.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    writeln!(out, "{} {}", bold("Target:  "), r.target)?;
    if let Some(p) = &r.platform {
        writeln!(out, "{} {p}", bold("Platform:"))?;
    }
    let os = match &r.os {
        Some(os) => {
            let version = os.version.as_deref().unwrap_or("(no version)");
            match &os.pretty_name {
                Some(pretty) => format!("{} {version} ({pretty})", os.family),
                None => format!("{} {version}", os.family),
            }
        }
        None => "not detected".to_owned(),
    };
    writeln!(out, "{} {os}", bold("OS:      "))?;
    if let Some(d) = r.image_digest() {
        writeln!(out, "{} {d}", bold("Digest:  "))?;
    }
    if !r.image.layers.is_empty()
        && r.image
            .layers
            .iter()
            .any(|l| l.digest.is_some() || l.diff_id.is_some())
    {
        writeln!(out, "{}", bold("Layers:"))?;
        for l in &r.image.layers {
            let id = l
                .diff_id
                .as_ref()
                .or(l.digest.as_ref())
                .map_or("-", |d| d.short());
            let size = l.size.map(human_size).unwrap_or_default();
            let step = l.created_by.as_deref().unwrap_or("");
            let step: String = step.chars().take(90).collect();
            writeln!(out, "  #{:<2} {id}  {size:>9}  {step}", l.index)?;
        }
    }
    for ecosystem in Ecosystem::ALL {
        let packages: Vec<_> = r
            .packages
            .iter()
            .filter(|p| p.ecosystem == ecosystem)
            .collect();
        if packages.is_empty() {
            continue;
        }
        writeln!(
            out,
            "\n{}",
            bold(&format!("{ecosystem} packages ({})", packages.len()))
        )?;
        let mut table = Table::new();
        if options.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        let header = if ecosystem.is_os() {
            ["Package", "Version", "Arch", "Source", "Layer"]
        } else {
            ["Package", "Version", "Evidence", "Path", "Layer"]
        };
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.map(|h| header_cell(h, options.color)));
        for p in packages {
            let layer = p
                .locations
                .first()
                .and_then(|l| r.layer_index(l.layer.as_ref()))
                .map_or_else(String::new, |i| format!("#{i}"));
            let row = if ecosystem.is_os() {
                let source = match (&p.source_name, &p.source_version) {
                    (Some(s), Some(v)) if s != &p.name && v != &p.version => format!("{s} ({v})"),
                    (Some(s), _) if s != &p.name => s.clone(),
                    _ => String::new(),
                };
                [
                    p.name.clone(),
                    p.version.clone(),
                    p.arch.clone().unwrap_or_default(),
                    source,
                    layer,
                ]
            } else {
                let mut evidence = p
                    .evidence()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                if let Some(owner) = &p.owned_by {
                    evidence.push_str(&format!(
                        " (OS: {})",
                        owner.split('?').next().unwrap_or(owner)
                    ));
                }
                let mut path = p
                    .locations
                    .first()
                    .map(|l| format!("/{}", l.path))
                    .unwrap_or_default();
                if p.locations.len() > 1 {
                    path.push_str(&format!(" (+{})", p.locations.len() - 1));
                }
                [p.name.clone(), p.version.clone(), evidence, path, layer]
            };
            table.add_row(row);
        }
        writeln!(out, "{table}")?;
    }
    if !r.vulnerabilities.is_empty() {
        write_vulnerabilities(r, options, &bold, out)?;
    }
    write_content_findings(r, options, &bold, out)?;
    writeln!(
        out,
        "\n{} packages, {} warnings{}",
        r.packages.len(),
        r.warnings.len(),
        if r.complete {
            String::new()
        } else {
            format!(", {} layers incomplete", r.errors.len())
        }
    )?;
    Ok(())
}

/// A titled table: title, header, rows.
type Section = (String, [&'static str; 5], Vec<Vec<Cell>>);

/// Secrets, malicious files and baseline risks: one table each, when there are any.
fn write_content_findings(
    r: &Report,
    options: RenderOptions,
    bold: &dyn Fn(&str) -> String,
    out: &mut dyn Write,
) -> io::Result<()> {
    let layer = |d: &Option<keelhaul_core::Digest>| {
        r.layer_index(d.as_ref())
            .map(|i| format!("#{i}"))
            .unwrap_or_default()
    };
    let mut sections: Vec<Section> = Vec::new();
    if !r.malware.is_empty() {
        let rows = r
            .malware
            .iter()
            .map(|m| {
                vec![
                    Cell::new(&m.path),
                    Cell::new(format!("{} ({})", m.rule_id, m.title)),
                    severity_cell(m.severity, options.color),
                    Cell::new(format!("{:?}", m.kind).to_lowercase()),
                    Cell::new(layer(&m.layer)),
                ]
            })
            .collect();
        sections.push((
            format!("Malicious files ({})", r.malware.len()),
            ["Path", "Rule", "Severity", "Kind", "Layer"],
            rows,
        ));
    }
    if !r.secrets.is_empty() {
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                let at = match s.line {
                    Some(l) => format!("{}:{l}", s.path),
                    None => s.path.clone(),
                };
                vec![
                    Cell::new(at),
                    Cell::new(&s.title),
                    severity_cell(s.severity, options.color),
                    Cell::new(truncate(&s.excerpt, MAX_TITLE)),
                    Cell::new(layer(&s.layer)),
                ]
            })
            .collect();
        sections.push((
            format!("Secrets ({})", r.secrets.len()),
            ["Where", "Secret", "Severity", "Excerpt (redacted)", "Layer"],
            rows,
        ));
    }
    if !r.baseline.is_empty() {
        let rows = r
            .baseline
            .iter()
            .map(|b| {
                vec![
                    Cell::new(&b.id),
                    Cell::new(&b.title),
                    severity_cell(b.severity, options.color),
                    Cell::new(truncate(&b.reason, MAX_TITLE)),
                    Cell::new(layer(&b.layer)),
                ]
            })
            .collect();
        sections.push((
            format!("Baseline risks ({})", r.baseline.len()),
            ["Check", "Title", "Severity", "Why", "Layer"],
            rows,
        ));
    }
    for (title, header, rows) in sections {
        writeln!(out, "\n{}", bold(&title))?;
        let mut table = Table::new();
        if options.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.map(|h| header_cell(h, options.color)));
        for row in rows {
            table.add_row(row);
        }
        writeln!(out, "{table}")?;
    }
    Ok(())
}

/// Titles longer than this are cut, so a row fits a terminal.
const MAX_TITLE: usize = 60;

/// A severity cell: critical red bold, high red, medium yellow, low cyan, the rest dim.
fn severity_cell(s: Severity, color: bool) -> Cell {
    let cell = Cell::new(s.as_str());
    if !color {
        return cell;
    }
    match s {
        Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Severity::High => cell.fg(Color::Red),
        Severity::Medium => cell.fg(Color::Yellow),
        Severity::Low => cell.fg(Color::Cyan),
        Severity::Negligible | Severity::Unknown => cell.add_attribute(Attribute::Dim),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `Total: 12 (critical 1, high 3, medium 5, low 2, negligible 0, unknown 1)`: every
/// severity, highest first, so the line has one shape whatever the counts.
pub(crate) fn severity_total(vulns: &[Vulnerability]) -> String {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            let n = vulns.iter().filter(|v| v.severity == *s).count();
            format!("{s} {n}")
        })
        .collect();
    format!("Total: {} ({})", vulns.len(), counts.join(", "))
}

/// The findings grouped per package: package and installed version are written on a
/// package's first row only. Rows are sorted stably by (purl, id), so the grouping does
/// not depend on the producer's order.
fn write_vulnerabilities(
    r: &Report,
    options: RenderOptions,
    bold: &dyn Fn(&str) -> String,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut vulns: Vec<&Vulnerability> = r.vulnerabilities.iter().collect();
    vulns.sort_by(|a, b| (&a.package.purl, &a.id).cmp(&(&b.package.purl, &b.id)));
    writeln!(
        out,
        "\n{}",
        bold(&format!("Vulnerabilities ({})", vulns.len()))
    )?;
    let mut table = Table::new();
    if options.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            [
                "Package",
                "Installed",
                "Vulnerability",
                "Severity",
                "Status",
                "Fixed in",
                "Title",
            ]
            .map(|h| header_cell(h, options.color)),
        );
    let mut previous: Option<(&str, &str)> = None;
    for v in vulns {
        let group = (v.package.purl.as_str(), v.installed_version.as_str());
        let (name, installed) = if previous == Some(group) {
            (String::new(), String::new())
        } else {
            (v.package.name.clone(), v.installed_version.clone())
        };
        previous = Some(group);
        let mut id = v.id.clone();
        if !v.aliases.is_empty() {
            id.push_str(&format!(" (+{})", v.aliases.len()));
        }
        if v.known_exploited {
            id.push_str(" [KEV]");
        }
        table.add_row(vec![
            Cell::new(name),
            Cell::new(installed),
            Cell::new(id),
            severity_cell(v.severity, options.color),
            Cell::new(v.status.as_str()),
            Cell::new(v.fixed_versions.join(", ")),
            Cell::new(truncate(v.title.as_deref().unwrap_or(""), MAX_TITLE)),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(out, "{}", severity_total(&r.vulnerabilities))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, testdata};

    #[test]
    fn vulnerabilities_are_grouped_per_package_with_a_total() {
        let text = testdata::render(&[testdata::report()], Format::Table, false);
        assert!(!text.contains('\x1b'), "no colour when off");
        let vulns = text.split("Vulnerabilities (5)").nth(1).unwrap_or_default();
        assert!(!vulns.is_empty(), "{text}");
        let rows: Vec<&str> = vulns
            .lines()
            .filter(|l| l.contains("CVE-") || l.contains("GHSA-"))
            .collect();
        // openssl's two findings: the name only on the first.
        let openssl: Vec<&&str> = rows
            .iter()
            .filter(|l| l.contains("CVE-2023-5678") || l.contains("CVE-2024-0727"))
            .collect();
        assert_eq!(openssl.len(), 2);
        assert!(openssl[0].contains("openssl") && openssl[0].contains("3.0.11-1~deb12u1"));
        assert!(!openssl[1].contains("openssl"));
        assert!(
            rows.iter()
                .any(|l| l.contains("CVE-2023-32681 (+2)") && l.contains("2.31.0"))
        );
        assert!(
            rows.iter()
                .any(|l| l.contains("CVE-2024-3094 [KEV]") && l.contains("deferred"))
        );
        assert!(
            text.contains(
                "Total: 5 (critical 1, high 0, medium 2, low 0, negligible 1, unknown 1)"
            )
        );
        // After the package tables, before the closing line.
        let (vuln_at, pkg_at, end_at) = (
            text.find("Vulnerabilities (5)"),
            text.find("pypi packages"),
            text.find("3 packages, 0 warnings"),
        );
        assert!(pkg_at < vuln_at && vuln_at < end_at);
    }

    #[test]
    fn severities_are_coloured_when_colour_is_on() {
        let text = testdata::render(&[testdata::report()], Format::Table, true);
        // critical: red (31) and bold (1); medium: yellow (33); unknown: dim (2).
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_default()
                .to_owned()
        };
        let critical = line("CVE-2024-3094");
        assert!(
            critical.contains("\x1b[38;5;9m")
                || critical.contains("\x1b[31m")
                || critical.contains("\x1b[91m"),
            "{critical:?}"
        );
        assert!(critical.contains("\x1b[1m"), "{critical:?}");
        let medium = line("CVE-2024-0727");
        assert!(
            medium.contains("\x1b[38;5;11m")
                || medium.contains("\x1b[33m")
                || medium.contains("\x1b[93m"),
            "{medium:?}"
        );
        let unknown = line("GHSA-0000");
        assert!(unknown.contains("\x1b[2m"), "{unknown:?}");
    }

    #[test]
    fn long_titles_are_cut() {
        let t = truncate(&"x".repeat(100), MAX_TITLE);
        assert_eq!(t.chars().count(), MAX_TITLE);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short", MAX_TITLE), "short");
    }

    #[test]
    fn no_findings_no_vulnerability_table() {
        let mut r = testdata::report();
        r.vulnerabilities.clear();
        let text = testdata::render(&[r], Format::Table, false);
        assert!(!text.contains("Vulnerabilities"));
        assert!(!text.contains("Total:"));
    }
}
