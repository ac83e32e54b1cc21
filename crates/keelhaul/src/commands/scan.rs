//! `keelhaul scan`.

use std::io::{self, BufWriter, Write};

use anyhow::Context as _;
use keelhaul_analyze::Limits;
use keelhaul_image::{Credentials, OpenOptions, PlatformSelector, RegistryOptions, Target};
use keelhaul_report::{Format, RenderOptions};
use keelhaul_scan::{ScanOptions, Scanner, Scanners};
use keelhaul_vulndb::policy::{IgnoreFile, Policy, VexDocument, parse_severities};

use super::ExitStatus;
use crate::cli::{OutputFormat, ScanArgs, default_db_path};
use crate::printer::Printer;

pub fn scan(args: ScanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    // Read the policy files first: a typo there should fail before a long scan.
    let policy = policy_from(&args)?;
    let (vuln, content) = scanners_from(&args.scanners)?;
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
        facts_store: None,
        limits: Limits {
            max_ratio: args.max_decompression_ratio,
            ..Limits::default()
        },
        threads: args.threads,
        verify_local: args.verify_layers,
        scanners: content,
        malware_rules: args.malware_rules.clone(),
        malware_hashes: args.malware_hashes.clone(),
        secret_config: args.secret_config.clone(),
    };
    let mut reports = match args.target.strip_prefix("sbom:") {
        Some(path) => vec![keelhaul_scan::scan_sbom(std::path::Path::new(path))?],
        None => {
            let target = Target::parse(&args.target)?;
            let scanner = Scanner::new(options)?;
            for w in scanner.warnings() {
                printer.warning(w);
            }
            let progress = printer.layer_progress();
            let reports = scanner
                .scan(&target, &progress)
                .with_context(|| format!("Failed to scan `{}`", args.target))?;
            progress.clear();
            reports
        }
    };
    if vuln != Wanted::No {
        let db_path = args.db.clone().or_else(default_db_path);
        match db_path.as_deref().map(keelhaul_vulndb::Database::open) {
            Some(Ok(db)) => keelhaul_scan::match_vulnerabilities(&mut reports, &db)?,
            Some(Err(keelhaul_vulndb::DbError::Missing(path))) if vuln == Wanted::Default => {
                printer.warning(&format!(
                    "no vulnerability database at {}; reporting the inventory only. Build one with `keelhaul db import PATH…` or `keelhaul db update`, or pass --db FILE (--scanners none silences this)",
                    path.display()
                ));
            }
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("no cache directory for the default database; pass --db FILE"),
        }
    }
    let mut suppressed = 0usize;
    for report in &mut reports {
        let findings = std::mem::take(&mut report.vulnerabilities);
        let (kept, hidden, warnings) = policy.apply(findings);
        suppressed += hidden.len();
        report.vulnerabilities = kept;
        report.warnings.extend(warnings);
        report.summary.count(&report.vulnerabilities);
    }
    if suppressed > 0 {
        tracing::info!(
            "{suppressed} findings hidden by --severity, --ignore-unfixed, ignore rules or VEX"
        );
    }

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
        OutputFormat::Sarif => Format::Sarif,
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
    let findings = reports.iter().any(|r| !r.vulnerabilities.is_empty());
    Ok(match (complete, args.exit_code) {
        (false, _) => ExitStatus::Failure,
        (true, Some(code)) if findings => ExitStatus::Findings(code),
        (true, _) => ExitStatus::Success,
    })
}

/// The finding policy from the command line: severities, unfixed, ignore rules
/// (`--ignore-file`, else `.keelhaul.yaml` in the current directory) and VEX documents.
fn policy_from(args: &ScanArgs) -> anyhow::Result<Policy> {
    let mut policy = Policy::new(time::OffsetDateTime::now_utc().date());
    if let Some(list) = &args.severity {
        policy.severities = Some(parse_severities(list)?);
    }
    policy.ignore_unfixed = args.ignore_unfixed;
    policy.ignore = match &args.ignore_file {
        Some(path) => IgnoreFile::load(path)?,
        None => IgnoreFile::discover(&std::env::current_dir()?)?.unwrap_or_default(),
    };
    for path in &args.vex {
        policy.vex.push(VexDocument::load(path)?);
    }
    Ok(policy)
}

/// Whether to match vulnerabilities: by default (a missing database is a warning), because
/// `--scanners vuln` asked (a missing database is an error), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Default,
    Explicit,
    No,
}

/// `--scanners`: every scanner by default; `none` for the inventory only.
pub(crate) fn scanners_from(list: &[String]) -> anyhow::Result<(Wanted, Scanners)> {
    if list.is_empty() {
        return Ok((Wanted::Default, Scanners::default()));
    }
    let mut vuln = Wanted::No;
    let mut content = Scanners::NONE;
    for s in list {
        match s.trim() {
            "vuln" | "vulnerability" | "vulnerabilities" => vuln = Wanted::Explicit,
            "secret" | "secrets" => content.secret = true,
            "malware" => content.malware = true,
            "baseline" => content.baseline = true,
            "none" => {}
            other => anyhow::bail!(
                "unknown scanner `{other}`; use a comma-separated list of vuln, secret, malware, baseline, or none"
            ),
        }
    }
    Ok((vuln, content))
}
