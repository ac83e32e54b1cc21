//! The human-readable report.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, ContentArrangement, Table};
use keelhaul_core::Ecosystem;

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
