//! Fetching Features from a real OCI registry (Debian's docker-registry on loopback, started
//! or reused through `scripts/registry.sh`), with Features published by the reference CLI and
//! pushed by hand; through the mirror setting; with bearer-token auth, a tarball host and a
//! registry that alters bytes played by a tiny loopback server; and the digest-keyed cache.
//! Every test uses its own repositories (named after the run) and its own cache folder.

pub(crate) mod support;

use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use devboot::features::reference::Version;
use devboot::features::{FeatureError, Resolve, Source};
use support::{Req, Resp, Server, fetcher, oci, push, registry, run_id, tag};

const FEATURES: &str = "application/vnd.devcontainers";

#[test]
fn a_feature_published_by_the_reference_cli_is_fetched_by_tag_and_by_digest() {
    let Some(reg) = registry() else { return };
    let src = tempfile::tempdir().unwrap();
    let folder = src.path().join("hello");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("devcontainer-feature.json"),
        r#"{"id": "hello", "version": "1.2.3", "name": "Hello",
            "options": {"greeting": {"type": "string", "default": "hi"}}}"#,
    )
    .unwrap();
    std::fs::write(folder.join("install.sh"), "#!/bin/sh\necho \"$GREETING\"\n").unwrap();
    std::fs::set_permissions(
        folder.join("install.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let namespace = format!("{}/cli", run_id());
    support::publish_with_reference_cli(&folder, &namespace);

    // The reference CLI publishes to `localhost:PORT`; the same registry.
    let registry = format!("localhost:{}", reg.port);
    let cache = tempfile::tempdir().unwrap();
    let mut f = fetcher(cache.path(), &[]);
    let by_tag = f
        .resolve(&Source::Oci(oci(
            &registry,
            &format!("{namespace}/hello"),
            tag("1"),
        )))
        .unwrap();
    assert_eq!(by_tag.metadata.id, "hello");
    assert_eq!(by_tag.metadata.options[0].0, "greeting");
    let hex = by_tag.digest.strip_prefix("sha256:").unwrap();
    assert_eq!(by_tag.folder, cache.path().join("features").join(hex));
    let install = by_tag.folder.join("install.sh");
    assert_eq!(
        std::fs::read_to_string(&install).unwrap(),
        "#!/bin/sh\necho \"$GREETING\"\n"
    );
    assert_eq!(
        std::fs::metadata(&install).unwrap().permissions().mode() & 0o111,
        0o111
    );
    assert_eq!(
        by_tag.resolved.as_deref(),
        Some(format!("{registry}/{namespace}/hello@{}", by_tag.digest).as_str())
    );

    let by_digest = f
        .resolve(&Source::Oci(oci(
            &registry,
            &format!("{namespace}/hello"),
            Version::Digest(by_tag.digest.clone()),
        )))
        .unwrap();
    assert_eq!(by_digest, by_tag);

    let mut tags = f
        .tags(&oci(&reg.addr, &format!("{namespace}/hello"), tag("1")))
        .unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "1.2", "1.2.3", "latest"]);
}

#[test]
fn a_gzip_layer_pushed_by_hand_is_unpacked_like_a_plain_one() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/gz", run_id());
    let digest = push(
        reg,
        &repo,
        "1",
        &support::feature_tar("gz", true, &[]),
        FEATURES,
    );
    let cache = tempfile::tempdir().unwrap();
    let got = fetcher(cache.path(), &[])
        .resolve(&Source::Oci(oci(&reg.addr, &repo, tag("1"))))
        .unwrap();
    assert_eq!(got.digest, digest);
    assert_eq!(got.metadata.id, "gz");
    assert!(got.folder.join("install.sh").is_file());
}

#[test]
fn https_goes_through_the_proxy_and_loopback_never_does() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/proxied", run_id());
    support::push_feature(reg, &repo);
    // A proxy that does not answer: what goes through it fails, what does not works.
    let proxy = format!("http://127.0.0.1:{}", support::closed_port());
    let cache = tempfile::tempdir().unwrap();
    let mut f = fetcher(
        cache.path(),
        &[("HTTPS_PROXY", &proxy), ("ALL_PROXY", &proxy)],
    );
    f.resolve(&Source::Oci(oci(&reg.addr, &repo, tag("1"))))
        .unwrap();
    // `.invalid` never resolves: a refused connection means the proxy was asked instead.
    let err = f
        .resolve(&Source::Oci(oci("registry.invalid", "a/b", tag("1"))))
        .unwrap_err();
    let FeatureError::Unreachable { host, reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(host, "registry.invalid");
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
}

#[test]
fn ghcr_names_are_fetched_from_the_mirror_and_keep_their_names() {
    let Some(reg) = registry() else { return };
    // The Feature as ghcr.io has it, in the local registry under the same path; the id is
    // the run's, so runs never overwrite each other's tag.
    let id = format!("mirror-{}", run_id());
    let path = format!("devcontainers/features/{id}");
    let digest = support::push_feature(reg, &path);
    let prefixed = format!("{}/mirror/features/{id}", run_id());
    support::push_feature(reg, &prefixed);
    let wild = Source::Oci(oci("ghcr.io", &path, tag("1")));

    for mirror in [
        format!("ghcr.io={}", reg.addr),
        format!("ghcr.io/devcontainers={}/{}/mirror", reg.addr, run_id()),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let mut f = fetcher(cache.path(), &[("DEVBOOT_REGISTRY_MIRROR", &mirror)]);
        let got = f.resolve(&wild).unwrap();
        assert_eq!(got.digest, digest, "{mirror}");
        assert_eq!(
            got.resolved.as_deref(),
            Some(format!("ghcr.io/{path}@{digest}").as_str()),
            "the lockfile keeps the original name"
        );
        let err = f
            .resolve(&Source::Oci(oci("ghcr.io", &path, tag("9"))))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FeatureError::NotFound { .. }), "{err:?}");
        assert!(text.contains(&format!("ghcr.io/{path}:9")), "{text}");
        assert!(text.contains("the mirror of ghcr.io"), "{text}");
    }
}

#[test]
fn a_missing_tag_or_feature_is_not_found_and_named() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/tagged", run_id());
    support::push_feature(reg, &repo);
    let cache = tempfile::tempdir().unwrap();
    let mut f = fetcher(cache.path(), &[]);
    let err = f
        .resolve(&Source::Oci(oci(&reg.addr, &repo, tag("2"))))
        .unwrap_err();
    let FeatureError::NotFound { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("no tag `2`"), "{reason}");
    // docker-registry says MANIFEST_UNKNOWN for a manifest of an unknown repository too;
    // its tag list says NAME_UNKNOWN.
    let err = f
        .tags(&oci(
            &reg.addr,
            &format!("{}/hand/none", run_id()),
            tag("1"),
        ))
        .unwrap_err();
    let FeatureError::NotFound { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("no such Feature"), "{reason}");
}

#[test]
fn a_registry_that_does_not_answer_is_named_with_what_to_do() {
    let addr = format!("127.0.0.1:{}", support::closed_port());
    let cache = tempfile::tempdir().unwrap();
    let err = fetcher(cache.path(), &[])
        .resolve(&Source::Oci(oci(
            &addr,
            "devcontainers/features/node",
            tag("1"),
        )))
        .unwrap_err();
    let FeatureError::Unreachable { host, help, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(host, &addr);
    assert!(
        help.contains(&format!("DEVBOOT_REGISTRY_MIRROR={addr}=")),
        "{help}"
    );
    assert!(help.contains("proxy"), "{help}");
}

#[test]
fn a_second_fetch_reuses_the_cache_and_a_pinned_cached_digest_asks_nothing() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/cached", run_id());
    let layer = support::feature_tar("cached", false, &[]);
    let digest = push(reg, &repo, "1", &layer, FEATURES);
    let blob = format!("/v2/{repo}/blobs/{}", support::sha256(&layer));
    let manifest = format!("/v2/{repo}/manifests/");
    let cache = tempfile::tempdir().unwrap();
    let source = Source::Oci(oci(&reg.addr, &repo, tag("1")));

    let first = fetcher(cache.path(), &[]).resolve(&source).unwrap();
    support::wait_for_gets(reg, &blob, 1);
    // A new fetcher (a new run): the tag is asked again, the layer is not.
    let second = fetcher(cache.path(), &[]).resolve(&source).unwrap();
    assert_eq!(second, first);
    support::wait_for_gets(reg, &manifest, 2);
    // Pinned (as the lockfile does) and cached: nothing is asked at all. The tag list asked
    // afterwards marks where in the log the fetch's requests would be.
    let mut pinned = fetcher(cache.path(), &[]);
    pinned.pin(&source, &digest);
    assert_eq!(pinned.resolve(&source).unwrap(), first);
    pinned.tags(&oci(&reg.addr, &repo, tag("1"))).unwrap();
    support::wait_for_gets(reg, &format!("/v2/{repo}/tags/list"), 1);
    assert_eq!(support::gets(reg, &manifest), 2);
    assert_eq!(support::gets(reg, &blob), 1);
}

#[test]
fn what_is_not_a_feature_is_refused_and_not_cached() {
    let Some(reg) = registry() else { return };
    let image = format!("{}/hand/image", run_id());
    push(
        reg,
        &image,
        "1",
        &support::feature_tar("image", false, &[]),
        "application/vnd.oci.image.config.v1+json",
    );
    let escaping = format!("{}/hand/escaping", run_id());
    push(
        reg,
        &escaping,
        "1",
        &support::tar_with_raw_name("../x"),
        FEATURES,
    );
    let cache = tempfile::tempdir().unwrap();
    let mut f = fetcher(cache.path(), &[]);
    for (repo, says) in [
        (&image, "not a Dev Container Feature"),
        (&escaping, "`../x`"),
    ] {
        let err = f
            .resolve(&Source::Oci(oci(&reg.addr, repo, tag("1"))))
            .unwrap_err();
        assert!(matches!(err, FeatureError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }
    assert!(!cache.path().join("x").exists());
    let features = cache.path().join("features");
    let left = std::fs::read_dir(&features).map_or(0, Iterator::count);
    assert_eq!(left, 0, "nothing is cached");
}

#[test]
fn bytes_altered_on_the_way_are_caught_by_their_digests() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/altered", run_id());
    let digest = support::push_feature(reg, &repo);
    // Serves the registry's answers, with one byte more in every manifest or blob, and no
    // digest header for manifests (so only the bytes tell).
    let alter = |what: &'static str| {
        move |_: u16, req: &Req| {
            let mut resp = support::forward(reg, req);
            if req.path.contains(what) {
                resp.body.push(b' ');
                resp.headers.clear();
            }
            resp
        }
    };
    let cache = tempfile::tempdir().unwrap();
    let manifests = Server::start(alter("/manifests/"));
    let mut f = fetcher(cache.path(), &[]);
    let at = |port: u16, version| Source::Oci(oci(&format!("127.0.0.1:{port}"), &repo, version));
    let pinned = at(manifests.port, tag("1"));
    f.pin(&pinned, &digest);
    let err = f.resolve(&pinned).unwrap_err();
    assert!(matches!(err, FeatureError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("digest did not match"), "{err}");

    let blobs = Server::start(alter("/blobs/"));
    let err = f.resolve(&at(blobs.port, tag("1"))).unwrap_err();
    assert!(matches!(err, FeatureError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("digest did not match"), "{err}");
}

/// What the token service of [`token_registry`] wants.
#[derive(Clone, Copy)]
enum TokenService {
    /// Anyone gets a token, in `access_token`.
    Anonymous,
    /// Only `u:p` gets one, in `token`.
    Credentials,
    /// Credentials are refused with 401; without them a token is given.
    RefusesCredentials,
}

/// A registry in front of the real one that answers 401 with a Bearer challenge until the
/// token its token service hands out comes back.
fn token_registry(reg: &'static support::Registry, policy: TokenService) -> Server {
    Server::start(move |port, req| {
        if req.path.starts_with("/token?") {
            assert!(req.path.contains("scope=repository"), "{}", req.path);
            let basic = req.header("authorization");
            let good = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("u:p")
            );
            return match (policy, basic) {
                (TokenService::Anonymous, _) => Resp::new(200, r#"{"access_token":"T"}"#),
                (TokenService::Credentials, Some(b)) if b == good => {
                    Resp::new(200, r#"{"token":"T"}"#)
                }
                (TokenService::RefusesCredentials, None) => Resp::new(200, r#"{"token":"T"}"#),
                _ => Resp::new(401, "{}"),
            };
        }
        if req.header("authorization") == Some("Bearer T") {
            return support::forward(reg, req);
        }
        let challenge = format!(
            r#"Bearer realm="http://127.0.0.1:{port}/token",service="devboot-test",scope="repository:x:pull""#
        );
        Resp::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
            .with("WWW-Authenticate", &challenge)
    })
}

#[test]
fn a_bearer_token_is_fetched_once_and_used_for_the_manifest_and_the_layer() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/bearer", run_id());
    let digest = support::push_feature(reg, &repo);
    let server = token_registry(reg, TokenService::Anonymous);
    let cache = tempfile::tempdir().unwrap();
    let got = fetcher(cache.path(), &[])
        .resolve(&Source::Oci(oci(
            &format!("127.0.0.1:{}", server.port),
            &repo,
            tag("1"),
        )))
        .unwrap();
    assert_eq!(got.digest, digest);
    assert_eq!(server.hits("GET /token"), 1);
    assert_eq!(
        server.hits("GET /v2/"),
        3,
        "manifest (401, then 200), then the layer"
    );
}

#[test]
fn credentials_from_the_docker_config_get_the_token_and_without_them_access_is_refused() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/private", run_id());
    support::push_feature(reg, &repo);
    let server = token_registry(reg, TokenService::Credentials);
    let addr = format!("127.0.0.1:{}", server.port);
    let source = Source::Oci(oci(&addr, &repo, tag("1")));

    let cache = tempfile::tempdir().unwrap();
    let err = fetcher(cache.path(), &[]).resolve(&source).unwrap_err();
    let FeatureError::Unreachable { reason, help, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("refused"), "{reason}");
    assert!(help.contains(&format!("docker login {addr}")), "{help}");

    let docker = cache.path().join(".docker");
    std::fs::create_dir(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("u:p");
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths": {{"{addr}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let got = fetcher(cache.path(), &[]).resolve(&source).unwrap();
    assert_eq!(got.metadata.id, "private");
}

#[test]
fn refused_credentials_are_retried_anonymously() {
    let Some(reg) = registry() else { return };
    let repo = format!("{}/hand/public", run_id());
    support::push_feature(reg, &repo);
    let server = token_registry(reg, TokenService::RefusesCredentials);
    let addr = format!("127.0.0.1:{}", server.port);
    let cache = tempfile::tempdir().unwrap();
    let oci_auth = format!("{addr}|me|expired");
    let got = fetcher(cache.path(), &[("DEVCONTAINERS_OCI_AUTH", &oci_auth)])
        .resolve(&Source::Oci(oci(&addr, &repo, tag("1"))))
        .unwrap();
    assert_eq!(got.metadata.id, "public");
    assert_eq!(
        server.hits("GET /token"),
        2,
        "with the credentials, then without"
    );
}

#[test]
fn a_tarball_over_loopback_http_is_fetched_pinned_and_checked() {
    let tgz = support::feature_tar("hello", true, &[("./.hidden", b"x")]);
    let served = tgz.clone();
    let server = Server::start(move |_, req| match req.path.as_str() {
        "/devcontainer-feature-hello.tgz" => Resp::new(200, served.clone()),
        _ => Resp::new(404, "no"),
    });
    let url = format!(
        "http://127.0.0.1:{}/devcontainer-feature-hello.tgz",
        server.port
    );
    let source = Source::Tarball {
        url: url.clone(),
        id: "hello".into(),
    };
    let cache = tempfile::tempdir().unwrap();
    let mut f = fetcher(cache.path(), &[]);
    let got = f.resolve(&source).unwrap();
    assert_eq!(got.digest, support::sha256(&tgz));
    assert_eq!(got.resolved.as_deref(), Some(url.as_str()));
    assert_eq!(got.metadata.id, "hello");
    assert!(got.folder.join("install.sh").is_file());
    assert!(
        !got.folder.join(".hidden").exists(),
        "`./.` entries are skipped"
    );

    // Pinned and cached: no request.
    let mut pinned = fetcher(cache.path(), &[]);
    pinned.pin(&source, &got.digest);
    assert_eq!(pinned.resolve(&source).unwrap(), got);
    assert_eq!(server.hits("GET /devcontainer-feature-hello.tgz"), 1);

    // Pinned to other bytes: downloaded, and refused.
    let other = tempfile::tempdir().unwrap();
    let mut wrong = fetcher(other.path(), &[]);
    wrong.pin(&source, &support::sha256(b"other"));
    let err = wrong.resolve(&source).unwrap_err();
    assert!(matches!(err, FeatureError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("digest did not match"), "{err}");

    let missing = Source::Tarball {
        url: format!(
            "http://127.0.0.1:{}/devcontainer-feature-gone.tgz",
            server.port
        ),
        id: "gone".into(),
    };
    let err = f.resolve(&missing).unwrap_err();
    assert!(matches!(err, FeatureError::NotFound { .. }), "{err:?}");
}
