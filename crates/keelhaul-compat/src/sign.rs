//! Server-side verification of the two cloud request signatures the official SDKs send:
//! Alibaba Cloud's `ACS3-HMAC-SHA256` and Huawei Cloud's `SDK-HMAC-SHA256`.
//!
//! Both are HMAC-SHA256 over a canonical request built from the method, path, query, the
//! headers the client chose to sign (always rebuilt from its `SignedHeaders` list, never
//! from a fixed one), and the body's SHA-256. Written here because no maintained crate
//! verifies either scheme server-side; the steps follow the SDKs' wire behaviour.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// How far a request's date may be from the server's clock.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The Authorization header is missing, malformed, or names another algorithm.
    #[error("{0}")]
    Incomplete(String),
    /// The signature does not match.
    #[error("the signature does not match")]
    Mismatch,
    /// The request's date is missing, malformed, or too far from now.
    #[error("{0}")]
    Expired(String),
}

/// RFC 3986 unreserved characters stay; everything else is `%XX` (uppercase).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `ENC(s)`: RFC 3986 percent-encoding of the UTF-8 bytes.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac_matches(secret: &str, message: &str, signature_hex: &str) -> Result<(), SignError> {
    let expected = hex::decode(signature_hex).map_err(|_| SignError::Mismatch)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignError::Mismatch)?;
    mac.update(message.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&expected).map_err(|_| SignError::Mismatch)
}

/// `HEX(HMAC-SHA256(secret, message))`, for clients (the agent's tests, tools) that sign.
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The parts of a signed request the verification reads.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`.
    pub method: &'a str,
    /// The path as received (still percent-encoded).
    pub path: &'a str,
    /// The query as received, without `?`.
    pub raw_query: &'a str,
    /// The headers as received.
    pub headers: &'a HeaderMap,
    /// The body's bytes as received.
    pub body: &'a [u8],
}

/// An `Authorization` header's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id (`Credential=` / `Access=`).
    pub access_key_id: String,
    /// Lowercase header names, in the client's order.
    pub signed_headers: Vec<String>,
    /// The signature, lowercase hex.
    pub signature: String,
}

fn parse_authorization(
    value: &str,
    algorithm: &str,
    key_field: &str,
) -> Result<Authorization, SignError> {
    let (alg, rest) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| SignError::Incomplete("the Authorization header has no parts".into()))?;
    if alg != algorithm {
        return Err(SignError::Incomplete(format!(
            "unsupported signature algorithm `{alg}`: sign with {algorithm}"
        )));
    }
    let (mut key, mut headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            n if n == key_field => key = Some(value.trim().to_owned()),
            "SignedHeaders" => headers = Some(value.trim().to_owned()),
            "Signature" => signature = Some(value.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let missing =
        |what: &str| SignError::Incomplete(format!("the Authorization header lacks {what}"));
    let access_key_id = key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| missing(key_field))?;
    let signed_headers: Vec<String> = headers
        .ok_or_else(|| missing("SignedHeaders"))?
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let signature = signature
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| missing("a 64-digit hex Signature"))?;
    Ok(Authorization {
        access_key_id,
        signed_headers,
        signature,
    })
}

/// Parse `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`.
pub fn parse_acs3(value: &str) -> Result<Authorization, SignError> {
    parse_authorization(value, "ACS3-HMAC-SHA256", "Credential")
}

/// Parse `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_sdk_hmac(value: &str) -> Result<Authorization, SignError> {
    parse_authorization(value, "SDK-HMAC-SHA256", "Access")
}

/// One header's canonical value: trimmed; a repeated header's values sorted and joined by `,`.
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort();
    Some(values.join(","))
}

fn canonical_headers(headers: &HeaderMap, signed: &[String]) -> Result<String, SignError> {
    let mut out = String::new();
    for name in signed {
        let value = header_value(headers, name).ok_or_else(|| {
            SignError::Incomplete(format!("the signed header `{name}` is not in the request"))
        })?;
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

fn require_signed(auth: &Authorization, names: &[&str]) -> Result<(), SignError> {
    for name in names {
        if !auth.signed_headers.iter().any(|h| h == name) {
            return Err(SignError::Incomplete(format!(
                "the header `{name}` must be signed"
            )));
        }
    }
    Ok(())
}

/// Decode a query into pairs, form-style (`+` is a space) as both SDKs' servers do.
pub fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The canonical query: pairs decoded, re-encoded with [`encode`], sorted by key (then by
/// value, which only matters for a repeated key), joined with `&`.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The Alibaba canonical request.
pub fn acs3_canonical_request(
    request: &SignedRequest<'_>,
    auth: &Authorization,
) -> Result<String, SignError> {
    let payload = sha256_hex(request.body);
    let claimed = header_value(request.headers, "x-acs-content-sha256").unwrap_or_default();
    if !claimed.eq_ignore_ascii_case(&payload) {
        return Err(SignError::Mismatch);
    }
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        path,
        canonical_query(request.raw_query),
        canonical_headers(request.headers, &auth.signed_headers)?,
        auth.signed_headers.join(";"),
        payload
    ))
}

/// Verify an `ACS3-HMAC-SHA256` request against `secret` (the date window is checked by
/// [`check_acs_date`]).
pub fn verify_acs3(
    request: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
) -> Result<(), SignError> {
    require_signed(
        auth,
        &[
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        ],
    )?;
    let canonical = acs3_canonical_request(request, auth)?;
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    hmac_matches(secret, &string_to_sign, &auth.signature)
}

/// The Huawei canonical URI: each segment decoded and re-encoded, and a trailing `/`.
pub fn sdk_canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(|segment| encode(&percent_encoding::percent_decode_str(segment).decode_utf8_lossy()))
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The Huawei canonical request.
pub fn sdk_canonical_request(
    request: &SignedRequest<'_>,
    auth: &Authorization,
) -> Result<String, SignError> {
    let payload = match header_value(request.headers, "x-sdk-content-sha256") {
        Some(v) if v == "UNSIGNED-PAYLOAD" => v,
        _ => sha256_hex(request.body),
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        sdk_canonical_uri(request.path),
        canonical_query(request.raw_query),
        canonical_headers(request.headers, &auth.signed_headers)?,
        auth.signed_headers.join(";"),
        payload
    ))
}

/// Verify an `SDK-HMAC-SHA256` request against `secret` (the date window is checked by
/// [`check_sdk_date`]).
pub fn verify_sdk_hmac(
    request: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
) -> Result<(), SignError> {
    require_signed(auth, &["host", "x-sdk-date"])?;
    let date = header_value(request.headers, "x-sdk-date").unwrap_or_default();
    let canonical = sdk_canonical_request(request, auth)?;
    let string_to_sign = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    hmac_matches(secret, &string_to_sign, &auth.signature)
}

fn check_skew(parsed: time::PrimitiveDateTime, now: time::OffsetDateTime) -> Result<(), SignError> {
    let skew = (now - parsed.assume_utc()).whole_seconds().abs();
    if skew > MAX_SKEW_SECONDS {
        return Err(SignError::Expired(format!(
            "the request time is {skew} s away from the server's clock (at most {MAX_SKEW_SECONDS} s)"
        )));
    }
    Ok(())
}

/// `x-acs-date` (`2026-11-22T09:27:28Z`) within [`MAX_SKEW_SECONDS`] of `now`.
pub fn check_acs_date(value: &str, now: time::OffsetDateTime) -> Result<(), SignError> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let parsed = time::PrimitiveDateTime::parse(value.trim(), format).map_err(|_| {
        SignError::Expired(format!("x-acs-date `{value}` is not YYYY-MM-DDTHH:MM:SSZ"))
    })?;
    check_skew(parsed, now)
}

/// `X-Sdk-Date` (`20261122T092729Z`) within [`MAX_SKEW_SECONDS`] of `now`.
pub fn check_sdk_date(value: &str, now: time::OffsetDateTime) -> Result<(), SignError> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(value.trim(), format)
        .map_err(|_| SignError::Expired(format!("X-Sdk-Date `{value}` is not YYYYMMDDTHHMMSSZ")))?;
    check_skew(parsed, now)
}

#[cfg(test)]
mod tests {
    //! The worked examples of `../shared/api-compat.md` section 4: requests captured from
    //! the official SDKs, with the signatures they sent.

    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    use super::*;

    const ALI_AK_SECRET: &str = "FakeSecretForDocs0123456789abc";
    const HW_SECRET: &str = "FakeHuaweiSecretKeyForDocs0123456789ABCD";
    const ALI_UA: &str = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
    const HW_UA: &str = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/95e87502-5e9f-41a0-88ca-ab46afc80456";
    const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        map
    }

    fn ali_headers(action: &str, nonce: &str, signature: &str) -> HeaderMap {
        let auth = format!(
            "ACS3-HMAC-SHA256 Credential=LTAI5tFAKEAKEXAMPLE,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={signature}"
        );
        headers(&[
            ("accept-encoding", "identity"),
            ("host", "127.0.0.1:18080"),
            ("x-acs-version", "2018-12-03"),
            ("x-acs-action", action),
            ("user-agent", ALI_UA),
            ("x-acs-date", "2026-11-22T09:27:28Z"),
            ("x-acs-signature-nonce", nonce),
            ("accept", "application/json"),
            ("x-acs-content-sha256", EMPTY_SHA),
            ("x-acs-credentials-provider", "static_ak"),
            ("authorization", &auth),
            ("content-length", "0"),
        ])
    }

    fn verify_ali(query: &str, map: &HeaderMap, secret: &str) -> Result<(), SignError> {
        let auth = parse_acs3(
            map.get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        )?;
        assert_eq!(auth.access_key_id, "LTAI5tFAKEAKEXAMPLE");
        verify_acs3(
            &SignedRequest {
                method: "POST",
                path: "/",
                raw_query: query,
                headers: map,
                body: b"",
            },
            &auth,
            secret,
        )
    }

    const SCAN_COUNT_QUERY: &str = "ClusterId=cdbbe7aa&Dealed=N&ImageDigest=a7978d51&ImageTag=v1+beta&ImageUuid=325bfa06&RepoId=3df5b5a1f2339eb7&RepoInstanceId=cri-p2jahwuuwuk7&RepoRegionId=cn-beijing&ScanRange.1=image&ScanRange.2=container&Uuids.1=07a1300d-2198&Uuids.2=u2";

    #[test]
    fn acs3_worked_example_canonical_request_and_signature() {
        let sig = "9b7f9beab2673df8a7aef348b7533d4fc9e3dc97661109d32a5d5e1c52cc9f25";
        let map = ali_headers(
            "DescribeImageSecurityScanCount",
            "8952235e0287019d808a8d8481cbb3b5",
            sig,
        );
        let auth = parse_acs3(map["authorization"].to_str().expect("ascii")).expect("parse");
        let canonical = acs3_canonical_request(
            &SignedRequest {
                method: "POST",
                path: "/",
                raw_query: SCAN_COUNT_QUERY,
                headers: &map,
                body: b"",
            },
            &auth,
        )
        .expect("canonical");
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "0e4bf6c8f0f6935a6af5deabd48a2286cb0797e3b8e7a081217db65d71b50a27"
        );
        assert!(canonical.contains("&ImageTag=v1%20beta&"));
        verify_ali(SCAN_COUNT_QUERY, &map, ALI_AK_SECRET).expect("the SDK's signature verifies");
        assert_eq!(
            verify_ali(
                SCAN_COUNT_QUERY,
                &map,
                "FakeSecretForDocs0123456789abc-wrong"
            ),
            Err(SignError::Mismatch)
        );
        // A tampered parameter breaks it too.
        let tampered = SCAN_COUNT_QUERY.replace("Dealed=N", "Dealed=Y");
        assert_eq!(
            verify_ali(&tampered, &map, ALI_AK_SECRET),
            Err(SignError::Mismatch)
        );
    }

    #[test]
    fn acs3_other_captured_requests_verify() {
        let cases = [
            (
                "DescribeImageInstances",
                "e5e3c3ca7d29fe3bf000e4b3c0689df6",
                "Criteria=%5B%7B%22name%22%3A%22instanceId%22%2C%22value%22%3A%22390100182%22%2C%22logicalExp%22%3A%22AND%22%7D%5D&CurrentPage=1&LogicalExp=OR&PageSize=20&Scanned=True",
                "b830a3230c6b26e155c5edb9dd73c8987b314c4d1876eae1ab5bdb996d566adb",
            ),
            (
                "PublicPreCheckImageScanTask",
                "0eae484a583a517498a076fee126edd0",
                "Digests=6a5e1031%2C7b6f&InstanceIds=cri-1&RegionIds=cn-hangzhou&RegistryTypes=acr%2Charbor&RepoIds=crr-1&RepoNames=centos&RepoNamespaces=ns1&SourceIp=192.168.1.1&Tags=0.2",
                "e913af2d1760b5ccf222537a2caf55443126a5cce6273827c00c58f9e8c286a6",
            ),
            (
                "PublicCreateImageScanTask",
                "a55d7712852c72437a4d73db175b11d4",
                "Digests=6a5e1031&InstanceIds=cri-1&RegionIds=cn-hangzhou&RegistryTypes=acr&RepoIds=crr-1&RepoNames=centos&RepoNamespaces=ns1&Tags=0.2",
                "570d1f00c7fccdcbbef3fa4735c37db20e20afd51d960bf4979c5b55b8f1e03d",
            ),
        ];
        for (action, nonce, query, sig) in cases {
            let map = ali_headers(action, nonce, sig);
            verify_ali(query, &map, ALI_AK_SECRET).unwrap_or_else(|e| panic!("{action}: {e}"));
        }
    }

    #[test]
    fn acs3_query_canonicalisation_vector() {
        let wire = "Criteria=%5B%7B%22name%22%3A%22repoName%22%2C%22value%22%3A%22a%2Bb+c%2Ad~e%2Ff%3A%E4%B8%AD%E6%96%87%26%3D%25%22%2C%22logicalExp%22%3A%22OR%22%7D%5D&CurrentPage=1&PageSize=20&Scanned=False";
        assert_eq!(
            canonical_query(wire),
            "Criteria=%5B%7B%22name%22%3A%22repoName%22%2C%22value%22%3A%22a%2Bb%20c%2Ad~e%2Ff%3A%E4%B8%AD%E6%96%87%26%3D%25%22%2C%22logicalExp%22%3A%22OR%22%7D%5D&CurrentPage=1&PageSize=20&Scanned=False"
        );
    }

    #[test]
    fn acs3_refuses_other_algorithms_unsigned_headers_and_a_wrong_body_hash() {
        assert!(matches!(
            parse_acs3("ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00"),
            Err(SignError::Incomplete(_))
        ));
        assert!(matches!(
            parse_acs3("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host"),
            Err(SignError::Incomplete(_))
        ));
        let sig = "9b7f9beab2673df8a7aef348b7533d4fc9e3dc97661109d32a5d5e1c52cc9f25";
        let mut map = ali_headers(
            "DescribeImageSecurityScanCount",
            "8952235e0287019d808a8d8481cbb3b5",
            sig,
        );
        // The nonce left out of the signed list.
        let auth = format!(
            "ACS3-HMAC-SHA256 Credential=LTAI5tFAKEAKEXAMPLE,SignedHeaders=accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-version,Signature={sig}"
        );
        map.insert(
            "authorization",
            HeaderValue::from_str(&auth).expect("value"),
        );
        assert!(matches!(
            verify_ali(SCAN_COUNT_QUERY, &map, ALI_AK_SECRET),
            Err(SignError::Incomplete(_))
        ));
        // A body that is not the one hashed.
        let map = ali_headers(
            "DescribeImageSecurityScanCount",
            "8952235e0287019d808a8d8481cbb3b5",
            sig,
        );
        let auth = parse_acs3(map["authorization"].to_str().expect("ascii")).expect("parse");
        let result = verify_acs3(
            &SignedRequest {
                method: "POST",
                path: "/",
                raw_query: SCAN_COUNT_QUERY,
                headers: &map,
                body: b"Dealed=Y",
            },
            &auth,
            ALI_AK_SECRET,
        );
        assert_eq!(result, Err(SignError::Mismatch));
    }

    fn hw_headers(region: Option<&str>, signed: &str, signature: &str) -> HeaderMap {
        let auth = format!(
            "SDK-HMAC-SHA256 Access=HPUAFAKEAKEXAMPLE0001, SignedHeaders={signed}, Signature={signature}"
        );
        let mut pairs = vec![
            ("user-agent", HW_UA),
            ("accept-encoding", "gzip, deflate"),
            ("accept", "*/*"),
            ("connection", "keep-alive"),
        ];
        if let Some(region) = region {
            pairs.push(("region", region));
        }
        pairs.extend([
            ("content-type", "application/json"),
            ("x-project-id", "0123456789abcdef0123456789abcdef"),
            ("x-sdk-date", "20261122T092729Z"),
            ("host", "127.0.0.1:18080"),
            ("authorization", &auth),
        ]);
        headers(&pairs)
    }

    fn verify_hw(
        method: &str,
        path: &str,
        query: &str,
        map: &HeaderMap,
        body: &[u8],
        secret: &str,
    ) -> Result<String, SignError> {
        let auth = parse_sdk_hmac(map["authorization"].to_str().expect("ascii"))?;
        assert_eq!(auth.access_key_id, "HPUAFAKEAKEXAMPLE0001");
        let request = SignedRequest {
            method,
            path,
            raw_query: query,
            headers: map,
            body,
        };
        verify_sdk_hmac(&request, &auth, secret)?;
        sdk_canonical_request(&request, &auth)
    }

    const HW_BODY: &str = r#"{"operate_all": false, "image_info_list": [{"image_id": "c499ab72-7ee9-4ee6-b6b7-5973230e7a7b", "image_digest": "sha256:05b5081012e562d14c374de2a4c74511f9e8e0adc572d3b35fb3df06de0da63b", "image_name": "swr.cn-north-7.myhuaweicloud.com/scc_hss_container/install-hss-agent", "image_version": "1.0.10.x86_64"}]}"#;

    #[test]
    fn sdk_hmac_worked_examples() {
        let map = hw_headers(
            None,
            "content-type;host;user-agent;x-project-id;x-sdk-date",
            "3856af54602a03a9fd2a5236b9b656cc481e45d85afe1564be450821289fbea6",
        );
        let query = "enterprise_project_id=all_granted_eps&has_vul=true&image_name=centos7&image_size=1000&image_type=private_image&latest_version=false&limit=50&namespace=my%20ns&offset=0";
        let path = "/v5/0123456789abcdef0123456789abcdef/image/swr-repository";
        let canonical = verify_hw("GET", path, query, &map, b"", HW_SECRET).expect("GET verifies");
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "7106d397578bc7315a6d4069cda860be9c053a114e90990a711c44250622b280"
        );
        assert_eq!(
            verify_hw(
                "GET",
                path,
                &query.replace("limit=50", "limit=51"),
                &map,
                b"",
                HW_SECRET
            ),
            Err(SignError::Mismatch)
        );

        assert_eq!(HW_BODY.len(), 308);
        assert_eq!(
            sha256_hex(HW_BODY.as_bytes()),
            "34a207474a68f7a76a9670803011c01481d8ddd970856273b3541cbfd400bffb"
        );
        let map = hw_headers(
            Some("cn-north-4"),
            "content-type;host;region;user-agent;x-project-id;x-sdk-date",
            "bbc3a56c4dcd8c73cf31814890bfa832d508620ecb798f1458e75387fff961f1",
        );
        let path = "/v5/0123456789abcdef0123456789abcdef/image/local/batch-scan";
        let query = "enterprise_project_id=all_granted_eps";
        let canonical = verify_hw("POST", path, query, &map, HW_BODY.as_bytes(), HW_SECRET)
            .expect("POST verifies");
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "3204bffb2402ff98f027fc325717c5423466fa10f89734c5baf8d525e7371f49"
        );
        assert_eq!(
            verify_hw(
                "POST",
                path,
                query,
                &map,
                HW_BODY.as_bytes(),
                "FakeHuaweiSecretKeyForDocs0123456789ABCD-wrong"
            ),
            Err(SignError::Mismatch)
        );
        // The body is signed: one changed byte fails.
        let changed = HW_BODY.replace("false", "true ");
        assert_eq!(
            verify_hw("POST", path, query, &map, changed.as_bytes(), HW_SECRET),
            Err(SignError::Mismatch)
        );
    }

    #[test]
    fn sdk_hmac_query_vector_is_its_own_canonical_form() {
        let wire = "image_name=a%2Bb%20c%2Ad~e%2Ff%3A%E4%B8%AD%E6%96%87%26%3D%25&image_type=private_image&limit=10&offset=0";
        assert_eq!(canonical_query(wire), wire);
        assert_eq!(
            sdk_canonical_uri("/v5/p/image/swr-repository"),
            "/v5/p/image/swr-repository/"
        );
    }

    #[test]
    fn dates_outside_fifteen_minutes_are_refused() {
        let now = time::macros::datetime!(2026-11-22 09:30:00 UTC);
        check_acs_date("2026-11-22T09:27:28Z", now).expect("2.5 minutes");
        assert!(matches!(
            check_acs_date("2026-11-22T09:14:59Z", now),
            Err(SignError::Expired(_))
        ));
        assert!(matches!(
            check_acs_date("2026-11-22 09:27:28", now),
            Err(SignError::Expired(_))
        ));
        check_sdk_date("20261122T094459Z", now).expect("14:59 ahead");
        assert!(matches!(
            check_sdk_date("20261122T094501Z", now),
            Err(SignError::Expired(_))
        ));
    }
}
