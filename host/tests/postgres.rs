//! The PostgreSQL `sql` backend against a real server (127.0.0.1:5432 as `root`, or `ESIGNET_TEST_PG_URL` naming an
//! administrative database): every value type, constraint errors, transactions, logical databases as schemas,
//! migrations applied concurrently by several replicas, failing fast when the server is down or stalled, healing
//! when it comes back, a starting host waiting a bounded time for a server not up yet, and the full host serving on
//! PostgreSQL with the demo seeded. Each test makes its own database (`esignet_test_<pid>_<test>`) and drops it. No
//! server: a loud SKIP, or a failure when `CI=true`.

mod common;

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use esignet_host::backends::postgres::{redact, PostgresBackend};
use esignet_host::backends::{SqlBackend, SqlError, SqlValue};
use esignet_host::runtime_config::{SqlConfig, SqlKind};
use SqlValue::{Blob, Integer, Null, Real, Text};

fn admin_url() -> String {
    std::env::var("ESIGNET_TEST_PG_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into())
}

/// `host:port` of the server under test.
fn server_addr() -> String {
    let config: Option<tokio_postgres::Config> = admin_url().parse().ok();
    let host = match config.as_ref().and_then(|c| c.get_hosts().first().cloned()) {
        Some(tokio_postgres::config::Host::Tcp(h)) => h,
        _ => "127.0.0.1".into(),
    };
    format!("{host}:{}", config.and_then(|c| c.get_ports().first().copied()).unwrap_or(5432))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `url` pointing at database `name` instead.
fn with_db(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((url, String::new()));
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    format!("{prefix}/{name}{query}")
}

/// Runs administrative statements one by one on a thread of its own (so it works from `Drop` and async tests).
fn admin(statements: Vec<String>) -> Result<(), String> {
    let url = admin_url();
    let work = move || -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let connect = tokio_postgres::connect(&url, tokio_postgres::NoTls);
            let (client, conn) = tokio::time::timeout(Duration::from_secs(3), connect)
                .await
                .map_err(|_| "timed out".to_string())?
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            for s in statements {
                client.simple_query(&s).await.map_err(|e| format!("{s}: {e}"))?;
            }
            Ok(())
        })
    };
    std::thread::spawn(work).join().map_err(|_| "admin thread panicked".to_string())?
}

/// The test's database, or return (after a SKIP) when there is no server.
macro_rules! test_db {
    ($name:literal) => {
        match TestDb::create($name) {
            Some(t) => t,
            None => return,
        }
    };
}

/// A fresh database for one test, dropped at the end.
struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    fn create(test: &str) -> Option<TestDb> {
        let name = format!("esignet_test_{}_{test}", std::process::id());
        match admin(vec![format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")]) {
            Ok(()) => Some(TestDb { url: with_db(&admin_url(), &name), name }),
            Err(e) if ci() => panic!("PostgreSQL at {} is unreachable and CI=true: {e}", redact(&admin_url())),
            Err(e) => {
                let start = "pg_ctlcluster --skip-systemctl-redirect 15 main start";
                let url = redact(&admin_url());
                eprintln!("\n***** SKIP postgres::{test}: no PostgreSQL at {url} ({e}); start it: {start} *****\n");
                None
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = admin(vec![format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

fn backend_with(url: &str, tweak: impl FnOnce(&mut SqlConfig)) -> PostgresBackend {
    let mut sql = SqlConfig { kind: SqlKind::Postgres, url: Some(url.into()), ..SqlConfig::default() };
    tweak(&mut sql);
    PostgresBackend::connect(&sql).expect("postgres backend")
}

fn backend(url: &str) -> PostgresBackend {
    backend_with(url, |_| {})
}

fn text(s: &str) -> SqlValue {
    Text(s.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_value_type_round_trips() {
    let t = test_db!("values");
    let db = backend(&t.url);
    let create = "CREATE TABLE vals (id TEXT PRIMARY KEY, i2 SMALLINT, i4 INTEGER, i8 BIGINT, f4 REAL, \
        f8 DOUBLE PRECISION, t TEXT, vc VARCHAR(40), b BYTEA, flag BOOLEAN, j JSONB, ts TIMESTAMPTZ, amount NUMERIC)";
    db.execute("v", create, vec![]).await.expect("create");
    let insert = "INSERT INTO vals VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let bytes: Vec<u8> = (0..=255).collect();
    #[rustfmt::skip]
    let full = vec![
        text("a"), Integer(-32768), Integer(2_147_483_647), Integer(i64::MIN), Real(1.5), Real(-2.25e300),
        text("héllo 'quoted' ∑ \"x\""), text("varchar"), Blob(bytes), Integer(1), text(r#"{"k":[1,2]}"#),
        text("2024-05-06T07:08:09Z"), text("12.50"),
    ];
    assert_eq!(db.execute("v", insert, full.clone()).await.expect("insert"), 1);
    let mut nulls = vec![Null; 13];
    nulls[0] = text("n");
    db.execute("v", insert, nulls.clone()).await.expect("insert nulls");

    let select = "SELECT id, i2, i4, i8, f4, f8, t, vc, b, flag, j, extract(epoch FROM ts)::bigint AS ts, \
        amount::text AS amount FROM vals WHERE id = $1";
    let rows = db.query("v", select, vec![text("a")]).await.expect("select");
    let mut expected = full.clone();
    expected[10] = text(r#"{"k": [1, 2]}"#);
    expected[11] = Integer(1_714_979_289);
    assert_eq!(rows.rows, vec![expected]);
    assert_eq!(rows.columns[11], "ts");
    let rows = db.query("v", select, vec![text("n")]).await.expect("select nulls");
    assert_eq!(rows.rows, vec![nulls]);
    let count = db.query("v", "SELECT COUNT(*) AS n FROM vals", vec![]).await.expect("count");
    assert_eq!((count.columns, count.rows), (vec!["n".to_string()], vec![vec![Integer(2)]]));

    let numeric = db.query("v", "SELECT amount FROM vals WHERE id = $1", vec![text("none")]).await;
    assert!(matches!(&numeric, Err(SqlError::Invalid(m)) if m.contains("amount::text")), "{numeric:?}");
    let narrow = db.execute("v", "UPDATE vals SET i2 = $1 WHERE id = 'a'", vec![Integer(40_000)]).await;
    assert!(matches!(&narrow, Err(SqlError::Invalid(m)) if m.contains("$1")), "{narrow:?}");
    let count = db.query("v", "SELECT id FROM vals WHERE id = $1", vec![]).await;
    assert!(matches!(count, Err(SqlError::Invalid(_))), "{count:?}");
    let secret = db.execute("v", "UPDATE vals SET ts = $1 WHERE id = 'a'", vec![text("pin-1234")]).await;
    assert!(matches!(&secret, Err(SqlError::Invalid(m)) if !m.contains("pin-1234")), "{secret:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_map_to_constraint_and_invalid() {
    let t = test_db!("errors");
    let db = backend(&t.url);
    let create = "CREATE TABLE c (id TEXT PRIMARY KEY, k TEXT NOT NULL, CONSTRAINT uk_c_k UNIQUE (k))";
    db.execute("e", create, vec![]).await.expect("create");
    db.execute("e", "INSERT INTO c VALUES ($1, $2)", vec![text("1"), text("k")]).await.expect("insert");
    let dup_id = db.execute("e", "INSERT INTO c VALUES ($1, $2)", vec![text("1"), text("other")]).await;
    assert!(matches!(&dup_id, Err(SqlError::Constraint(m)) if m.contains("c_pkey")), "{dup_id:?}");
    let dup_key = db.execute("e", "INSERT INTO c VALUES ($1, $2)", vec![text("2"), text("k")]).await;
    assert!(matches!(&dup_key, Err(SqlError::Constraint(m)) if m.contains("uk_c_k")), "{dup_key:?}");
    let null = db.execute("e", "INSERT INTO c VALUES ($1, $2)", vec![text("3"), Null]).await;
    assert!(matches!(null, Err(SqlError::Constraint(_))), "{null:?}");
    let syntax = db.query("e", "SELEC 1", vec![]).await;
    assert!(matches!(&syntax, Err(SqlError::Invalid(m)) if m.starts_with("42601")), "{syntax:?}");
    let missing = db.query("e", "SELECT * FROM nowhere", vec![]).await;
    assert!(matches!(&missing, Err(SqlError::Invalid(m)) if m.starts_with("42P01")), "{missing:?}");
    assert!(matches!(db.query("bad name!", "SELECT 1", vec![]).await, Err(SqlError::Invalid(_))));
    let started = Instant::now();
    let slow = db.query("e", "SELECT 1 AS one FROM pg_sleep(10)", vec![]).await;
    assert!(matches!(&slow, Err(SqlError::Unavailable(m)) if m.starts_with("57014")), "{slow:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "statement timeout: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_commit_roll_back_and_roll_back_when_dropped() {
    let t = test_db!("tx");
    // One connection: every step below also proves the previous transaction gave its connection back.
    let db = backend_with(&t.url, |c| c.pool_size = 1);
    db.execute("t", "CREATE TABLE tx (id TEXT PRIMARY KEY)", vec![]).await.expect("create");
    let insert = "INSERT INTO tx (id) VALUES ($1)";

    let mut empty = db.begin("t").await.expect("begin");
    empty.commit().await.expect("an empty transaction commits");
    let mut tx = db.begin("t").await.expect("begin");
    tx.execute(insert, vec![text("committed")]).await.expect("insert");
    tx.commit().await.expect("commit");
    assert!(matches!(tx.commit().await, Err(SqlError::Closed)));
    assert!(matches!(tx.execute(insert, vec![text("late")]).await, Err(SqlError::Closed)));

    let mut tx = db.begin("t").await.expect("begin");
    tx.execute(insert, vec![text("rolled-back")]).await.expect("insert");
    let seen = tx.query("SELECT id FROM tx ORDER BY id", vec![]).await.expect("read own write");
    assert_eq!(seen.rows.len(), 2);
    tx.rollback().await.expect("rollback");

    {
        let mut tx = db.begin("t").await.expect("begin");
        tx.execute(insert, vec![text("dropped")]).await.expect("insert");
    }
    let mut tx = db.begin("t").await.expect("begin after a dropped transaction");
    let dup = tx.execute(insert, vec![text("committed")]).await;
    assert!(matches!(dup, Err(SqlError::Constraint(_))), "{dup:?}");
    assert!(tx.execute(insert, vec![text("after-failure")]).await.is_err());
    assert!(matches!(tx.commit().await, Err(SqlError::Invalid(_))));

    let ids = db.query("t", "SELECT id FROM tx ORDER BY id", vec![]).await.expect("ids");
    assert_eq!(ids.rows, vec![vec![text("committed")]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn logical_databases_are_separate_schemas() {
    let t = test_db!("schemas");
    let db = backend(&t.url);
    for (database, name) in [("alpha", "a"), ("beta-2", "b")] {
        db.execute(database, "CREATE TABLE IF NOT EXISTS items (name TEXT)", vec![]).await.expect("create");
        db.execute(database, "INSERT INTO items VALUES ($1)", vec![text(name)]).await.expect("insert");
    }
    let alpha = db.query("alpha", "SELECT name FROM items", vec![]).await.expect("alpha");
    let beta = db.query("beta-2", "SELECT name FROM items", vec![]).await.expect("beta");
    assert_eq!((alpha.rows, beta.rows), (vec![vec![text("a")]], vec![vec![text("b")]]));
    let other = backend(&t.url);
    let schemas = other
        .query("alpha", "SELECT COUNT(*) FROM pg_namespace WHERE nspname IN ('alpha', 'beta-2')", vec![])
        .await
        .expect("schemas");
    assert_eq!(schemas.rows, vec![vec![Integer(2)]]);

    // Point-query latency through the pool (loopback, warm connection and statement cache).
    let started = Instant::now();
    let n = 500;
    for _ in 0..n {
        db.query("alpha", "SELECT name FROM items WHERE name = $1", vec![text("a")]).await.expect("point query");
    }
    eprintln!("postgres point query: {:.0} µs mean over {n}", started.elapsed().as_secs_f64() * 1e6 / n as f64);
    db.ping().await.expect("ping");
    assert!(db.describe().starts_with(&format!("postgres {}/{} (pool 8", server_addr(), t.name)), "{}", db.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_migrations_apply_each_file_once() {
    let t = test_db!("migrate");
    let manifest = manifest_of_spin();
    let planned = esignet_host::migrate::planned(&manifest).expect("plan");
    let replicas: Vec<PostgresBackend> = (0..4).map(|_| backend(&t.url)).collect();
    let runs = replicas.iter().map(|r| esignet_host::migrate::apply(r, &manifest));
    let results = futures_util::future::join_all(runs).await;
    let mut applied: Vec<String> = Vec::new();
    for r in results {
        applied.extend(r.expect("migrations on a replica"));
    }
    assert_eq!(applied.len(), planned.len(), "each file once across replicas: {applied:?}");
    for (database, _) in &planned {
        let rows = replicas[0].query(database, "SELECT name FROM esignet_migrations", vec![]).await.expect("ledger");
        let files = planned.iter().filter(|(d, _)| d == database).count();
        assert_eq!(rows.rows.len(), files, "{database}");
    }
    for (database, table) in
        [("esignet", "client_detail"), ("esignet", "consent_history"), ("mockidentity", "mock_identity")]
    {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(replicas[1].query(database, &sql, vec![]).await.expect(table).rows, vec![vec![Integer(0)]]);
    }
    assert!(esignet_host::migrate::apply(&replicas[2], &manifest).await.expect("again").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_down_or_stalled_server_fails_fast() {
    let down = backend(&format!("postgres://root:pw@127.0.0.1:{}/x", common::free_port()));
    let started = Instant::now();
    let r = down.query("esignet", "SELECT 1", vec![]).await;
    assert!(matches!(&r, Err(SqlError::Unavailable(m)) if !m.contains("pw")), "{r:?}");
    // `begin` takes no connection (the WIT constructor cannot fail): the first statement reports the outage.
    let mut tx = down.begin("esignet").await.expect("begin");
    assert!(matches!(tx.execute("SELECT 1", vec![]).await, Err(SqlError::Unavailable(_))));
    assert!(matches!(tx.commit().await, Err(SqlError::Invalid(_))));
    assert!(down.ping().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "refused: {:?}", started.elapsed());

    // A server that accepts connections and never answers (a hung or overloaded database).
    let stalled = StdListener::bind("127.0.0.1:0").expect("listener");
    let port = stalled.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let held: Vec<_> = stalled.incoming().take(8).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let hung = backend(&format!("postgres://root@127.0.0.1:{port}/x"));
    for _ in 0..2 {
        let started = Instant::now();
        let r = hung.execute("esignet", "SELECT 1", vec![]).await;
        let took = started.elapsed();
        assert!(matches!(r, Err(SqlError::Unavailable(_))), "{r:?}");
        assert!(took < Duration::from_millis(2_000), "stalled: {took:?}");
        eprintln!("stalled server: Unavailable after {took:?}");
    }
}

/// A TCP relay to the real server that can be cut and restored on the same port.
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("relay port");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(server_addr()).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { port, task: Some(task) }
    }

    /// Closes the listener and every relayed connection (the JoinSet aborts its tasks when dropped).
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_heals_when_the_server_returns() {
    let t = test_db!("heal");
    let mut relay = Relay::start(0).await;
    let url = t.url.replacen(&server_addr(), &format!("127.0.0.1:{}", relay.port), 1);
    let db = backend_with(&url, |c| c.pool_size = 2);
    db.execute("h", "CREATE TABLE h (n BIGINT)", vec![]).await.expect("through the relay");
    relay.cut().await;
    let started = Instant::now();
    let r = db.query("h", "SELECT n FROM h", vec![]).await;
    assert!(matches!(r, Err(SqlError::Unavailable(_))), "{r:?}");
    assert!(db.ping().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let _relay = Relay::start(relay.port).await;
    let started = Instant::now();
    let back = db.query("h", "SELECT COUNT(*) FROM h", vec![]).await.expect("back without a restart");
    assert_eq!(back.rows, vec![vec![Integer(0)]]);
    eprintln!("first query after the server returned: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_starting_host_waits_for_its_database_for_a_bounded_time() {
    let t = test_db!("wait");
    let manifest = manifest_of_spin();
    let planned = esignet_host::migrate::planned(&manifest).expect("plan");
    // Nothing listens on the database's port yet: connections are refused.
    let port = common::free_port();
    let url = t.url.replacen(&server_addr(), &format!("127.0.0.1:{port}"), 1);
    let db = backend(&url);

    // Never there: the host gives up once the bound has passed, naming the outage.
    let started = Instant::now();
    let err = esignet_host::migrate::apply_when_reachable(&db, &manifest, Duration::from_millis(1_200))
        .await
        .expect_err("no database");
    let took = started.elapsed();
    assert!(format!("{err:#}").contains("database unavailable"), "{err:#}");
    assert!(took >= Duration::from_millis(1_200) && took < Duration::from_secs(4), "gave up after {took:?}");

    // There 1.5 s after the start: every migration is applied, once.
    let relay = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        Relay::start(port).await
    });
    let started = Instant::now();
    let applied = esignet_host::migrate::apply_when_reachable(&db, &manifest, Duration::from_secs(30))
        .await
        .expect("applied once the database is reachable");
    let took = started.elapsed();
    let _relay = relay.await.expect("relay");
    assert_eq!(applied.len(), planned.len(), "{applied:?}");
    assert!(took >= Duration::from_millis(1_400), "applied before the database was there? {took:?}");
    let rows = db.query("esignet", "SELECT name FROM esignet_migrations", vec![]).await.expect("ledger");
    assert!(!rows.rows.is_empty());
    eprintln!("migrations applied {took:?} after the start, the database having come up after 1.5 s");

    // Not an outage (a statement the server refuses): no waiting.
    let bad = common::temp_dir("bad-migration");
    std::fs::create_dir_all(bad.join("migrations")).expect("dir");
    std::fs::write(bad.join("migrations/0001_bad.sql"), "CREATE TABLE broken (a NOSUCHTYPE);\n").expect("file");
    std::fs::write(
        bad.join("spin.toml"),
        "spin_manifest_version = 2\n[application]\nname = \"bad\"\n[[trigger.http]]\nroute = \"/...\"\n\
         component = \"c\"\n[component.c]\nsource = \"c.wasm\"\n[component.c.tool.esignet]\n\
         capabilities = [\"sql\"]\nsql_database = \"badtest\"\nsql_migrations = [\"migrations\"]\n",
    )
    .expect("manifest");
    let manifest = esignet_host::manifest::Manifest::load(&bad.join("spin.toml"), &|_: &str| None).expect("bad manifest");
    let started = Instant::now();
    let err = esignet_host::migrate::apply_when_reachable(&db, &manifest, Duration::from_secs(30))
        .await
        .expect_err("a bad migration");
    assert!(format!("{err:#}").contains("0001_bad.sql"), "{err:#}");
    assert!(started.elapsed() < Duration::from_secs(3), "waited on a bad statement: {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&bad);

    // A database the server says does not exist: a configuration error, refused at once, not waited on.
    let missing = backend(&with_db(&t.url, "esignet_no_such_database"));
    let started = Instant::now();
    let err = esignet_host::migrate::apply_when_reachable(&missing, &manifest_of_spin(), Duration::from_secs(30))
        .await
        .expect_err("no such database");
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    assert!(started.elapsed() < Duration::from_secs(3), "waited on a missing database: {:?}", started.elapsed());
}

fn manifest_of_spin() -> esignet_host::manifest::Manifest {
    let spin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
    let issuer = |name: &str| (name == "issuer").then(|| "http://127.0.0.1:1/v1/esignet".to_string());
    esignet_host::manifest::Manifest::load(&spin, &issuer).expect("spin.toml")
}

#[test]
fn the_host_serves_on_postgres_with_the_demo_seeded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("spin.toml")).unwrap_or_default();
    let sources = manifest.lines().filter_map(|l| l.trim().strip_prefix("source = \"")?.strip_suffix('"'));
    let missing: Vec<PathBuf> = sources.map(|s| root.join(s)).filter(|p| !p.exists()).collect();
    if !missing.is_empty() {
        assert!(!ci(), "components missing under CI: {missing:?}");
        eprintln!("\n***** SKIP postgres host test: components missing ({missing:?}); run components/build.sh *****\n");
        return;
    }
    let t = test_db!("host");
    let url = with_db(&admin_url().replacen("://root@", "://root:never-logged@", 1), &t.name);
    let dir = common::temp_dir("pg-host");
    let (port, admin_port) = (common::free_port(), common::free_port());
    let log = dir.join("host.log");
    let mut child = Command::new(common::binary())
        .args(["up", "--manifest"])
        .arg(root.join("spin.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .env("ESIGNET_SQL_URL", &url)
        .env("ESIGNET_DEMO", "1")
        .env_remove("ESIGNET_CACHE_URL")
        .env_remove("ESIGNET_PKCS11_MODULE")
        .env_remove("ESIGNET_ISSUER")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start esignet");
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(180);
    let health = format!("http://127.0.0.1:{port}/v1/esignet/actuator/health");
    let up = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("esignet exited ({status}):\n{}", logs());
        }
        let (status, body) = common::get(&health);
        if status == 200 || Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(up.0, 200, "health: {up:?}\n{}", logs());
    assert!(up.1.contains("UP"), "{up:?}");
    let log_text = logs();
    assert!(log_text.contains(&format!("postgres {}/{}", server_addr(), t.name)), "backend not named:\n{log_text}");
    assert!(!log_text.contains("never-logged"), "the password reached the log");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = backend(&t.url);
        let client = db.query("esignet", "SELECT id, status FROM client_detail", vec![]).await.expect("clients");
        assert_eq!(client.rows, vec![vec![text("demo-client"), text("ACTIVE")]]);
        let ids = db.query("mockidentity", "SELECT COUNT(*) FROM mock_identity", vec![]).await.expect("identities");
        assert!(matches!(ids.rows[0][0], Integer(n) if n > 0), "{ids:?}");
    });
    let _ = std::fs::remove_dir_all(dir);
}
