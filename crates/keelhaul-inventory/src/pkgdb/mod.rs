//! OS package databases.

pub mod apk;
pub mod dpkg;
pub mod rpm;

/// Most packages read from one database file. Real databases hold a few thousand; a
/// hostile file of minimal records could hold hundreds of thousands, each costing memory.
pub const MAX_PACKAGES_PER_DB: usize = 100_000;

/// The warning for a database cut at [`MAX_PACKAGES_PER_DB`].
pub(crate) fn too_many_packages() -> String {
    format!(
        "more than {MAX_PACKAGES_PER_DB} packages; only the first {MAX_PACKAGES_PER_DB} are read"
    )
}
