//! `keelhaul scan`.

use std::io::{self, BufWriter, Write};

use anyhow::Context as _;
use keelhaul_analyze::Limits;
use keelhaul_image::{Credentials, OpenOptions, PlatformSelector, RegistryOptions, Target};
use keelhaul_report::{Format, RenderOptions};
use keelhaul_scan::{ScanOptions, Scanner};

use super::ExitStatus;
use crate::cli::{OutputFormat, ScanArgs};
use crate::printer::Printer;

pub fn scan(args: ScanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let platform = match &args.platform {
        Some(p) => PlatformSelector::parse(p)?,
        None => PlatformSelector::Host,
    };
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache_dir
            .clone()
            .or_else(|| dirs::cache_dir().map(|d| d.join("keelhaul")))
    };
    let options = ScanOptions {
        open: OpenOptions {
            platform,
            registry: RegistryOptions {
                insecure: args.insecure,
                credentials: match (args.username, args.password) {
                    (Some(username), Some(password)) => Some(Credentials { username, password }),
                    _ => None,
                },
                ..RegistryOptions::default()
            },
        },
        cache_dir,
        limits: Limits {
            max_ratio: args.max_decompression_ratio,
            ..Limits::default()
        },
        threads: args.threads,
        verify_local: args.verify_layers,
    };
    let target = Target::parse(&args.target)?;
    let scanner = Scanner::new(options)?;
    let progress = printer.layer_progress();
    let reports = scanner
        .scan(&target, &progress)
        .with_context(|| format!("Failed to scan `{}`", args.target))?;
    progress.clear();

    let mut complete = true;
    for r in &reports {
        for w in &r.warnings {
            // Warnings name the layer and path where they have one; name the image too, as
            // errors do.
            printer.warning(&format!("`{}`: {w}", r.target));
        }
        for e in &r.errors {
            printer.error(e);
        }
        complete &= r.complete;
    }

    let format = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Cyclonedx => Format::CycloneDx,
        OutputFormat::SpdxJson => Format::SpdxJson,
    };
    let render_options = RenderOptions {
        color: args.output.is_none() && printer.color_stdout(),
    };
    let written = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("Cannot create `{}`", path.display()))?;
            let mut out = BufWriter::new(file);
            keelhaul_report::render(&reports, format, render_options, &mut out)
                .and_then(|()| out.flush().map_err(Into::into))
                .with_context(|| format!("Cannot write `{}`", path.display()))
        }
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            match keelhaul_report::render(&reports, format, render_options, &mut out)
                .and_then(|()| out.flush().map_err(Into::into))
            {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                Err(keelhaul_report::RenderError::Io(e))
                    if e.kind() == io::ErrorKind::BrokenPipe =>
                {
                    Ok(())
                }
                other => other.context("Cannot write the report"),
            }
        }
    };
    written?;
    Ok(if complete {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
