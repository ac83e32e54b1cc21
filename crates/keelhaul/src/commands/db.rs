//! `keelhaul db …`: build, move and inspect the vulnerability database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use keelhaul_vulndb::{Database, SQLITE_MAGIC, import};

use super::ExitStatus;
use crate::cli::{
    DbCommand, DbExportArgs, DbImportArgs, DbStatusArgs, DbUpdateArgs, default_db_path,
};
use crate::printer::Printer;

pub fn db(command: DbCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match command {
        DbCommand::Import(args) => import_cmd(args, printer),
        DbCommand::Update(args) => update_cmd(args, printer),
        DbCommand::Export(args) => export_cmd(args, printer),
        DbCommand::Status(args) => status_cmd(args),
    }
}

fn db_path(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    arg.or_else(default_db_path).context(
        "Cannot find a cache directory for the default database; pass `--db FILE` or set KEELHAUL_DB",
    )
}

fn is_sqlite(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == SQLITE_MAGIC
}

fn import_cmd(args: DbImportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let db_path = db_path(args.db)?;
    let started = Instant::now();
    if args.paths.len() == 1 && is_sqlite(&args.paths[0]) {
        // An export from `keelhaul db export`: it replaces the database as a whole.
        keelhaul_vulndb::install_export(&args.paths[0], &db_path)?;
        printer.status(&format!(
            "Installed the database export {} as {}",
            args.paths[0].display(),
            db_path.display()
        ));
        return Ok(ExitStatus::Success);
    }
    if args.source.is_some() && args.paths.len() > 1 {
        bail!("`--source` names one source; give one PATH with it");
    }
    let mut sources = Vec::new();
    let mut failed_files = 0usize;
    for path in &args.paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
        if is_sqlite(path) {
            bail!(
                "{} is a database export; import it on its own (`keelhaul db import {}`), it replaces the whole database",
                path.display(),
                path.display()
            );
        }
        let name = args
            .source
            .clone()
            .unwrap_or_else(|| import::source_name(path));
        let spinner = printer.spinner(&format!("Reading {}", path.display()));
        let loaded = import::load(path, &name);
        spinner.finish_and_clear();
        for e in &loaded.errors {
            printer.warning(&format!("skipped {e}"));
        }
        failed_files += loaded.errors.len();
        printer.status(&format!(
            "{name}: {} advisories, {} enrichment records from {} files ({}){}",
            loaded.source.advisories.len(),
            loaded.source.enrichments.len(),
            loaded.files,
            if loaded.source.formats.is_empty() {
                "no recognised format".to_owned()
            } else {
                loaded.source.formats.join(", ")
            },
            if loaded.errors.is_empty() {
                String::new()
            } else {
                format!(", {} files skipped", loaded.errors.len())
            }
        ));
        if loaded.files == 0 {
            printer.warning(&format!(
                "{}: no advisory files recognised (OSV JSON/YAML, Debian tracker, Alpine secdb, Ubuntu tracker, OVAL, RustSec, RubySec, FriendsOfPHP, Node.js security-wg, victims, NVD, CVE 5, KEV)",
                path.display()
            ));
        }
        sources.push(loaded.source);
    }
    let mut db = Database::open_for_write(&db_path)?;
    db.replace_sources(&sources)?;
    printer.status(&format!(
        "Wrote {} in {:.1}s",
        db_path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(if failed_files > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn update_cmd(args: DbUpdateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let db_path = db_path(args.db)?;
    crate::commands::db_update::run(&db_path, args.feeds.as_deref(), printer)
}

fn export_cmd(args: DbExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let db_path = db_path(args.db)?;
    let db = Database::open(&db_path)?;
    if args.file.exists() {
        if !args.force {
            bail!(
                "{} exists; pass --force to overwrite it",
                args.file.display()
            );
        }
        std::fs::remove_file(&args.file)
            .with_context(|| format!("Cannot remove {}", args.file.display()))?;
    }
    db.export(&args.file)?;
    printer.status(&format!(
        "Exported {} to {}; on the other machine: keelhaul db import {}",
        db_path.display(),
        args.file.display(),
        args.file.display()
    ));
    Ok(ExitStatus::Success)
}

fn status_cmd(args: DbStatusArgs) -> anyhow::Result<ExitStatus> {
    let db_path = db_path(args.db)?;
    let db = Database::open(&db_path)?;
    let sources = db.sources()?;
    let built_at = db.built_at()?;
    let ecosystems = db.ecosystems()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "path": db_path,
            "schema_version": keelhaul_vulndb::SCHEMA_VERSION,
            "built_at": built_at,
            "sources": sources,
            "ecosystems": ecosystems.iter().map(|(e, n)| serde_json::json!({"ecosystem": e, "packages": n})).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(ExitStatus::Success);
    }
    writeln!(out, "Database: {}", db_path.display())?;
    writeln!(out, "Schema:   {}", keelhaul_vulndb::SCHEMA_VERSION)?;
    writeln!(
        out,
        "Built:    {}{}",
        built_at.as_deref().unwrap_or("never"),
        built_at.as_deref().map(age).unwrap_or_default()
    )?;
    writeln!(out)?;
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .force_no_tty();
    table.set_header(vec![
        "Source",
        "Formats",
        "Advisories",
        "Packages",
        "Enrichment",
        "Skipped",
        "Errors",
        "Imported",
    ]);
    for s in &sources {
        table.add_row(vec![
            s.name.clone(),
            s.formats.clone(),
            s.advisories.to_string(),
            s.affected.to_string(),
            s.enrichments.to_string(),
            s.skipped.to_string(),
            s.errors.to_string(),
            s.imported_at.clone(),
        ]);
    }
    writeln!(out, "{table}")?;
    let total: u64 = sources.iter().map(|s| s.advisories).sum();
    writeln!(
        out,
        "{} sources, {total} advisories, {} feed ecosystems: {}",
        sources.len(),
        ecosystems.len(),
        ecosystems
            .iter()
            .map(|(e, _)| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(ExitStatus::Success)
}

/// ` (3 days ago)` for an RFC 3339 time.
fn age(when: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(when, &time::format_description::well_known::Rfc3339)
    else {
        return String::new();
    };
    let elapsed = time::OffsetDateTime::now_utc() - t;
    let days = elapsed.whole_days();
    if days >= 1 {
        format!(" ({days} days ago)")
    } else {
        format!(" ({} hours ago)", elapsed.whole_hours().max(0))
    }
}
