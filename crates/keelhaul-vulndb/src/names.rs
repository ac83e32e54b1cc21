//! Package names as feeds and inventories must agree on them.

/// Normalises a package name for lookups in a feed ecosystem (OSV spelling):
/// PyPI names per PEP 503 (lowercase, runs of `-_.` → `-`); Packagist, NuGet and
/// RubyGems lowercased (their registries treat names case-insensitively); npm, Go,
/// crates.io, Maven and distro package names unchanged.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    match base {
        "PyPI" => keelhaul_core::pep503_name(name),
        "Packagist" | "NuGet" | "RubyGems" => name.trim().to_lowercase(),
        _ => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn pypi_names_follow_pep_503() {
        assert_eq!(normalize_name("PyPI", "Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(normalize_name("npm", "@Scope/X"), "@Scope/X");
        assert_eq!(
            normalize_name("Packagist", "Symfony/HTTP-Kernel"),
            "symfony/http-kernel"
        );
    }
}
