//! Unit tests of the embedded file store (the contract suite in tests/ covers the rest).

use super::*;

#[tokio::test]
async fn reads_legacy_array_and_keeps_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pools.json");
    let legacy = r#"[{"_id": {"$oid": "5cf4c0ffee0000000000abcd"}, "name": "comp",
        "clients": [{"hostname": "PC-1", "engine": "", "ip": "", "port": ""},
                    {"hostname": "pc-1", "engine": "", "ip": "", "port": ""},
                    {"hostname": "pc-2"}], "note": "x"}]"#;
    fs::write(&path, legacy).unwrap();
    let store = FileStore::new(&path);
    let comp = store.get("comp").await.unwrap();
    assert_eq!(comp.hosts, ["PC-1", "pc-2"]);
    assert_eq!(comp.legacy_id.as_deref(), Some("5cf4c0ffee0000000000abcd"));
    store.add_hosts("comp", &["pc-3".into()]).await.unwrap();
    let raw: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let pool = &raw["pools"][0];
    assert_eq!(pool["_id"]["$oid"], "5cf4c0ffee0000000000abcd");
    assert_eq!(pool["note"], "x");
    assert_eq!(pool["clients"][2]["port"], "");
    assert_eq!(pool["clients"][3]["hostname"], "pc-3");
}

#[tokio::test]
async fn missing_or_empty_file_is_no_pools_and_bad_json_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/pools.json");
    let store = FileStore::new(&path);
    assert!(store.list().await.unwrap().is_empty());
    store.create("x", &[]).await.unwrap();
    assert!(path.exists());
    fs::write(&path, "").unwrap();
    assert!(store.list().await.unwrap().is_empty());
    fs::write(&path, "{not json").unwrap();
    assert!(matches!(
        store.list().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn fingerprint_changes_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("pools.json"));
    let before = store.fingerprint().await.unwrap();
    store.create("x", &[]).await.unwrap();
    let after = store.fingerprint().await.unwrap();
    assert_ne!(before, after);
    store.add_hosts("x", &["a".into()]).await.unwrap();
    assert_ne!(after, store.fingerprint().await.unwrap());
}

/// The live view tells "no data" apart from "no pools".
#[tokio::test]
async fn snapshot_tells_missing_and_blank_from_no_pools() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pools.json");
    let store = FileStore::new(&path);
    assert_eq!(store.snapshot().await.unwrap(), Snapshot::Absent("missing"));
    fs::write(&path, " \n").unwrap();
    assert_eq!(store.snapshot().await.unwrap(), Snapshot::Absent("empty"));
    fs::write(&path, r#"{"pools": []}"#).unwrap();
    assert_eq!(store.snapshot().await.unwrap(), Snapshot::Pools(vec![]));
    store.create("b", &["h".into()]).await.unwrap();
    store.create("a", &[]).await.unwrap();
    let Snapshot::Pools(pools) = store.snapshot().await.unwrap() else {
        panic!("pools expected");
    };
    assert_eq!(pools, store.list().await.unwrap());
    assert_eq!(pools[0].name, "a");
    fs::write(&path, r#"{"pools": [{"name""#).unwrap();
    assert!(matches!(
        store.snapshot().await,
        Err(StoreError::Unavailable(_))
    ));
}

/// The file and its lock are created like any new file (umask applies), not 0600; a file that
/// exists keeps its mode across writes.
#[cfg(unix)]
#[tokio::test]
async fn new_files_get_the_usual_mode_and_existing_ones_keep_theirs() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let usual = dir.path().join("usual");
    fs::File::create(&usual).unwrap();
    let store = FileStore::new(dir.path().join("pools.json"));
    store.create("x", &[]).await.unwrap();
    assert_eq!(mode(store.path()), mode(&usual));
    assert_eq!(
        mode(&crate::store::atomic::lock_path(store.path())),
        mode(&usual)
    );
    fs::set_permissions(store.path(), fs::Permissions::from_mode(0o640)).unwrap();
    store.add_hosts("x", &["h".into()]).await.unwrap();
    assert_eq!(mode(store.path()), 0o640);
}

#[tokio::test]
async fn selection_keys_sit_beside_name_only_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pools.json");
    let store = FileStore::new(&path);
    store.create("gpu", &["ws-1".into()]).await.unwrap();
    let read = || -> Value { serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap() };
    let typed = read();
    assert!(typed["pools"][0].get("select").is_none() && typed["pools"][0].get("except").is_none());
    let selection = Selection {
        select: Some("cpu_num >= 16".into()),
        except: vec!["old-1".into()],
        ..Selection::default()
    };
    store.set_selection("gpu", &selection).await.unwrap();
    let selected = read();
    assert_eq!(selected["pools"][0]["select"], "cpu_num >= 16");
    assert_eq!(selected["pools"][0]["except"], serde_json::json!(["old-1"]));
    assert_eq!(selected["pools"][0]["clients"][0]["hostname"], "ws-1");
    store
        .set_selection("gpu", &Selection::default())
        .await
        .unwrap();
    assert_eq!(read(), typed, "cleared, the document is a typed list again");
}
