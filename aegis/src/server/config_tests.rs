//! The shared command line's flags and environment.

use clap::Parser;

use super::*;

#[derive(Parser, Debug)]
#[command(after_help = ENVIRONMENT)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

fn config(vars: &[(&str, &str)], args: &[&str]) -> Result<Config, String> {
    let cli = Cli::try_parse_from(std::iter::once("app").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    Config::resolve(cli.options, |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .map_err(|e| e.to_string())
}

#[test]
fn defaults_to_sqlite_in_the_data_dir_on_loopback() {
    let config = config(&[], &["--dev"]).unwrap();
    assert_eq!(config.port, 8080);
    assert_eq!(config.host.to_string(), "127.0.0.1");
    assert_eq!(config.database_url, "sqlite://data/aegis.db?mode=rwc");
    assert!(config.dev_mode);
    assert_eq!(config.jwt_secret, None);
    assert!(!config.identity.configured());
    assert_eq!(config.identity.scope, "openid profile");
    assert_eq!(config.log_format, LogFormat::Text);
}

#[test]
fn the_log_format_from_flag_or_environment() {
    let json = config(&[("AEGIS_LOG_FORMAT", "JSON")], &[]).unwrap();
    assert_eq!(json.log_format, LogFormat::Json);
    let text = config(&[("AEGIS_LOG_FORMAT", "json")], &["--log-format", "text"]).unwrap();
    assert_eq!(text.log_format, LogFormat::Text);
    let error = config(&[("AEGIS_LOG_FORMAT", "xml")], &[]).unwrap_err();
    assert_eq!(
        error,
        "AEGIS_LOG_FORMAT `xml` is not a log format: `text` or `json`"
    );
}

#[test]
fn the_secret_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&[("AEGIS_DATA_DIR", dir.path().to_str().unwrap())], &[]).unwrap();
    let first = config.secret().unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(
        config.secret().unwrap(),
        first,
        "the same secret after a restart"
    );
    let given = Config {
        jwt_secret: Some("given".into()),
        ..config
    };
    assert_eq!(given.secret().unwrap(), "given");
}

#[test]
fn files_are_kept_in_the_database_unless_an_s3_url_says() {
    assert_eq!(config(&[], &[]).unwrap().file_store, None);
    let s3 = config(
        &[("AEGIS_FILE_STORE", "s3://env/x")],
        &["--file-store", "s3://docs/aegis"],
    );
    assert_eq!(s3.unwrap().file_store.as_deref(), Some("s3://docs/aegis"));
    let database = config(&[("AEGIS_FILE_STORE", "database")], &[]).unwrap();
    assert_eq!(database.file_store, None);
    let error = config(&[], &["--file-store", "/var/files"]).unwrap_err();
    assert_eq!(
        error,
        "--file-store `/var/files` is neither `database` nor an S3 URL as s3://bucket/prefix"
    );
}

#[test]
fn flags_override_the_environment() {
    let config = config(
        &[
            ("PORT", "9000"),
            ("HOST", "0.0.0.0"),
            ("AEGIS_JWT_SECRET", "s"),
            ("DATABASE_URL", "postgres://x/y"),
            ("AEGIS_JWT_AUDIENCE", "a, b"),
        ],
        &["--port", "9100", "--jwt-audience", "c"],
    )
    .unwrap();
    assert_eq!(config.port, 9100);
    assert_eq!(config.host.to_string(), "0.0.0.0");
    assert_eq!(config.database_url, "postgres://x/y");
    assert_eq!(config.identity.audience, ["c"]);
    assert!(!config.dev_mode);
    let error = super::tests::config(&[("PORT", "eighty")], &[]).unwrap_err();
    assert_eq!(error, "PORT `eighty` is not a port number");
}

#[test]
fn the_identity_provider_from_flags_or_environment() {
    let from_env = config(
        &[
            ("AEGIS_OIDC_ISSUER", "https://kc.example/realms/shop"),
            ("AEGIS_OIDC_CLIENT_ID", "shop-web"),
            ("AEGIS_JWT_AUDIENCE", "shop-api,account"),
            ("AEGIS_JWT_USER_CLAIM", "preferred_username"),
            (
                "AEGIS_JWT_GRANTS",
                "realm_access.roles:admin=write:*; realm_access.roles:clerk=read:orders",
            ),
            ("AEGIS_JWT_PUBLIC_KEYS", "a.pem,b.pem"),
        ],
        &[],
    )
    .unwrap();
    let identity = &from_env.identity;
    assert!(identity.configured());
    assert_eq!(identity.client_id.as_deref(), Some("shop-web"));
    assert_eq!(identity.audience, ["shop-api", "account"]);
    assert_eq!(identity.user_claim.as_deref(), Some("preferred_username"));
    assert_eq!(
        identity
            .grants
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "realm_access.roles:admin=write:*",
            "realm_access.roles:clerk=read:orders"
        ]
    );
    assert_eq!(
        identity.public_keys,
        [PathBuf::from("a.pem"), PathBuf::from("b.pem")]
    );

    let from_flags = config(
        &[("AEGIS_JWT_GRANTS", "roles:x=read:*")],
        &[
            "--jwks-url",
            "https://idp/keys",
            "--jwt-audience-any",
            "--grant",
            "scope:shop=write:orders",
        ],
    )
    .unwrap();
    assert!(from_flags.identity.audience_any);
    assert_eq!(
        from_flags.identity.jwks_url.as_deref(),
        Some("https://idp/keys")
    );
    assert_eq!(
        from_flags.identity.grants[0].to_string(),
        "scope:shop=write:orders"
    );

    let error = config(&[("AEGIS_JWT_GRANTS", "roles=admin")], &[]).unwrap_err();
    assert!(
        error.starts_with("AEGIS_JWT_GRANTS: expected `<claim>:<value>="),
        "{error}"
    );
    let error = config(&[], &["--grant", "roles"]).unwrap_err();
    assert!(error.contains("expected `<claim>:<value>="), "{error}");
    let error = config(&[("AEGIS_OIDC_CLIENT_ID", "web")], &[]).unwrap_err();
    assert_eq!(error, "an OIDC client id needs its issuer (--oidc-issuer)");
}

#[test]
fn a_provider_needs_an_audience_or_the_choice_of_any() {
    let issuer = ("AEGIS_OIDC_ISSUER", "https://kc.example/realms/shop");
    let error = config(&[issuer], &[]).unwrap_err();
    assert!(
        error.starts_with("an identity provider's tokens need this app's audience"),
        "{error}"
    );
    let error = config(&[], &["--jwt-public-key", "k.pem"]).unwrap_err();
    assert!(error.contains("--jwt-audience-any"), "{error}");
    assert!(config(&[issuer, ("AEGIS_JWT_AUDIENCE", "shop-web")], &[]).is_ok());
    let any = config(&[issuer, ("AEGIS_JWT_AUDIENCE_ANY", "1")], &[]).unwrap();
    assert!(any.identity.audience_any && any.identity.audience.is_empty());
    let both = config(&[issuer], &["--jwt-audience", "a", "--jwt-audience-any"]).unwrap_err();
    assert!(both.contains("give one"), "{both}");
    assert!(config(&[], &[]).is_ok(), "no provider, no audience needed");
}

#[test]
fn subcommands_and_their_flags() {
    let cli = Cli::try_parse_from([
        "app",
        "token",
        "alice",
        "--read",
        "budgets,authors",
        "--write",
        "*",
    ])
    .unwrap();
    assert_eq!(
        cli.command,
        Some(Command::Token {
            user: "alice".into(),
            read: vec!["budgets".into(), "authors".into()],
            write: vec!["*".into()],
        })
    );
    let cli = Cli::try_parse_from(["app", "migrate", "--apply", "--allow-drop", "budgets.owner"])
        .unwrap();
    assert_eq!(cli.command, Some(Command::Migrate { apply: true }));
    assert_eq!(
        cli.options.allow_drop,
        vec![("budgets".to_owned(), "owner".to_owned())]
    );
    let error = Cli::try_parse_from(["app", "--allow-drop", "owner"]).unwrap_err();
    assert!(
        error.to_string().contains("expected MODULE.COLUMN"),
        "{error}"
    );
    let error = Cli::try_parse_from(["app", "--colour"]).unwrap_err();
    assert!(
        error.to_string().contains("unexpected argument '--colour'"),
        "{error}"
    );
    let help = Cli::try_parse_from(["app", "--help"])
        .unwrap_err()
        .to_string();
    for word in [
        "serve",
        "token",
        "migrate",
        "--allow-drop",
        "--oidc-issuer",
        "--grant",
        "AEGIS_JWT_SECRET",
        "DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
}

#[test]
fn the_otlp_endpoint_from_flag_or_the_standard_variable() {
    assert_eq!(config(&[], &[]).unwrap().otlp_endpoint, None);
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("OTEL_SERVICE_NAME", "shop"),
    ];
    let from_env = config(&vars, &[]).unwrap();
    assert_eq!(
        from_env.otlp_endpoint.as_deref(),
        Some("http://collector:4318")
    );
    assert_eq!(from_env.service_name.as_deref(), Some("shop"));
    let flag = config(&vars, &["--otlp-endpoint", "https://otel.example.com"]).unwrap();
    assert_eq!(
        flag.otlp_endpoint.as_deref(),
        Some("https://otel.example.com")
    );
}
