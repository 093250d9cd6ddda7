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
    assert_eq!(store.get("comp").await.unwrap().hosts, ["PC-1", "pc-2"]);
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
