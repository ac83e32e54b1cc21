//! OS detection: the analyzer keeps release files; [`detect`] reads them at image level.

mod release_files;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
pub use release_files::{RELEASE_FILES, detect, parse_key_values, release_line_version};

/// Keeps every release file whole, for detection once all layers are stacked.
#[derive(Debug, Default)]
pub struct ReleaseFiles;

/// Release files are a few hundred bytes; anything much larger is not one.
const MAX_RELEASE_FILE: u64 = 64 << 10;

impl Analyzer for ReleaseFiles {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "release",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(RELEASE_FILES, MAX_RELEASE_FILE)
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        out.emit(Fact::Text {
            text: String::from_utf8_lossy(content).into_owned(),
        });
        Ok(())
    }
}
