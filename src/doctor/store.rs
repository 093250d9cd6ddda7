//! The pool store, the job registry and the audit log, checked without changing them.
//!
//! File store: the pools file read as `afpool serve` reads it (path, mode, owner), and for it,
//! `jobs.json` and `audit.jsonl` beside it whether afpool can write them (opened for appending,
//! never truncated; a temporary file made and removed in their folder, as the atomic replace
//! does). MongoDB: the server answers, the pools collection reads (through the store trait),
//! its unique `name_1` index, the `jobs` and `audit` collections with their indexes, and a write
//! (one document inserted into and deleted from a scratch collection, then dropped).

use std::path::Path;

use bson::{doc, Document};

use super::Check;
use crate::secret::SecretUri;
use crate::store::file::FileStore;
use crate::store::mongo::{self, MongoStore};
use crate::store::{self as stores, atomic, audit_mongo, registry_mongo};
use crate::store::{Location, Pool, PoolStore, Snapshot, StoreOptions};

/// The scratch collection of the MongoDB write check.
pub const SCRATCH: &str = "afpool_doctor";

/// The store checks, and the pools when they could be read.
#[derive(Debug, Default)]
pub struct Stored {
    /// One line per check.
    pub checks: Vec<Check>,
    /// The pools, for the pool checks.
    pub pools: Option<Vec<Pool>>,
}

/// Checks the store `spec` names.
pub async fn check(spec: &SecretUri, options: &StoreOptions) -> Stored {
    match stores::locate(spec.expose()) {
        Err(e) => Stored {
            checks: vec![Check::fail(
                "store",
                e.to_string(),
                "--store file:PATH or --store mongodb://HOST:PORT (or `store` in the config file)",
            )],
            pools: None,
        },
        Ok(Location::File(path)) => file(&path).await,
        Ok(Location::Mongo(uri)) => self::mongo(&uri, options).await,
    }
}

async fn file(path: &Path) -> Stored {
    let store = FileStore::new(path.to_path_buf());
    let (read, pools) = match store.snapshot().await {
        Ok(Snapshot::Pools(pools)) => {
            let detail = format!(
                "file:{}: {} pools ({})",
                path.display(),
                pools.len(),
                mode(path)
            );
            (Check::ok("store", detail), Some(pools))
        }
        Ok(Snapshot::Absent(why)) => {
            let detail = format!("file:{}: {why}, so no pools yet", path.display());
            let fix = "create a pool (afpool pool create NAME HOST...) and the file with it, or \
                       point --store at the pools file afpool serve uses";
            (Check::warn("store", detail, fix), Some(Vec::new()))
        }
        Err(e) => {
            let fix =
                "make the path a readable pools file (afpool serve keeps its last good pools \
                       while the file is broken, but starts with none)";
            (Check::fail("store", e.to_string(), fix), None)
        }
    };
    let mut checks = vec![read];
    let beside = [
        ("store writable", path.to_path_buf()),
        ("job registry", atomic::dir_of(path).join("jobs.json")),
        ("audit log", atomic::dir_of(path).join("audit.jsonl")),
    ];
    for (name, file) in beside {
        checks.push(match writable(&file) {
            Ok(state) => Check::ok(name, format!("{}: {state}", file.display())),
            Err(e) => Check::fail(
                name,
                e,
                "run afpool as the user afpool serve runs as, and give it the folder \
                 (chown -R afpool: FOLDER); the path must be a file in a folder",
            ),
        });
    }
    Stored { checks, pools }
}

/// Whether afpool can write `path` as its file backends do, changing nothing.
fn writable(path: &Path) -> Result<&'static str, String> {
    let dir = atomic::dir_of(path);
    let existing = dir
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("."));
    tempfile::NamedTempFile::new_in(existing)
        .map_err(|e| format!("cannot create files in {}: {e}", existing.display()))?;
    if !path.exists() {
        return Ok("not created yet; afpool can create it");
    }
    std::fs::File::options()
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok("writable")
}

/// `mode 0644, owner uid 1000` of an existing file.
fn mode(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) => format!(
            "mode {:04o}, owner uid {}",
            meta.mode() & 0o7777,
            meta.uid()
        ),
        Err(e) => e.to_string(),
    }
}

async fn mongo(uri: &str, options: &StoreOptions) -> Stored {
    let fail = |e: String| Stored {
        checks: vec![Check::fail(
            "store",
            e,
            "start MongoDB or fix the URI; afpool serve routes with its last good pools while \
             MongoDB is down, but cannot start without them",
        )],
        pools: None,
    };
    let client = match mongo::client(uri).await {
        Ok(client) => client,
        Err(e) => return fail(e.to_string()),
    };
    let db = client.database(&options.database);
    if let Err(e) = db.run_command(doc! { "ping": 1 }).await {
        return fail(format!("MongoDB does not answer: {e}"));
    }
    let store = match MongoStore::connect(uri, &options.database, &options.collection).await {
        Ok(store) => store,
        Err(e) => return fail(e.to_string()),
    };
    let pools = match store.list().await {
        Ok(pools) => pools,
        Err(e) => return fail(e.to_string()),
    };
    let mut checks = vec![Check::ok(
        "store",
        format!("{}: {} pools", store.describe(), pools.len()),
    )];
    let names = db.list_collection_names().await.unwrap_or_default();
    let pools_index = (&options.collection, mongo::NAME_INDEX);
    checks.push(index_check(&db, &names, "pools index", pools_index, true).await);
    let jobs = (
        &registry_mongo::COLLECTION.to_string(),
        registry_mongo::INDEX,
    );
    checks.push(index_check(&db, &names, "job registry", jobs, false).await);
    let audit = (&audit_mongo::COLLECTION.to_string(), audit_mongo::INDEX);
    checks.push(index_check(&db, &names, "audit log", audit, false).await);
    checks.push(write_check(&db, &options.database).await);
    Stored {
        checks,
        pools: Some(pools),
    }
}

/// A collection and its index: present, or created on afpool's first write.
async fn index_check(
    db: &mongodb::Database,
    names: &[String],
    check: &str,
    (collection, index): (&String, &str),
    needed: bool,
) -> Check {
    let db_name = db.name();
    if !names.contains(collection) {
        let detail = format!("{db_name}.{collection} does not exist yet; afpool creates it, with its {index} index, on its first write");
        return Check::ok(check, detail);
    }
    let coll = db.collection::<Document>(collection);
    let count = coll.estimated_document_count().await.unwrap_or(0);
    match coll.list_index_names().await {
        Ok(indexes) if indexes.iter().any(|i| i == index) => Check::ok(
            check,
            format!("{db_name}.{collection}: {count} documents, index {index}"),
        ),
        Ok(_) if !needed => Check::ok(
            check,
            format!("{db_name}.{collection}: {count} documents; afpool creates its {index} index on its next write"),
        ),
        Ok(_) => Check::warn(
            check,
            format!("{db_name}.{collection} has no unique {index} index: two writers at once could create one pool twice"),
            format!("any afpool pool change creates it; or in mongosh: db.{collection}.createIndex({{name: 1}}, {{unique: true}})"),
        ),
        Err(e) => Check::fail(
            check,
            format!("{db_name}.{collection}: cannot list its indexes: {e}"),
            "give the URI's user the read role on the database",
        ),
    }
}

/// One document written into and deleted from a scratch collection.
async fn write_check(db: &mongodb::Database, name: &str) -> Check {
    let scratch = db.collection::<Document>(SCRATCH);
    let written = async {
        let id = scratch
            .insert_one(doc! { "afpool": "doctor" })
            .await?
            .inserted_id;
        scratch.delete_one(doc! { "_id": id }).await?;
        scratch.drop().await
    };
    match written.await {
        Ok(()) => Check::ok(
            "store writable",
            format!("a document written to and deleted from {name}.{SCRATCH}"),
        ),
        Err(e) => Check::fail(
            "store writable",
            format!("cannot write to database {name}: {e}"),
            format!("give the URI's user the readWrite role on {name}"),
        ),
    }
}
