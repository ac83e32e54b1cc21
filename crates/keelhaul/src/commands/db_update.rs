//! `keelhaul db update`: download the configured feeds and swap them in.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use keelhaul_vulndb::update::{
    FeedOutcome, FeedsConfig, UpdateOptions, UpdateProgress, configured_feeds, update,
};

use super::ExitStatus;
use crate::printer::Printer;

pub fn run(db: &Path, feeds: Option<&Path>, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let feeds = match feeds {
        Some(path) => FeedsConfig::load(path)?.feeds,
        None => configured_feeds()?,
    };
    let options = UpdateOptions {
        feeds,
        ..UpdateOptions::default()
    };
    let progress = Bars::new(printer.shows_progress());
    let report = update(db, &options, &progress)?;
    let _ = progress.multi.clear();
    for feed in &report.feeds {
        for w in &feed.warnings {
            printer.warning(&format!("{}: {w}", feed.name));
        }
        match &feed.outcome {
            FeedOutcome::Updated {
                advisories,
                enrichments,
                bytes,
            } => printer.status(&format!(
                "{}: updated ({advisories} advisories, {enrichments} enrichment records, {} KiB)",
                feed.name,
                bytes / 1024
            )),
            FeedOutcome::NotModified => printer.status(&format!("{}: up to date", feed.name)),
            FeedOutcome::Failed(reason) => printer.error(&format!(
                "{}: {reason} (the previous data of this source is kept)",
                feed.name
            )),
        }
    }
    Ok(if report.is_complete() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// One bar per feed download, on a terminal only.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new(visible: bool) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            }),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl UpdateProgress for Bars {
    fn start(&self, feed: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>24} {wide_bar} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(feed.to_owned());
        let bar = self.multi.add(bar);
        self.bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(feed.to_owned(), bar);
    }

    fn advance(&self, feed: &str, bytes: u64) {
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(feed)
        {
            bar.inc(bytes);
        }
    }

    fn finish(&self, feed: &str, _outcome: &FeedOutcome) {
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(feed)
        {
            bar.finish_and_clear();
        }
    }
}
