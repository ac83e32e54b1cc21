//! CycloneDX 1.6 JSON.

use keelhaul_core::Package;
use serde_json::{Value, json};

use crate::Report;

fn properties(pairs: &[(&str, Option<String>)]) -> Vec<Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| json!({"name": k, "value": v})))
        .collect()
}

fn package_component(r: &Report, p: &Package, platform_prefix: &str) -> Value {
    let mut c = json!({
        "type": "library",
        "bom-ref": format!("{platform_prefix}{}", p.purl),
        "name": p.name,
        "version": p.version,
        "purl": p.purl,
    });
    if let Some(s) = &p.supplier {
        c["supplier"] = json!({"name": s});
    }
    if !p.licenses.is_empty() {
        c["licenses"] = Value::Array(
            p.licenses
                .iter()
                .map(|l| json!({"license": {"name": l}}))
                .collect(),
        );
    }
    let location = p.locations.first();
    let props = properties(&[
        ("keelhaul:package:ecosystem", Some(p.ecosystem.to_string())),
        ("keelhaul:package:arch", p.arch.clone()),
        ("keelhaul:package:source_name", p.source_name.clone()),
        ("keelhaul:package:source_version", p.source_version.clone()),
        ("keelhaul:location:path", location.map(|l| l.path.clone())),
        (
            "keelhaul:location:layer",
            location.and_then(|l| l.layer.as_ref().map(ToString::to_string)),
        ),
        (
            "keelhaul:location:layer_index",
            location
                .and_then(|l| r.layer_index(l.layer.as_ref()))
                .map(|i| i.to_string()),
        ),
        (
            "keelhaul:package:modularity_label",
            p.modularity_label.clone(),
        ),
        (
            "keelhaul:package:evidence",
            Some(
                p.evidence()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ),
        ("keelhaul:package:owned_by", p.owned_by.clone()),
    ]);
    if !props.is_empty() {
        c["properties"] = Value::Array(props);
    }
    c
}

fn os_component(r: &Report, prefix: &str) -> Option<Value> {
    let os = r.os.as_ref()?;
    let mut c = json!({
        "type": "operating-system",
        "bom-ref": format!("{prefix}os:{}@{}", os.family, os.version.as_deref().unwrap_or("unknown")),
        "name": os.family,
    });
    if let Some(v) = &os.version {
        c["version"] = json!(v);
    }
    if let Some(p) = &os.pretty_name {
        c["description"] = json!(p);
    }
    Some(c)
}

/// The image as a `container` component (without its contents).
fn image_component(r: &Report, bom_ref: &str) -> Value {
    let mut c = json!({
        "type": "container",
        "bom-ref": bom_ref,
        "name": r.image_name(),
    });
    if let Some(d) = r.image_digest() {
        c["version"] = json!(d.to_string());
    }
    let props = properties(&[
        (
            "keelhaul:image:platform",
            r.platform.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:config_digest",
            r.image.config_digest.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:manifest_digest",
            r.image.manifest_digest.as_ref().map(ToString::to_string),
        ),
        (
            "keelhaul:image:index_digest",
            r.image.index_digest.as_ref().map(ToString::to_string),
        ),
    ]);
    if !props.is_empty() {
        c["properties"] = Value::Array(props);
    }
    c
}

fn contents(r: &Report, prefix: &str) -> (Vec<Value>, Vec<String>) {
    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some(os) = os_component(r, prefix) {
        refs.push(os["bom-ref"].as_str().unwrap_or_default().to_owned());
        components.push(os);
    }
    for p in &r.packages {
        let c = package_component(r, p, prefix);
        refs.push(c["bom-ref"].as_str().unwrap_or_default().to_owned());
        components.push(c);
    }
    (components, refs)
}

pub(crate) fn bom(reports: &[Report]) -> Value {
    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", crate::model::document_id(reports)),
        "version": 1,
    });
    let mut metadata = json!({
        "tools": {"components": [{"type": "application", "name": "keelhaul", "version": env!("CARGO_PKG_VERSION")}]},
    });
    if let Some(t) = reports
        .first()
        .and_then(|r| r.image.created.as_deref())
        .and_then(crate::spdx::rfc3339_seconds)
    {
        metadata["timestamp"] = json!(t);
    }
    let mut dependencies = Vec::new();
    let components: Vec<Value> = match reports {
        [one] => {
            metadata["component"] = image_component(one, "image");
            let (components, refs) = contents(one, "");
            dependencies.push(json!({"ref": "image", "dependsOn": refs}));
            components
        }
        many => {
            let first = many.first();
            metadata["component"] = json!({
                "type": "container",
                "bom-ref": "image-index",
                "name": first.map(Report::image_name).unwrap_or_default(),
            });
            if let Some(d) = first.and_then(|r| r.image.index_digest.as_ref()) {
                metadata["component"]["version"] = json!(d.to_string());
            }
            let mut platform_refs = Vec::new();
            let nested = many
                .iter()
                .map(|r| {
                    let platform = r
                        .platform
                        .as_ref()
                        .map_or_else(|| "unknown".to_owned(), ToString::to_string);
                    let prefix = format!("{platform}/");
                    let image_ref = format!("image:{platform}");
                    let mut c = image_component(r, &image_ref);
                    let (components, refs) = contents(r, &prefix);
                    c["components"] = Value::Array(components);
                    dependencies.push(json!({"ref": image_ref, "dependsOn": refs}));
                    platform_refs.push(image_ref);
                    c
                })
                .collect();
            dependencies.push(json!({"ref": "image-index", "dependsOn": platform_refs}));
            nested
        }
    };
    bom["metadata"] = metadata;
    bom["components"] = Value::Array(components);
    bom["dependencies"] = Value::Array(dependencies);
    bom
}
