//! The scan report and its renderings.
//!
//! A [`Report`] is what one scanned image yields: target, image metadata, OS, packages,
//! findings, warnings and errors. [`render`] writes one or several reports (several with
//! `--platform all`) in a [`Format`]:
//!
//! * `table`: grouped by ecosystem, coloured on a terminal;
//! * `json`: the native contract of `DESIGN.md` (one report object; with several
//!   platforms, `{"target", "platforms": [report…]}`);
//! * `cyclonedx`: CycloneDX 1.6 JSON;
//! * `spdx-json`: SPDX 2.3 JSON.
//!
//! Output is deterministic: the same image gives the same bytes (serial numbers and
//! namespaces derive from image digests, times from the image config).
//!
//! The SBOM documents are written with plain serde structs: the `cyclonedx-bom` crate
//! stops at spec 1.5 and is slow to build, `spdx-rs` is unmaintained.
#![deny(missing_docs)]

mod cyclonedx;
mod model;
mod spdx;
mod table;

use std::io::Write;
use std::str::FromStr;

pub use model::{ImageMeta, LayerMeta, Report, Summary};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table.
    Table,
    /// keelhaul's JSON.
    Json,
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "cyclonedx" | "cyclonedx-json" => Ok(Format::CycloneDx),
            "spdx-json" | "spdx" => Ok(Format::SpdxJson),
            other => Err(format!(
                "unknown format `{other}` (use table, json, cyclonedx or spdx-json)"
            )),
        }
    }
}

/// Options for rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use colour (tables only).
    pub color: bool,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Writing failed.
    #[error("Cannot write the report")]
    Io(#[from] std::io::Error),
    /// Serialising failed.
    #[error("Cannot serialise the report")]
    Json(#[from] serde_json::Error),
}

/// Write `reports` (one per platform) to `out`.
pub fn render(
    reports: &[Report],
    format: Format,
    options: RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    match format {
        Format::Table => table::write(reports, options, out)?,
        Format::Json => {
            match reports {
                [one] => serde_json::to_writer_pretty(&mut *out, one)?,
                many => serde_json::to_writer_pretty(
                    &mut *out,
                    &serde_json::json!({
                        "target": many.first().map(|r| r.target.as_str()).unwrap_or_default(),
                        "platforms": many,
                    }),
                )?,
            }
            writeln!(out)?;
        }
        Format::CycloneDx => {
            serde_json::to_writer_pretty(&mut *out, &cyclonedx::bom(reports))?;
            writeln!(out)?;
        }
        Format::SpdxJson => {
            serde_json::to_writer_pretty(&mut *out, &spdx::document(reports))?;
            writeln!(out)?;
        }
    }
    Ok(())
}
