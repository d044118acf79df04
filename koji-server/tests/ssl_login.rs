//! HTTPS and certificate logins with the upstream client: `koji
//! --authtype ssl --cert ... --serverca ...` against `koji-hub serve
//! --tls-listen`, as upstream's clients log in to a hub behind mod_ssl.

mod support;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use support::Hub;

/// A CA, the hub's certificate for 127.0.0.1, and client certificates
/// (each file holding the certificate and its key, as `--cert` takes).
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca, ca_key) = make_ca("Koji Test CA");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        for cn in ["alice", "kojiweb"] {
            client(dir.path(), cn, &ca, &ca_key);
        }
        // a certificate the hub's client CA did not sign
        let (other, other_key) = make_ca("Someone Else");
        client(dir.path(), "mallory", &other, &other_key);
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn make_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

fn client(dir: &std::path::Path, cn: &str, ca: &rcgen::Certificate, ca_key: &KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, ca, ca_key).unwrap();
    std::fs::write(
        dir.join(format!("{cn}.pem")),
        format!("{}{}", cert.pem(), key.serialize_pem()),
    )
    .unwrap();
}

#[test]
fn the_upstream_client_logs_in_with_a_certificate() {
    let pki = Pki::new();
    let conf = pki.dir.path().join("hub.conf");
    std::fs::write(
        &conf,
        "[hub]\nProxyDNs = CN=someone | CN=kojiweb\nLoginCreatesUser = yes\n",
    )
    .unwrap();
    let (cert, key, ca) = (
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem"),
    );
    for backend in koji_core::testing::backends() {
        let hub = Hub::start_with(
            backend,
            &[
                "--config",
                conf.to_str().unwrap(),
                "--tls-listen",
                "127.0.0.1:0",
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--tls-client-ca",
                &ca,
            ],
        );
        let h = &hub;
        let https = h.https_url();
        // the client takes serverca from its config file only
        let profile = |cn: &str, authtype: &str| {
            let path = pki
                .dir
                .path()
                .join(format!("{cn}-{authtype}-{}.conf", h.label()));
            std::fs::write(
                &path,
                format!(
                    "[koji]\nserver = {https}\nauthtype = {authtype}\ncert = {}\n\
                     serverca = {ca}\nmax_retries = 0\nanon_retry = false\n",
                    pki.path(&format!("{cn}.pem"))
                ),
            )
            .unwrap();
            path.display().to_string()
        };
        let ssl = |cn: &str, args: &[&str]| {
            let conf = profile(cn, "ssl");
            let mut full = vec!["--config", &conf];
            full.extend_from_slice(args);
            h.koji_raw(&full)
        };

        // alice's certificate logs her in; the hub creates her
        let out = ssl("alice", &["hello"]);
        let text = out.ok();
        assert!(
            text.contains(&format!("You are using the hub at {https}"))
                && text.contains("Authenticated via client certificate"),
            "{text}"
        );
        let out = ssl("alice", &["call", "--json-output", "getLoggedInUser"]);
        let user: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
        assert_eq!(user["name"], "alice", "{user}");
        assert_eq!(user["authtype"], 2, "SSL session: {user}");
        // the same port serves password logins too
        let conf = profile("admin", "password");
        let out = h.koji_raw(&[
            "--config",
            &conf,
            "--user",
            "admin",
            "--password",
            "admin",
            "call",
            "--json-output",
            "getLoggedInUser",
        ]);
        let admin: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
        assert_eq!(admin["name"], "admin");

        // a certificate from another CA never gets to the hub
        let out = ssl("mallory", &["hello"]);
        assert_ne!(out.code, 0, "{out:?}");
        let out = h.koji(&["call", "--json-output", "getUser", "mallory"]);
        assert_eq!(out.ok().trim(), "null");

        // a proxy named in ProxyDNs logs in someone else (kojiweb's use)
        let py = format!(
            "import koji\n\
             s = koji.ClientSession({https:?}, {{'cert': {web:?}, 'serverca': {ca:?}}})\n\
             s.ssl_login(proxyuser='bob')\n\
             print(s.getLoggedInUser()['name'])\n\
             s2 = koji.ClientSession({https:?}, {{'cert': {alice:?}, 'serverca': {ca:?}}})\n\
             try:\n    s2.ssl_login(proxyuser='bob')\n\
             except koji.AuthError as e:\n    print('refused:', e)\n",
            web = pki.path("kojiweb.pem"),
            alice = pki.path("alice.pem"),
        );
        let out = h.python(&py);
        let text = out.ok();
        assert!(text.starts_with("bob\nrefused: "), "{text}");
        assert!(
            text.contains("CN=alice is not authorized to login other users"),
            "{text}"
        );

        // the plain port has no certificate to offer
        let out = h.python(
            "import koji, os\n\
             s = koji.ClientSession(os.environ['KOJI_URL'])\n\
             try:\n    s.callMethod('sslLogin')\n\
             except koji.AuthError as e:\n    print(e)\n",
        );
        assert_eq!(out.ok(), "could not verify client: None\n");
    }
}
